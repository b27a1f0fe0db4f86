import Foundation
import GRDB
import GRDBSQLite
import OutreachCore

/// ``CampaignStore`` on SQLite.
public struct SQLiteCampaignStore: CampaignStore {
    let writer: any DatabaseWriter

    struct CampaignRow: Codable, FetchableRecord, MutablePersistableRecord {
        static let databaseTableName = "campaign"
        var id: Int64?
        var name: String
        var accountID: Int64
        var columns: [Campaign.Column]
        var sourceFile: String
        var createdAt: Date
        var ownerID: Int64?

        mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
        var campaign: Campaign {
            Campaign(id: id, name: name, accountID: accountID, columns: columns, sourceFile: sourceFile, createdAt: createdAt, ownerID: ownerID)
        }
    }

    public func createCampaign(_ campaign: Campaign) async throws -> Campaign {
        try await writer.write { db in
            // Per owner: another user's campaign of this name must neither block the name nor be revealed by a refusal.
            if try CampaignRow.filter(Column("name") == campaign.name && Column("ownerID") == campaign.ownerID).fetchCount(db) > 0 {
                throw StoreError.duplicateCampaign(name: campaign.name)
            }
            var row = CampaignRow(
                id: nil, name: campaign.name, accountID: campaign.accountID, columns: campaign.columns, sourceFile: campaign.sourceFile,
                createdAt: campaign.createdAt, ownerID: campaign.ownerID
            )
            try row.insert(db)
            return row.campaign
        }
    }

    public func campaign(named name: String) async throws -> Campaign? {
        try await writer.read { db in try CampaignRow.filter(Column("name") == name).order(Column("id")).fetchOne(db)?.campaign }
    }

    public func campaigns(named name: String) async throws -> [Campaign] {
        try await writer.read { db in try CampaignRow.filter(Column("name") == name).order(Column("id")).fetchAll(db).map(\.campaign) }
    }

    public func campaign(id: Int64) async throws -> Campaign? {
        try await writer.read { db in try CampaignRow.fetchOne(db, key: id)?.campaign }
    }

    public func allCampaigns() async throws -> [Campaign] {
        try await writer.read { db in try CampaignRow.order(Column("createdAt")).fetchAll(db).map(\.campaign) }
    }

    public func prospectCount(campaignID: Int64) async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM prospect WHERE campaignID = ?", arguments: [campaignID]) ?? 0 }
    }

    /// Binds through the SQLite C API on a statement prepared once per batch: imports insert millions of rows, and
    /// the generic argument path allocated several values per column.
    public func insertProspects(_ prospects: [Prospect]) async throws -> [DuplicateProspect] {
        let encoded = try prospects.map { prospect -> (Prospect, String) in (prospect, try ProspectFields.encode(prospect.fields)) }
        return try await writer.write { db in
            let connection = db.sqliteConnection
            var statement: OpaquePointer?
            let sql = "INSERT INTO prospect (campaignID, row, email, fields, selected, variant) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(campaignID, email) DO NOTHING"
            guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
                throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(connection)), message: String(cString: sqlite3_errmsg(connection)))
            }
            defer { sqlite3_finalize(statement) }
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            var duplicates: [DuplicateProspect] = []
            for (prospect, fields) in encoded {
                let email = prospect.email.normalized
                sqlite3_reset(statement)
                sqlite3_bind_int64(statement, 1, prospect.campaignID)
                sqlite3_bind_int64(statement, 2, Int64(prospect.row))
                sqlite3_bind_text(statement, 3, email, -1, transient)
                sqlite3_bind_text(statement, 4, fields, -1, transient)
                sqlite3_bind_int(statement, 5, prospect.selected ? 1 : 0)
                if let variant = prospect.variant { sqlite3_bind_text(statement, 6, variant, -1, transient) } else { sqlite3_bind_null(statement, 6) }
                let status = sqlite3_step(statement)
                guard status == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: status), message: String(cString: sqlite3_errmsg(connection)))
                }
                if sqlite3_changes(connection) == 0 {
                    let first = try Int.fetchOne(db, sql: "SELECT row FROM prospect WHERE campaignID = ? AND email = ?", arguments: [prospect.campaignID, email])
                    duplicates.append(DuplicateProspect(row: prospect.row, email: prospect.email.description, firstRow: first ?? 0))
                }
            }
            return duplicates
        }
    }

    public func prospects(campaignID: Int64, afterRow: Int, limit: Int) async throws -> [Prospect] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.prospectColumns) FROM prospect WHERE campaignID = ? AND row > ? ORDER BY row LIMIT ?", arguments: [campaignID, afterRow, limit]
            ).map(Self.prospect)
        }
    }

    public func prospect(campaignID: Int64, row: Int) async throws -> Prospect? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.prospectColumns) FROM prospect WHERE campaignID = ? AND row = ?", arguments: [campaignID, row]).map(Self.prospect)
        }
    }

    public func setSelected(campaignID: Int64, rows: Set<Int>) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE prospect SET selected = 0 WHERE campaignID = ?", arguments: [campaignID])
            let statement = try db.cachedStatement(sql: "UPDATE prospect SET selected = 1 WHERE campaignID = ? AND row = ?")
            for row in rows { try statement.execute(arguments: [campaignID, row]) }
        }
    }

    public func prospect(id: Int64) async throws -> Prospect? {
        try await writer.read { db in try Row.fetchOne(db, sql: "SELECT \(Self.prospectColumns) FROM prospect WHERE id = ?", arguments: [id]).map(Self.prospect) }
    }

    public func prospect(campaignID: Int64, email: String) async throws -> Prospect? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.prospectColumns) FROM prospect WHERE campaignID = ? AND email = ?", arguments: [campaignID, email.lowercased()])
                .map(Self.prospect)
        }
    }

    public func deleteCampaign(id: Int64) async throws {
        _ = try await writer.write { db in try CampaignRow.deleteOne(db, key: id) }
    }

    /// The columns ``prospect(_:)`` reads, in its order (read by position: a lookup by name lower-cases the name
    /// on every read, a cost every page of a 10,000-row round paid seven times a row).
    static let prospectColumns = "id, campaignID, row, email, fields, selected, variant"

    static func prospect(_ row: Row) throws -> Prospect {
        try ProspectFields.prospect(id: row[0], campaignID: row[1], row: row[2], email: row[3], fields: row[4], selected: row[5], variant: row[6])
    }
}
