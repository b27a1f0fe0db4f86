import Foundation
import OutreachCore

/// Campaigns and their prospects (the master file, as imported).
public protocol CampaignStore: Sendable {
    /// Throws ``StoreError/duplicateCampaign(name:)`` when the owner already has a campaign of this name
    /// (case-insensitively); other owners' names do not count.
    func createCampaign(_ campaign: Campaign) async throws -> Campaign
    /// The oldest campaign of this name, whoever owns it.
    func campaign(named name: String) async throws -> Campaign?
    /// Every campaign of this name (web users may each have one), oldest first.
    func campaigns(named name: String) async throws -> [Campaign]
    func campaign(id: Int64) async throws -> Campaign?
    func allCampaigns() async throws -> [Campaign]
    func prospectCount(campaignID: Int64) async throws -> Int
    /// Adds a batch of prospects in one transaction. A prospect whose address is already in the campaign is not added;
    /// it comes back as a duplicate naming the row that holds the address.
    func insertProspects(_ prospects: [Prospect]) async throws -> [DuplicateProspect]
    /// Prospects in file order, `limit` at a time after data row `afterRow`: callers page through large campaigns.
    func prospects(campaignID: Int64, afterRow: Int, limit: Int) async throws -> [Prospect]
    func prospect(campaignID: Int64, row: Int) async throws -> Prospect?
    func prospect(campaignID: Int64, email: String) async throws -> Prospect?
    func prospect(id: Int64) async throws -> Prospect?
    /// Marks exactly these rows selected (the `select` column), as the web UI's checkboxes say.
    func setSelected(campaignID: Int64, rows: Set<Int>) async throws
    /// Removes a campaign with its prospects and ledger (used to undo an import that failed half-way).
    func deleteCampaign(id: Int64) async throws
}

extension CampaignStore {
    /// Every prospect of a campaign in file order, fetched a page at a time so large campaigns stay small in memory.
    public func forEachProspect(campaignID: Int64, pageSize: Int = 1_000, _ body: (Prospect) async throws -> Void) async throws {
        try await forEachPage(campaignID: campaignID, pageSize: pageSize) { page in
            for prospect in page { try await body(prospect) }
        }
    }

    /// The same, a page at a time, for callers that read something per page rather than per prospect.
    public func forEachPage(campaignID: Int64, pageSize: Int = 1_000, _ body: ([Prospect]) async throws -> Void) async throws {
        var afterRow = 0
        while true {
            let page = try await prospects(campaignID: campaignID, afterRow: afterRow, limit: pageSize)
            guard let last = page.last else { return }
            afterRow = last.row
            try await body(page)
        }
    }
}
