import Foundation
import GRDB

/// When each account was last synced and what went wrong, if anything: what the accounts page shows.
public struct SyncStatus: Sendable, Equatable {
    public var accountID: Int64
    public var syncedAt: Date
    public var error: String?

    public init(accountID: Int64, syncedAt: Date, error: String?) {
        self.accountID = accountID
        self.syncedAt = syncedAt
        self.error = error
    }
}

public protocol SyncStatusStore: Sendable {
    func record(_ status: SyncStatus) async throws
    func statuses() async throws -> [Int64: SyncStatus]
}

/// ``SyncStatusStore`` on SQLite.
public struct SQLiteSyncStatusStore: SyncStatusStore {
    let writer: any DatabaseWriter

    static func migrate(_ db: Database) throws {
        try db.create(table: "sync_status") { t in
            t.primaryKey("accountID", .integer).references("account", onDelete: .cascade)
            t.column("syncedAt", .datetime).notNull()
            t.column("error", .text)
        }
    }

    public func record(_ status: SyncStatus) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO sync_status (accountID, syncedAt, error) VALUES (?, ?, ?) ON CONFLICT(accountID) DO UPDATE SET syncedAt = excluded.syncedAt, error = excluded.error",
                arguments: [status.accountID, status.syncedAt, status.error]
            )
        }
    }

    public func statuses() async throws -> [Int64: SyncStatus] {
        try await writer.read { db in
            var result: [Int64: SyncStatus] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT accountID, syncedAt, error FROM sync_status") {
                let status = SyncStatus(accountID: row["accountID"], syncedAt: row["syncedAt"], error: row["error"])
                result[status.accountID] = status
            }
            return result
        }
    }
}
