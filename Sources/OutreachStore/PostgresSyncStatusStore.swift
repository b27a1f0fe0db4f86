import Foundation
import PostgresNIO

/// ``SyncStatusStore`` on PostgreSQL.
public struct PostgresSyncStatusStore: SyncStatusStore {
    let db: PostgresStatements

    public func record(_ status: SyncStatus) async throws {
        try await db.execute(
            #"""
            INSERT INTO sync_status ("accountID", "syncedAt", error) VALUES (\#(status.accountID), \#(status.syncedAt), \#(status.error)::text)
            ON CONFLICT ("accountID") DO UPDATE SET "syncedAt" = excluded."syncedAt", error = excluded.error
            """#
        )
    }

    public func statuses() async throws -> [Int64: SyncStatus] {
        let all = try await db.rows(#"SELECT "accountID", "syncedAt", error FROM sync_status"#) {
            SyncStatus(accountID: try $0.get("accountID"), syncedAt: try $0.get("syncedAt"), error: try $0.get("error"))
        }
        return Dictionary(all.map { ($0.accountID, $0) }) { first, _ in first }
    }
}
