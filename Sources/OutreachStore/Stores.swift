import Foundation
import Logging

/// Every store of one Outreach database, whichever kind it is: what the CLI, the web and the engine work with. They
/// see only the store protocols, so each runs unchanged on the embedded SQLite file and on a shared PostgreSQL server.
public struct Stores: Sendable {
    public enum Kind: String, Sendable {
        /// One file; every process on one machine shares it.
        case sqlite
        /// A server that processes on several machines share.
        case postgres
    }

    public let kind: Kind
    /// The SQLite file's path, or the PostgreSQL URL without its password: for messages.
    public let location: String
    public let accounts: any AccountStore
    public let campaigns: any CampaignStore
    public let deliveries: any DeliveryLedger
    public let threads: any ThreadIndex
    public let jobs: any JobStore
    public let users: any UserStore
    public let syncStatus: any SyncStatusStore
    private let shutdown: @Sendable () async -> Void

    public init(_ database: SQLiteDatabase) {
        self.init(
            kind: .sqlite, location: database.path, accounts: database.accounts, campaigns: database.campaigns, deliveries: database.deliveries,
            threads: database.threads, jobs: database.jobs, users: database.users, syncStatus: database.syncStatus, shutdown: {}
        )
    }

    public init(_ database: PostgresDatabase) {
        self.init(
            kind: .postgres, location: database.location, accounts: database.accounts, campaigns: database.campaigns,
            deliveries: database.deliveries, threads: database.threads, jobs: database.jobs, users: database.users,
            syncStatus: database.syncStatus, shutdown: { await database.shutdown() }
        )
    }

    private init(
        kind: Kind, location: String, accounts: any AccountStore, campaigns: any CampaignStore, deliveries: any DeliveryLedger,
        threads: any ThreadIndex, jobs: any JobStore, users: any UserStore, syncStatus: any SyncStatusStore,
        shutdown: @escaping @Sendable () async -> Void
    ) {
        self.kind = kind
        self.location = location
        self.accounts = accounts
        self.campaigns = campaigns
        self.deliveries = deliveries
        self.threads = threads
        self.jobs = jobs
        self.users = users
        self.syncStatus = syncStatus
        self.shutdown = shutdown
    }

    /// Whether `location` names a PostgreSQL server (`postgres://` or `postgresql://`) rather than a SQLite file.
    public static func isPostgres(_ location: String) -> Bool {
        let lowered = location.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Opens the database `location` names and brings its schema up to date (under a lock on PostgreSQL, so processes
    /// starting together migrate once).
    /// - Parameter create: SQLite only: create a missing file (`outreach init`); otherwise a missing file is an error
    ///   that says to run init. A PostgreSQL database must exist; its tables are created on first open.
    public static func open(_ location: String, create: Bool = false, logger: Logger) async throws -> Stores {
        if isPostgres(location) {
            return Stores(try await PostgresDatabase.open(url: location, logger: logger))
        }
        return Stores(try SQLiteDatabase(path: location, create: create))
    }

    /// Closes the connections (PostgreSQL's pool); the stores fail after this. A process that exits need not call it.
    public func close() async { await shutdown() }
}
