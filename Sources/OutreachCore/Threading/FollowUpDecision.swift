import Foundation

/// The reply-aware decision table for one prospect in a follow-up round, read from the thread index only.
///
/// In order: a hard bounce or a complaint stops the sequence; a human reply from the prospect stops it (matched by
/// threading headers, or — for clients that drop them — by address, base subject and date, with lower confidence);
/// when the operator counts domain replies, so does a human reply from another address at the prospect's domain (a
/// colleague answering for them), except at free-mail providers; a message the sender wrote in the thread outside
/// the rounds (a manual reply) stops it unless `force` is on, in which case the follow-up goes out as a reminder;
/// auto-replies, success reports (`delivered`), soft bounces and bounces that refused the sender (`bounce_sender`:
/// reputation, policy, content, rate — the account's problem, not the address's) do not stop it. Bounce reasons
/// (``BounceReason``) are printed beside the date.
public struct FollowUpDecision: Sendable, Equatable {
    public enum Verdict: String, Sendable { case send, skip }

    public let verdict: Verdict
    /// Why, in the words `outreach plan` prints: "skip: replied 2026-11-30 from a@b.com".
    public let reason: String

    public init(verdict: Verdict, reason: String) {
        self.verdict = verdict
        self.reason = reason
    }

    public struct Evidence: Sendable {
        /// The prospect's address.
        public var prospect: EmailAddress
        /// Message-IDs of our own round messages to this prospect (round 1 first).
        public var roundMessageIDs: [String]
        /// When round 1 went out.
        public var firstSentAt: Date?
        /// The subject of round 1, for the fallback match.
        public var firstSubject: String?
        /// The indexed messages of the thread our round messages are in.
        public var thread: [IndexedMessage]
        /// Bounces and complaints that name this prospect or one of our round messages, wherever they were filed.
        public var bounces: [IndexedMessage]
        /// Messages after round 1 that are not in the thread, for the subject fallback: from the prospect's address,
        /// and — where domain replies count — from other addresses at its domain.
        public var unthreaded: [IndexedMessage]

        public init(
            prospect: EmailAddress, roundMessageIDs: [String], firstSentAt: Date?, firstSubject: String?, thread: [IndexedMessage],
            bounces: [IndexedMessage] = [], unthreaded: [IndexedMessage] = []
        ) {
            self.prospect = prospect
            self.roundMessageIDs = roundMessageIDs
            self.firstSentAt = firstSentAt
            self.firstSubject = firstSubject
            self.thread = thread
            self.bounces = bounces
            self.unthreaded = unthreaded
        }
    }

    /// - Parameter countDomainReplies: whether a reply from another address at the prospect's domain counts as theirs
    ///   (never at a free-mail domain, see ``countsDomainReplies(for:)``).
    public static func decide(_ evidence: Evidence, force: Bool, countDomainReplies: Bool = false) -> FollowUpDecision {
        // Compared as messages carry addresses (IDNA domains); shown as the operator's list has it.
        let prospect = evidence.prospect.matchKey
        let shown = evidence.prospect.normalized
        let ours = Set(evidence.roundMessageIDs)

        if let complaint = evidence.bounces.first(where: { $0.classification == "complaint" }) {
            return .init(verdict: .skip, reason: "complained (spam report \(day(complaint.date)))")
        }
        if let bounce = evidence.bounces.first(where: { $0.classification == "bounce_hard" }) {
            // A report may name several recipients; the prospect's address is the one that matters here.
            let named = bounce.failedRecipients.contains(prospect) ? [shown] : bounce.failedRecipients
            return .init(
                verdict: .skip, reason: "bounced \(day(bounce.date))\(because(bounce))\(named.isEmpty ? "" : " for " + named.joined(separator: ", "))"
            )
        }
        let fromProspect = evidence.thread.filter { $0.direction == .theirs && $0.from?.matchKey == prospect }
        if let reply = fromProspect.first(where: isHuman) {
            return .init(verdict: .skip, reason: "replied \(day(reply.date)) from \(shown)")
        }
        if let reply = matchedBySubject(evidence.unthreaded.filter { $0.from?.matchKey == prospect }, evidence) {
            return .init(verdict: .skip, reason: "replied \(day(reply.date)) from \(shown) (matched by subject: the reply had no threading headers)")
        }
        if countDomainReplies, countsDomainReplies(for: evidence.prospect) {
            let domain = evidence.prospect.asciiDomain.lowercased()
            let fromColleague = { (message: IndexedMessage) in
                message.direction == .theirs && message.from.map { $0.asciiDomain.lowercased() == domain && $0.matchKey != prospect } == true
            }
            if let reply = evidence.thread.first(where: { fromColleague($0) && isHuman($0) }), let from = reply.from?.normalized {
                return .init(verdict: .skip, reason: "replied \(day(reply.date)) from \(from) (same domain as the prospect)")
            }
            if let reply = matchedBySubject(evidence.unthreaded.filter(fromColleague), evidence), let from = reply.from?.normalized {
                return .init(
                    verdict: .skip,
                    reason: "replied \(day(reply.date)) from \(from) (same domain as the prospect; matched by subject: the reply had no threading headers)"
                )
            }
        }
        if let manual = evidence.thread.first(where: { $0.direction == .ours && !ours.contains($0.messageID) }) {
            if force { return .init(verdict: .send, reason: "reminder: you wrote on \(day(manual.date)), force is on") }
            return .init(verdict: .skip, reason: "you wrote to them yourself on \(day(manual.date)) (use --force to send anyway)")
        }
        if let auto = fromProspect.first(where: { $0.classification == "auto_reply" }) ?? evidence.thread.first(where: { $0.classification == "auto_reply" }) {
            return .init(verdict: .send, reason: "only an auto-reply on \(day(auto.date))")
        }
        if let refused = evidence.bounces.first(where: { $0.classification == "bounce_sender" }) {
            return .init(
                verdict: .send, reason: "no reply; the receiver refused the sender on \(day(refused.date))\(because(refused)), not the address"
            )
        }
        if let soft = evidence.bounces.first(where: { $0.classification == "bounce_soft" }) {
            return .init(verdict: .send, reason: "no reply; a temporary delivery failure on \(day(soft.date))\(because(soft))")
        }
        return .init(verdict: .send, reason: "no reply")
    }

    /// Whether a reply from the prospect's domain can stand for theirs: not at a free-mail provider, where sharing a
    /// domain says nothing about working together.
    public static func countsDomainReplies(for prospect: EmailAddress) -> Bool {
        !FreeMailDomains.contains(prospect.domain)
    }

    static func isHuman(_ message: IndexedMessage) -> Bool {
        message.classification == "human" || message.classification == "unclassified"
    }

    /// The first human message since round 1 whose base subject is round 1's (``ReplySubject/base(_:)``).
    static func matchedBySubject(_ candidates: [IndexedMessage], _ evidence: Evidence) -> IndexedMessage? {
        guard let subject = evidence.firstSubject.map(ReplySubject.base), let since = evidence.firstSentAt else { return nil }
        return candidates.first { isHuman($0) && ($0.date ?? .distantPast) >= since && $0.subject.map(ReplySubject.base) == subject }
    }

    /// " (user unknown)": the stored bounce reason in words; empty for rows indexed before reasons were stored.
    static func because(_ bounce: IndexedMessage) -> String {
        bounce.bounceReason.flatMap(BounceReason.init(rawValue:)).map { " (\($0.summary))" } ?? ""
    }

    static func day(_ date: Date?) -> String {
        guard let date else { return "(undated)" }
        return String(date.formatted(.iso8601.year().month().day()))
    }
}
