import Foundation
import GRDB
import Logging
import OutreachCore
@testable import OutreachStore
import PostgresNIO
import PostgresTestSupport
import Testing

/// The stores the conformance suite runs every test on: the embedded SQLite file and a real PostgreSQL server that
/// the test starts itself (Debian's `postgresql`; a missing package fails the test with the apt line to run).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }

    /// Runs `body` with a new, empty database of this kind, then closes it and removes it (for PostgreSQL: stops its
    /// server and removes its folder), however `body` ends.
    func withDatabase(_ body: (StoreDatabase) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-store-\(UUID().uuidString).db").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            try await body(StoreDatabase(kind: self, location: path))
        case .postgres:
            try await PostgresServer.withServer { server in
                let database = StoreDatabase(kind: self, location: try await server.createDatabase("outreach_test"))
                do {
                    try await body(database)
                } catch {
                    await database.close()
                    throw error
                }
                await database.close()
            }
        }
    }
}

/// The stores of one database, as a process that opened it sees them.
struct TestStores: Sendable {
    let accounts: any AccountStore
    let campaigns: any CampaignStore
    let users: any UserStore
    let syncStatus: any SyncStatusStore
    let deliveries: any DeliveryLedger
    let threads: any ThreadIndex
    let jobs: any JobStore
}

extension TestStores {
    /// Adds a plain SMTP/IMAP account and returns its id.
    func addAccount(_ email: String) async throws -> Int64 {
        let account = try await accounts.insert(
            Account(email: try EmailAddress(parsing: email), smtp: try ServerEndpoint(parsing: "smtps://h", as: .smtp), imap: try ServerEndpoint(parsing: "imaps://h", as: .imap)),
            sealedPassword: [1]
        )
        return try #require(account.id)
    }
}

/// One test's database. ``open()`` opens it once more each time, as another process would.
actor StoreDatabase {
    let kind: StoreKind
    /// The SQLite file's path or the PostgreSQL URL.
    let location: String
    private var opened: [OutreachStore.PostgresDatabase] = []

    init(kind: StoreKind, location: String) {
        self.kind = kind
        self.location = location
    }

    func open() async throws -> TestStores {
        switch kind {
        case .sqlite:
            let database = try SQLiteDatabase(path: location, create: true)
            return TestStores(
                accounts: database.accounts, campaigns: database.campaigns, users: database.users, syncStatus: database.syncStatus,
                deliveries: database.deliveries, threads: database.threads, jobs: database.jobs
            )
        case .postgres:
            let database = try await openPostgres()
            return TestStores(
                accounts: database.accounts, campaigns: database.campaigns, users: database.users, syncStatus: database.syncStatus,
                deliveries: database.deliveries, threads: database.threads, jobs: database.jobs
            )
        }
    }

    /// Runs one SQL statement as it is, for a test to set up what no store of its kind writes yet (an account's
    /// lease, before the PostgreSQL job store exists). Quoted camel-case column names read the same on both.
    func execute(_ sql: String) async throws {
        switch kind {
        case .sqlite:
            try await SQLiteDatabase(path: location, create: true).writer.write { db in try db.execute(sql: sql) }
        case .postgres:
            try await openPostgres().connection.execute(PostgresQuery(unsafeSQL: sql))
        }
    }

    /// The PostgreSQL database itself, closed with the others when the test ends.
    func openPostgres() async throws -> OutreachStore.PostgresDatabase {
        let database = try await OutreachStore.PostgresDatabase.open(url: location, logger: Self.logger)
        opened.append(database)
        return database
    }

    /// Quiet: the store's log lines are not the test's output.
    static let logger = Logger(label: "outreach.store-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    func close() async {
        for database in opened { await database.shutdown() }
        opened = []
    }
}
