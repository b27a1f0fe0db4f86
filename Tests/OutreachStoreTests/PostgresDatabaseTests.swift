import Foundation
import GRDB
import Logging
import PostgresNIO
import PostgresTestSupport
import Testing

@testable import OutreachStore

/// What only the PostgreSQL store has: opening by URL, and migrating from several processes at once.
struct PostgresDatabaseTests {
    @Test("ten processes opening a new database at once all start, and the schema is migrated exactly once")
    func concurrentOpenMigratesOnce() async throws {
        try await StoreKind.postgres.withDatabase { database in
            let url = database.location
            try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let opened = try await PostgresDatabase.open(url: url, logger: StoreDatabase.logger)
                        let applied = try await opened.appliedMigrations()
                        await opened.shutdown()
                        return applied
                    }
                }
                for try await applied in group {
                    #expect(applied.sorted() == PostgresMigrations.all.map(\.identifier).sorted())
                }
            }
        }
    }

    @Test("every SQLite migration has its PostgreSQL twin, and both schemas have the same tables and columns")
    func schemaMatchesSQLite() async throws {
        let sqlite = try DatabaseQueue()
        try SQLiteDatabase.migrator.migrate(sqlite)
        let sqliteMigrations = try await sqlite.read { db in try SQLiteDatabase.migrator.appliedIdentifiers(db) }
        #expect(sqliteMigrations.subtracting(PostgresMigrations.all.map(\.identifier)).isEmpty)

        let sqliteColumns = try await sqlite.read { db in
            var columns: Set<String> = []
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'") {
                for column in try db.columns(in: table) { columns.insert("\(table).\(column.name)") }
            }
            return columns
        }
        try await StoreKind.postgres.withDatabase { database in
            let postgres = try await database.openPostgres()
            let postgresColumns = Set(
                try await postgres.connection.rows(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name != 'outreach_migration'"
                ) { "\(try $0.get("table_name", as: String.self)).\(try $0.get("column_name", as: String.self))" }
            )
            #expect(postgresColumns.subtracting(sqliteColumns).sorted() == [])
            #expect(sqliteColumns.subtracting(postgresColumns).sorted() == [])
        }
    }

    @Test("a URL that is wrong, a refused password or a server that is not there fails at once, naming the URL without its password")
    func openFailures() async throws {
        try await PostgresServer.withServer { server in
            let url = try await server.createDatabase("outreach_test")
            let wrongPassword = url.replacingOccurrences(of: PostgresServer.password, with: "not-the-password")
            do {
                _ = try await PostgresDatabase.open(url: wrongPassword, logger: StoreDatabase.logger)
                Issue.record("a wrong password was accepted")
            } catch let error as StoreError {
                let text = String(describing: error)
                #expect(text.hasPrefix("cannot open the database postgres://\(PostgresServer.user)@127.0.0.1:\(server.port)/outreach_test: "))
                #expect(text.contains("password authentication failed"))
                #expect(!text.contains("not-the-password"))
            }

            let closedPort = try PostgresServer.freePort()
            let started = Date()
            do {
                _ = try await PostgresDatabase.open(url: "postgres://u:secret@127.0.0.1:\(closedPort)/db", logger: StoreDatabase.logger)
                Issue.record("a closed port was accepted")
            } catch let error as StoreError {
                #expect(String(describing: error).contains("Connection refused"))
                #expect(!String(describing: error).contains("secret"))
            }
            #expect(Date().timeIntervalSince(started) < 20)

            #expect(throws: StoreError.cannotOpen(path: "mysql://u@h/db", reason: "not a postgres:// URL; expected postgres://user:password@host:5432/database")) {
                try PostgresURL("mysql://u:pw@h/db")
            }
            #expect(throws: StoreError.cannotOpen(path: "postgres://u@h/db?sslmode=maybe", reason: "sslmode must be disable, prefer or require; expected postgres://user:password@host:5432/database")) {
                try PostgresURL("postgres://u:pw@h/db?sslmode=maybe")
            }
        }
    }
}
