import Foundation
import OutreachCore
import OutreachStore

/// Every row's follow-up decision for a round, with its reason: what `outreach plan` prints and the web UI's
/// Module 2 shows before anything is scheduled.
public struct FollowUpPlan: Sendable {
    public struct Row: Sendable, Encodable {
        public let row: Int
        public let email: String
        public let decision: String
        public let reason: String
    }

    public let round: Int
    public let rows: [Row]
    public var sendCount: Int { rows.filter { $0.decision == FollowUpDecision.Verdict.send.rawValue }.count }
    public var skipCount: Int { rows.count - sendCount }

    /// Decides every row of the campaign (of the variant) from the index as it is now.
    public static func make(
        campaign: Campaign, round: Int, force: Bool, variant: String?, countDomainReplies: Bool = false, campaigns: any CampaignStore,
        index: any ThreadIndex, ledger: any DeliveryLedger
    ) async throws -> FollowUpPlan {
        let planner = try await FollowUpRound(
            campaign: campaign, round: round, force: force, index: index, ledger: ledger, countDomainReplies: countDomainReplies
        )
        var rows: [Row] = []
        try await campaigns.forEachPage(campaignID: campaign.id ?? 0, pageSize: 500) { page in
            let chosen = page.filter { variant == nil || $0.variant?.caseInsensitiveCompare(variant!) == .orderedSame }
            for (prospect, row) in zip(chosen, try await planner.decide(chosen)) {
                rows.append(Row(row: prospect.row, email: prospect.email.description, decision: row.decision.verdict.rawValue, reason: row.decision.reason))
            }
        }
        return FollowUpPlan(round: round, rows: rows)
    }
}
