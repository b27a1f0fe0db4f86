import Foundation
import Logging
import NIOSSL
import OutreachCore
import PostgresNIO

/// The shared store for several machines: a PostgreSQL database reached by a `postgres://user:password@host:port/db`
/// URL. Owns the connection pool (a `PostgresClient`, run in a task this type owns) and migrates the schema on open,
/// as ``SQLiteDatabase`` does; the per-concern stores take it as their connection.
public final class PostgresDatabase: Sendable {
    let client: PostgresClient
    let logger: Logger
    private let runTask: Task<Void, Never>
    /// The URL without its password, for messages and logs.
    public let location: String

    /// Connects, migrates (once, however many processes open the database at the same moment) and returns the
    /// database. Call ``shutdown()`` when done.
    /// - Throws: ``StoreError/cannotOpen(path:reason:)`` naming the URL without its password, when the URL is not a
    ///   PostgreSQL one, the server cannot be reached or refuses the user, or the migration fails.
    public static func open(url: String, logger: Logger) async throws -> PostgresDatabase {
        let target = try PostgresURL(url)
        do {
            // Migrations run on a connection of their own: a refused password or an unreachable server is reported
            // at once, where the pool would retry for a minute before giving up.
            let connection = try await PostgresConnection.connect(configuration: try target.connectionConfiguration(), id: 0, logger: logger)
            do {
                try await migrate(connection, logger: logger)
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch StoreError.cannotOpen(_, let reason) {
            throw StoreError.cannotOpen(path: target.redacted, reason: reason)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.cannotOpen(path: target.redacted, reason: PostgresErrors.describe(error))
        }
        return PostgresDatabase(client: PostgresClient(configuration: try target.clientConfiguration(), backgroundLogger: logger), logger: logger, location: target.redacted)
    }

    private init(client: PostgresClient, logger: Logger, location: String) {
        self.client = client
        self.logger = logger
        self.location = location
        // The pool works only while `run()` runs; this task is the database's own and ends in shutdown().
        runTask = Task { await client.run() }
    }

    /// Closes every connection. The stores fail after this.
    public func shutdown() async {
        runTask.cancel()
        await runTask.value
    }

    deinit { runTask.cancel() }

    var connection: PostgresStatements { PostgresStatements(client: client, logger: logger, owner: self) }

    public var accounts: PostgresAccountStore { PostgresAccountStore(db: connection) }
    public var campaigns: PostgresCampaignStore { PostgresCampaignStore(db: connection) }
    public var deliveries: PostgresDeliveryLedger { PostgresDeliveryLedger(db: connection) }
    public var threads: PostgresThreadIndex { PostgresThreadIndex(db: connection) }
    public var users: PostgresUserStore { PostgresUserStore(db: connection) }
    public var syncStatus: PostgresSyncStatusStore { PostgresSyncStatusStore(db: connection) }
    public var jobs: PostgresJobStore { PostgresJobStore(db: connection) }

    // MARK: - Migrations

    /// "outreach" in ASCII: the advisory lock every Outreach process takes to migrate.
    static let migrationLock: Int64 = 0x6f75_7472_6561_6368

    /// Applies the migrations this database lacks, all in one transaction under a transaction-level advisory lock:
    /// ten processes starting at once queue on the lock, the first migrates, the others then find nothing to do. A
    /// failed migration leaves nothing behind (PostgreSQL's DDL is transactional), and the lock cannot outlive the
    /// transaction, even if the process dies half-way.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            for try await _ in try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger) {}
            try await connection.query(
                #"CREATE TABLE IF NOT EXISTS outreach_migration (identifier text PRIMARY KEY, "appliedAt" timestamptz NOT NULL DEFAULT now())"#,
                logger: logger
            )
            var applied: Set<String> = []
            for try await identifier in try await connection.query("SELECT identifier FROM outreach_migration", logger: logger).decode(String.self) {
                applied.insert(identifier)
            }
            let known = Set(PostgresMigrations.all.map(\.identifier))
            if let newer = applied.subtracting(known).sorted().first {
                throw StoreError.cannotOpen(
                    path: "", reason: "the database was migrated by a newer Outreach (migration \(newer)); run that version, or upgrade this one"
                )
            }
            for migration in PostgresMigrations.all where !applied.contains(migration.identifier) {
                for statement in migration.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query("INSERT INTO outreach_migration (identifier) VALUES (\(migration.identifier))", logger: logger)
                logger.info("migrated", metadata: ["migration": "\(migration.identifier)"])
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The migrations applied so far, in the order they were applied.
    public func appliedMigrations() async throws -> [String] {
        try await connection.rows(#"SELECT identifier FROM outreach_migration ORDER BY "appliedAt", identifier"#) { try $0.get("identifier") }
    }
}

/// A `postgres://user:password@host:port/database?sslmode=…` URL, read once. `sslmode` is `disable`, `prefer` (the
/// default, as libpq's) or `require` (which also checks the server's certificate against the system's CAs).
struct PostgresURL {
    enum TLSMode: String { case disable, prefer, require }

    let host: String
    let port: Int
    let user: String
    let password: String?
    let database: String?
    let tls: TLSMode

    /// The URL without its password.
    var redacted: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database ?? "")" }

    init(_ text: String) throws {
        let invalid = { (why: String) in
            StoreError.cannotOpen(path: Self.withoutPassword(text), reason: "\(why); expected postgres://user:password@host:5432/database")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw invalid("not a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("no host") }
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else { throw invalid("no user") }
        self.host = host
        self.user = user
        port = components.port ?? 5432
        password = components.percentEncodedPassword?.removingPercentEncoding
        let path = String(components.percentEncodedPath.drop { $0 == "/" })
        database = path.isEmpty ? nil : path.removingPercentEncoding
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else { throw invalid("unknown setting '\(item.name)'") }
            guard let mode = TLSMode(rawValue: item.value ?? "") else { throw invalid("sslmode must be disable, prefer or require") }
            tls = mode
        }
        self.tls = tls
    }

    /// Everything but the password, for a message about a URL that could not be read.
    static func withoutPassword(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text.contains("@") ? "(the URL given)" : text }
        components.password = nil
        return components.string ?? "(the URL given)"
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch self.tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.additionalStartupParameters = Self.sessionSettings
        return configuration
    }

    /// Set on every session: a worker cut off from the network in the middle of a transaction (a claim, a finish)
    /// would otherwise keep its row locks, and the account's jobs would wait, until TCP gives up — many minutes. Every
    /// transaction of Outreach's is a few statements long; one left idle for a minute is abandoned.
    static let sessionSettings = [("idle_in_transaction_session_timeout", "60s")]

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch self.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.additionalStartupParameters = Self.sessionSettings
        return configuration
    }
}
