import Foundation
import OutreachCore
import OutreachStore

/// Round N ≥ 2 (Module 2): a follow-up in the same thread to every prospect who has not answered, decided from the
/// thread index alone — never one live fetch per row.
public struct FollowUpRound: Sendable {
    public let round: Int
    public let force: Bool
    /// Whether a reply from another address at the prospect's domain (a colleague) counts as the prospect's.
    public let countDomainReplies: Bool
    let campaign: Campaign
    let index: any ThreadIndex
    /// Ledger rows of the campaign's earlier rounds, by prospect and round.
    let history: [Int64: [Int: Delivery]]
    /// The account's bounces and complaints, by each failed recipient and by the original Message-ID they cite.
    let bouncesByRecipient: [String: [IndexedMessage]]
    let bouncesByOriginal: [String: [IndexedMessage]]

    /// One row's decision and what the follow-up needs to join the thread.
    public struct RowDecision: Sendable {
        public let decision: FollowUpDecision
        /// Round 1's Message-ID: the thread's root.
        public let root: String?
        public let inReplyTo: String?
        public let references: [String]
        /// Round 1's subject as the index saw it in Sent.
        public let originalSubject: String?
        /// Gmail API accounts: the Gmail thread round 1 started (or the index saw it in).
        public var gmailThreadID: String? = nil
    }

    /// - Parameter countDomainReplies: count a human reply from another address at the prospect's domain as theirs
    ///   (`--domain-replies`; never at free-mail domains).
    public init(
        campaign: Campaign, round: Int, force: Bool, index: any ThreadIndex, ledger: any DeliveryLedger, countDomainReplies: Bool = false
    ) async throws {
        precondition(round >= 2, "follow-ups are rounds 2 and later")
        self.campaign = campaign
        self.round = round
        self.force = force
        self.countDomainReplies = countDomainReplies
        self.index = index
        var history: [Int64: [Int: Delivery]] = [:]
        for delivery in try await ledger.deliveries(campaignID: campaign.id ?? 0) where delivery.round < round {
            history[delivery.prospectID, default: [:]][delivery.round] = delivery
        }
        self.history = history
        var byRecipient: [String: [IndexedMessage]] = [:]
        var byOriginal: [String: [IndexedMessage]] = [:]
        for bounce in try await index.bouncesAndComplaints(accountID: campaign.accountID) {
            let recipients = Set(bounce.failedRecipients.map { (try? EmailAddress(parsing: $0))?.matchKey ?? $0.lowercased() })
            for recipient in recipients { byRecipient[recipient, default: []].append(bounce) }
            if let original = bounce.originalMessageID { byOriginal[original, default: []].append(bounce) }
        }
        self.bouncesByRecipient = byRecipient
        self.bouncesByOriginal = byOriginal
    }

    /// What the index says about one prospect.
    public func decide(_ prospect: Prospect) async throws -> RowDecision {
        try await decide([prospect])[0]
    }

    /// What the index says about many prospects, in one index read (planning a 10,000-row round reads 20 pages,
    /// not 10,000 threads one by one).
    public func decide(_ prospects: [Prospect]) async throws -> [RowDecision] {
        var decisions = [RowDecision?](repeating: nil, count: prospects.count)
        var queries: [FollowUpEvidenceQuery] = []
        var waiting: [(index: Int, root: String, first: Delivery, ourIDs: [String])] = []
        for (index, prospect) in prospects.enumerated() {
            let rounds = history[prospect.id ?? 0] ?? [:]
            guard let first = rounds[1], first.state == .sent, let root = first.messageID else {
                let state = rounds[1].map { "round 1 is \($0.state.rawValue)" } ?? "round 1 was never run for this row"
                decisions[index] = RowDecision(
                    decision: .init(verdict: .skip, reason: "no first email went out (\(state))"), root: nil, inReplyTo: nil, references: [], originalSubject: nil
                )
                continue
            }
            let ourIDs = rounds.keys.sorted().compactMap { rounds[$0] }.filter { $0.state == .sent }.compactMap(\.messageID)
            queries.append(FollowUpEvidenceQuery(
                root: root, sender: prospect.email.matchKey, sameDomain: countDomainReplies && FollowUpDecision.countsDomainReplies(for: prospect.email),
                since: first.sentAt ?? first.updatedAt
            ))
            waiting.append((index, root, first, ourIDs))
        }
        let evidence = try await index.followUpEvidence(queries, accountID: campaign.accountID)
        for (read, entry) in zip(evidence, waiting) {
            decisions[entry.index] = decide(prospects[entry.index], root: entry.root, first: entry.first, ourIDs: entry.ourIDs, read: read)
        }
        return decisions.map { $0! }
    }

    private func decide(_ prospect: Prospect, root: String, first: Delivery, ourIDs: [String], read: FollowUpEvidence) -> RowDecision {
        let thread = read.thread
        var bounces = bouncesByRecipient[prospect.email.matchKey] ?? []
        for id in ourIDs { bounces += (bouncesByOriginal[id] ?? []).filter { bounce in !bounces.contains { $0.messageID == bounce.messageID } } }
        let inThread = Set(thread.map(\.messageID))
        let unthreaded = read.fromSender.filter { !inThread.contains($0.messageID) }
        let originalSubject = thread.first { $0.messageID == root }?.subject
        let evidence = FollowUpDecision.Evidence(
            prospect: prospect.email, roundMessageIDs: ourIDs, firstSentAt: first.sentAt, firstSubject: originalSubject, thread: thread,
            bounces: bounces, unthreaded: unthreaded
        )
        // The follow-up answers the newest message we wrote in the thread and carries the chain of ours before it.
        let oursInThread = thread.filter { $0.direction == .ours }.map(\.messageID)
        var chain = [root]
        for id in oursInThread + ourIDs where !chain.contains(id) { chain.append(id) }
        let last = thread.last { $0.direction == .ours }?.messageID ?? ourIDs.last ?? root
        if let position = chain.firstIndex(of: last) { chain = Array(chain[...position]) }
        var decision = FollowUpDecision.decide(evidence, force: force, countDomainReplies: countDomainReplies)
        if first.action == .draft, let note = first.replyText, note.hasPrefix(HandSentDrafts.note) {
            decision = FollowUpDecision(verdict: decision.verdict, reason: decision.reason + " (round 1 was \(note))")
        }
        return RowDecision(
            decision: decision, root: root, inReplyTo: last,
            references: chain, originalSubject: originalSubject,
            gmailThreadID: first.gmailThreadID ?? thread.first { $0.messageID == root }?.gmailThreadID
        )
    }

    /// Plans a row for the round runner.
    public func plan(_ prospect: Prospect, mode: RoundMode, render: (Prospect) -> RenderedRow) async throws -> RoundRunner.RowPlan {
        let row = try await decide(prospect)
        guard row.decision.verdict == .send else { return .skip(reason: row.decision.reason) }
        let action = mode.action(selected: prospect.selected)
        guard action != .skip else { return .skip(reason: "not selected (mode \(mode.rawValue))") }
        switch render(prospect) {
        case .message(let subject, let text, let html):
            let finalSubject: String
            if !subject.trimmingCharacters(in: .whitespaces).isEmpty {
                finalSubject = subject
            } else if let original = row.originalSubject {
                finalSubject = original.lowercased().hasPrefix("re:") ? original : "Re: " + original
            } else {
                return .hold(reason: "round 1's subject is not in the index yet: run `outreach sync`, or give the template a Subject")
            }
            return .deliver(.init(
                action: action, subject: finalSubject, text: text, html: html, inReplyTo: row.inReplyTo, references: row.references, threadKey: row.root,
                gmailThreadID: row.gmailThreadID
            ))
        case .needsData(let missing):
            return .hold(reason: "needs data: no value and no fallback for \(missing.map { "{\($0)}" }.joined(separator: ", "))")
        case .unsafe(let reason):
            return .hold(reason: reason)
        }
    }
}
