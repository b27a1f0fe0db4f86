import Foundation
import OutreachCore
import OutreachStore

/// Round 1 per A/B variant: how many first emails went out and how many prospects replied (a human reply, as the
/// follow-up planner reads the thread index), with the 95% interval of the rate. `outreach report` and the web UI's
/// A/B page show it.
public struct VariantReport: Sendable, Encodable {
    public struct Variant: Sendable, Encodable {
        public let name: String
        public let sent: Int
        public let replies: Int
        public var rate: Double { sent == 0 ? 0 : Double(replies) / Double(sent) }
        public var interval: (low: Double, high: Double) { ABStatistics.wilsonInterval(successes: replies, trials: sent) }

        enum CodingKeys: String, CodingKey { case name, sent, replies, rate, low, high }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(sent, forKey: .sent)
            try container.encode(replies, forKey: .replies)
            try container.encode(rate, forKey: .rate)
            try container.encode(interval.low, forKey: .low)
            try container.encode(interval.high, forKey: .high)
        }
    }

    public let campaign: String
    /// Sorted by name; rows without a variant are "(none)".
    public let variants: [Variant]

    public static func make(campaign: Campaign, campaigns: any CampaignStore, index: any ThreadIndex, ledger: any DeliveryLedger) async throws -> VariantReport {
        let planner = try await FollowUpRound(campaign: campaign, round: 2, force: false, index: index, ledger: ledger)
        let round1 = try await ledger.deliveries(campaignID: campaign.id ?? 0, round: FirstRound.round)
        var sent: [String: Int] = [:]
        var replies: [String: Int] = [:]
        try await campaigns.forEachPage(campaignID: campaign.id ?? 0, pageSize: 500) { page in
            let mailed = page.filter { $0.id.map { round1[$0]?.state == .sent } ?? false }
            for (prospect, row) in zip(mailed, try await planner.decide(mailed)) {
                let name = prospect.variant ?? "(none)"
                sent[name, default: 0] += 1
                if row.decision.isReply { replies[name, default: 0] += 1 }
            }
        }
        let variants = sent.keys.sorted().map { Variant(name: $0, sent: sent[$0] ?? 0, replies: replies[$0] ?? 0) }
        return VariantReport(campaign: campaign.name, variants: variants)
    }
}

extension FollowUpDecision {
    /// The decision was "skip" because the prospect (or, when counted, a colleague) replied.
    var isReply: Bool { verdict == .skip && reason.hasPrefix("replied") }
}
