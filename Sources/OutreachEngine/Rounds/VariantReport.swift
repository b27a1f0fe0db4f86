import Foundation
import OutreachCore
import OutreachStore

/// Each round per A/B variant: how many emails went out and how many of those prospects replied (a human reply, as
/// the follow-up planner reads the thread index), with the 95% interval of the rate and the test against the first
/// variant. `outreach report` and the web UI's A/B page show it.
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

        /// The two-proportion test of this variant against `baseline`; nil for the baseline itself or too little data.
        public func test(against baseline: Variant?) -> ABStatistics.Comparison? {
            guard let baseline, baseline.name != name else { return nil }
            return ABStatistics.compare(successesA: baseline.replies, trialsA: baseline.sent, successesB: replies, trialsB: sent)
        }

        /// "baseline", "p = 0.012, significant", "p = 0.400, not significant" or "not enough data".
        public func comparison(against baseline: Variant?) -> String {
            guard let baseline, baseline.name != name else { return "baseline" }
            guard let test = test(against: baseline) else { return "not enough data" }
            return String(format: "p = %.3f, ", test.pValue) + (test.significant ? "significant" : "not significant")
        }
    }

    /// One round's variants, sorted by name; rows without a variant are "(none)". The first is the baseline.
    public struct Round: Sendable, Encodable {
        public let round: Int
        public let variants: [Variant]

        public var baseline: Variant? { variants.first }

        public init(round: Int, variants: [Variant]) {
            self.round = round
            self.variants = variants
        }

        /// One sentence on the whole round: one variant only, a difference beyond chance, or none yet.
        public var verdict: String {
            guard variants.count >= 2, let baseline else {
                return "Only one variant: add a variant column to the master file to compare templates."
            }
            if variants.dropFirst().contains(where: { $0.test(against: baseline)?.significant ?? false }) {
                return "At least one variant differs from \(baseline.name) beyond chance (two-proportion z-test, 5% level)."
            }
            return "No difference beyond chance yet (two-proportion z-test, 5% level): keep sending, or treat the variants as equal."
        }

        enum CodingKeys: String, CodingKey { case round, variants, comparisons, verdict }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(round, forKey: .round)
            try container.encode(variants, forKey: .variants)
            try container.encode(Dictionary(uniqueKeysWithValues: variants.map { ($0.name, $0.comparison(against: baseline)) }), forKey: .comparisons)
            try container.encode(verdict, forKey: .verdict)
        }
    }

    public let campaign: String
    /// Round 1's variants (the same as `rounds.first`), kept for the A/B page and its API.
    public let variants: [Variant]
    /// Every round that sent something, in order.
    public let rounds: [Round]

    public static func make(campaign: Campaign, campaigns: any CampaignStore, index: any ThreadIndex, ledger: any DeliveryLedger) async throws -> VariantReport {
        let campaignID = campaign.id ?? 0
        // Every round with ledger rows: rounds are numbered from 1 without gaps.
        var ledgers: [[Int64: Delivery]] = []
        while true {
            let rows = try await ledger.deliveries(campaignID: campaignID, round: ledgers.count + 1)
            if rows.isEmpty { break }
            ledgers.append(rows)
        }
        // A prospect "replied" as the follow-up planner reads its thread, whichever round the reply answered.
        let planner = try await FollowUpRound(campaign: campaign, round: 2, force: false, index: index, ledger: ledger)
        var sent = Array(repeating: [String: Int](), count: ledgers.count)
        var replies = sent
        try await campaigns.forEachPage(campaignID: campaignID, pageSize: 500) { page in
            let mailed = page.filter { prospect in prospect.id.map { id in ledgers.contains { $0[id]?.state == .sent } } ?? false }
            guard !mailed.isEmpty else { return }
            for (prospect, row) in zip(mailed, try await planner.decide(mailed)) {
                let name = prospect.variant ?? "(none)"
                for (round, rows) in ledgers.enumerated() where rows[prospect.id ?? 0]?.state == .sent {
                    sent[round][name, default: 0] += 1
                    if row.decision.isReply { replies[round][name, default: 0] += 1 }
                }
            }
        }
        let rounds = sent.indices.compactMap { round -> Round? in
            guard !sent[round].isEmpty else { return nil }
            let variants = sent[round].keys.sorted().map { Variant(name: $0, sent: sent[round][$0] ?? 0, replies: replies[round][$0] ?? 0) }
            return Round(round: round + 1, variants: variants)
        }
        return VariantReport(campaign: campaign.name, variants: rounds.first { $0.round == 1 }?.variants ?? [], rounds: rounds)
    }
}

extension FollowUpDecision {
    /// The decision was "skip" because the prospect (or, when counted, a colleague) replied.
    var isReply: Bool { verdict == .skip && reason.hasPrefix("replied") }
}
