import Foundation
import GRDB
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

        mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
        var campaign: Campaign { Campaign(id: id, name: name, accountID: accountID, columns: columns, sourceFile: sourceFile, createdAt: createdAt) }
    }

    public func createCampaign(_ campaign: Campaign) async throws -> Campaign {
        try await writer.write { db in
            if try CampaignRow.filter(Column("name") == campaign.name).fetchCount(db) > 0 { throw StoreError.duplicateCampaign(name: campaign.name) }
            var row = CampaignRow(
                id: nil, name: campaign.name, accountID: campaign.accountID, columns: campaign.columns, sourceFile: campaign.sourceFile,
                createdAt: campaign.createdAt
            )
            try row.insert(db)
            return row.campaign
        }
    }

    public func campaign(named name: String) async throws -> Campaign? {
        try await writer.read { db in try CampaignRow.filter(Column("name") == name).fetchOne(db)?.campaign }
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

    public func insertProspects(_ prospects: [Prospect]) async throws -> [DuplicateProspect] {
        let encoded = try prospects.map { prospect -> (Prospect, String) in (prospect, try Self.encodeFields(prospect.fields)) }
        return try await writer.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT INTO prospect (campaignID, row, email, fields, selected, variant) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(campaignID, email) DO NOTHING
                """)
            var duplicates: [DuplicateProspect] = []
            for (prospect, fields) in encoded {
                let email = prospect.email.normalized
                try insert.execute(arguments: [prospect.campaignID, prospect.row, email, fields, prospect.selected, prospect.variant])
                if db.changesCount == 0 {
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
                db, sql: "SELECT * FROM prospect WHERE campaignID = ? AND row > ? ORDER BY row LIMIT ?", arguments: [campaignID, afterRow, limit]
            ).map(Self.prospect)
        }
    }

    public func prospect(campaignID: Int64, row: Int) async throws -> Prospect? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM prospect WHERE campaignID = ? AND row = ?", arguments: [campaignID, row]).map(Self.prospect)
        }
    }

    public func prospect(campaignID: Int64, email: String) async throws -> Prospect? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM prospect WHERE campaignID = ? AND email = ?", arguments: [campaignID, email.lowercased()])
                .map(Self.prospect)
        }
    }

    public func deleteCampaign(id: Int64) async throws {
        _ = try await writer.write { db in try CampaignRow.deleteOne(db, key: id) }
    }

    static func encodeFields(_ fields: [ColumnKey: String]) throws -> String {
        var plain: [String: String] = [:]
        for (key, value) in fields { plain[key.rawValue] = value }
        return String(decoding: try JSONSerialization.data(withJSONObject: plain, options: [.sortedKeys]), as: UTF8.self)
    }

    static func prospect(_ row: Row) throws -> Prospect {
        let emailText: String = row["email"]
        let fieldsText: String = row["fields"]
        guard let object = try JSONSerialization.jsonObject(with: Data(fieldsText.utf8)) as? [String: String] else {
            throw StoreError.corrupt("prospect row \(row["row"] as Int? ?? 0) has unreadable fields")
        }
        var fields: [ColumnKey: String] = [:]
        for (key, value) in object { fields[ColumnKey(normalizedValue: key)] = value }
        let email: EmailAddress
        do { email = try EmailAddress(parsing: fields[.email] ?? emailText) } catch { throw StoreError.corrupt("prospect \(emailText): \(error)") }
        return Prospect(
            id: row["id"], campaignID: row["campaignID"], row: row["row"], email: email, fields: fields, selected: row["selected"], variant: row["variant"]
        )
    }
}
