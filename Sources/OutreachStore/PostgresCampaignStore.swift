import Foundation
import OutreachCore
import PostgresNIO

/// ``CampaignStore`` on PostgreSQL. Campaign names are unique per owner (nil: the CLI's, the admins'),
/// case-insensitively; the check and the insert hold an advisory lock on the name, since processes on other machines
/// may create the same campaign at the same moment and no unique index can say "per owner" (see migration v9).
public struct PostgresCampaignStore: CampaignStore {
    let db: PostgresStatements

    /// The lock space for campaign names (the first half of a two-part advisory lock key): "camp" in ASCII.
    static let nameLockSpace: Int32 = 0x6361_6d70

    static let columns = #"id, name, "accountID", "columns", "sourceFile", "createdAt", "ownerID""#

    static func campaign(_ row: PostgresRandomAccessRow) throws -> Campaign {
        let name: String = try row.get("name")
        let columns: [Campaign.Column]
        do { columns = try JSONDecoder().decode([Campaign.Column].self, from: Data(try row.get("columns", as: String.self).utf8)) } catch {
            throw StoreError.corrupt("campaign \(name) has unreadable columns")
        }
        return Campaign(
            id: try row.get("id"), name: name, accountID: try row.get("accountID"), columns: columns, sourceFile: try row.get("sourceFile"),
            createdAt: try row.get("createdAt"), ownerID: try row.get("ownerID")
        )
    }

    /// The columns as JSON text, as GRDB writes a Codable column on SQLite (sorted keys), so both stores hold the same.
    static func encode(_ columns: [Campaign.Column]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(columns), as: UTF8.self)
    }

    public func createCampaign(_ campaign: Campaign) async throws -> Campaign {
        let columns = try Self.encode(campaign.columns)
        let id = try await db.transaction { db -> Int64? in
            try await db.execute("SELECT pg_advisory_xact_lock(\(Self.nameLockSpace), hashtext(lower(\(campaign.name))))")
            // Per owner: another user's campaign of this name must neither block the name nor be revealed by a refusal.
            let taken = try await db.first(
                #"SELECT 1 AS taken FROM campaign WHERE lower(name) = lower(\#(campaign.name)) AND "ownerID" IS NOT DISTINCT FROM \#(campaign.ownerID)::bigint"#
            ) { _ in true }
            guard taken == nil else { return nil }
            return try await db.first(
                #"""
                INSERT INTO campaign (name, "accountID", "columns", "sourceFile", "createdAt", "ownerID")
                VALUES (\#(campaign.name), \#(campaign.accountID), \#(columns), \#(campaign.sourceFile), \#(campaign.createdAt), \#(campaign.ownerID)::bigint)
                RETURNING id
                """#
            ) { try $0.get("id", as: Int64.self) }
        }
        guard let id else { throw StoreError.duplicateCampaign(name: campaign.name) }
        var created = campaign
        created.id = id
        return created
    }

    /// The oldest campaign of this name, whoever owns it.
    public func campaign(named name: String) async throws -> Campaign? {
        try await campaigns(named: name).first
    }

    /// Every campaign of this name (web users may each have one), oldest first.
    public func campaigns(named name: String) async throws -> [Campaign] {
        try await db.rows(#"SELECT \#(unescaped: Self.columns) FROM campaign WHERE lower(name) = lower(\#(name)) ORDER BY id"#, Self.campaign)
    }

    public func campaign(id: Int64) async throws -> Campaign? {
        try await db.first(#"SELECT \#(unescaped: Self.columns) FROM campaign WHERE id = \#(id)"#, Self.campaign)
    }

    public func allCampaigns() async throws -> [Campaign] {
        try await db.rows(#"SELECT \#(unescaped: Self.columns) FROM campaign ORDER BY "createdAt", id"#, Self.campaign)
    }

    public func prospectCount(campaignID: Int64) async throws -> Int {
        try await db.first(#"SELECT COUNT(*) AS n FROM prospect WHERE "campaignID" = \#(campaignID)"#) { try $0.get("n", as: Int.self) } ?? 0
    }

    /// One statement per batch: the rows go as arrays, unnested in file order, so the first row of an address wins
    /// as it does on SQLite; the rows that were not inserted are the duplicates.
    public func insertProspects(_ prospects: [Prospect]) async throws -> [DuplicateProspect] {
        guard !prospects.isEmpty else { return [] }
        let campaignIDs = prospects.map(\.campaignID)
        let rows = prospects.map { Int64($0.row) }
        let emails = prospects.map(\.email.normalized)
        let fields = try prospects.map { try ProspectFields.encode($0.fields) }
        let selected = prospects.map(\.selected)
        // postgres-nio binds no arrays with NULLs: a flag array says which variants are there.
        let hasVariant = prospects.map { $0.variant != nil }
        let variants = prospects.map { $0.variant ?? "" }
        return try await db.transaction { db in
            let inserted = try await db.rows(
                #"""
                INSERT INTO prospect ("campaignID", "row", email, fields, selected, variant)
                SELECT c, r, e, f, s, CASE WHEN hv THEN v END
                FROM unnest(\#(campaignIDs)::bigint[], \#(rows)::bigint[], \#(emails)::text[], \#(fields)::text[], \#(selected)::boolean[],
                    \#(hasVariant)::boolean[], \#(variants)::text[]) WITH ORDINALITY AS t(c, r, e, f, s, hv, v, ord)
                ORDER BY ord
                ON CONFLICT ("campaignID", email) DO NOTHING
                RETURNING "campaignID", "row"
                """#
            ) { PlacedRow(campaignID: try $0.get("campaignID"), row: try $0.get("row")) }
            let placed = Set(inserted)
            let left = prospects.filter { !placed.contains(PlacedRow(campaignID: $0.campaignID, row: Int64($0.row))) }
            guard !left.isEmpty else { return [] }
            var firstRows: [String: Int] = [:]
            for row in try await db.rows(
                #"""
                SELECT p."campaignID", p.email, p."row" FROM prospect p
                JOIN unnest(\#(left.map(\.campaignID))::bigint[], \#(left.map(\.email.normalized))::text[]) AS d(c, e) ON p."campaignID" = d.c AND p.email = d.e
                """#,
                { (key: "\(try $0.get("campaignID", as: Int64.self)) \(try $0.get("email", as: String.self))", row: try $0.get("row", as: Int.self)) }
            ) {
                firstRows[row.key] = row.row
            }
            return left.map { DuplicateProspect(row: $0.row, email: $0.email.description, firstRow: firstRows["\($0.campaignID) \($0.email.normalized)"] ?? 0) }
        }
    }

    private struct PlacedRow: Hashable, Sendable {
        let campaignID: Int64
        let row: Int64
    }

    static let prospectColumns = #"id, "campaignID", "row", email, fields, selected, variant"#

    static func prospect(_ row: PostgresRandomAccessRow) throws -> Prospect {
        try ProspectFields.prospect(
            id: try row.get("id"), campaignID: try row.get("campaignID"), row: try row.get("row"), email: try row.get("email"),
            fields: try row.get("fields"), selected: try row.get("selected"), variant: try row.get("variant")
        )
    }

    public func prospects(campaignID: Int64, afterRow: Int, limit: Int) async throws -> [Prospect] {
        try await db.rows(
            #"SELECT \#(unescaped: Self.prospectColumns) FROM prospect WHERE "campaignID" = \#(campaignID) AND "row" > \#(afterRow) ORDER BY "row" LIMIT \#(limit)"#,
            Self.prospect
        )
    }

    public func prospect(campaignID: Int64, row: Int) async throws -> Prospect? {
        try await db.first(#"SELECT \#(unescaped: Self.prospectColumns) FROM prospect WHERE "campaignID" = \#(campaignID) AND "row" = \#(row)"#, Self.prospect)
    }

    public func prospect(campaignID: Int64, email: String) async throws -> Prospect? {
        try await db.first(
            #"SELECT \#(unescaped: Self.prospectColumns) FROM prospect WHERE "campaignID" = \#(campaignID) AND email = \#(email.lowercased())"#, Self.prospect
        )
    }

    public func prospect(id: Int64) async throws -> Prospect? {
        try await db.first(#"SELECT \#(unescaped: Self.prospectColumns) FROM prospect WHERE id = \#(id)"#, Self.prospect)
    }

    public func setSelected(campaignID: Int64, rows: Set<Int>) async throws {
        let selected = rows.map { Int64($0) }
        try await db.execute(#"UPDATE prospect SET selected = ("row" = ANY(\#(selected)::bigint[])) WHERE "campaignID" = \#(campaignID)"#)
    }

    public func deleteCampaign(id: Int64) async throws {
        try await db.execute("DELETE FROM campaign WHERE id = \(id)")
    }
}
