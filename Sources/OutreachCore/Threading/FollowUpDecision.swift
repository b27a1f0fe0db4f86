import Foundation

/// The reply-aware decision table for one prospect in a follow-up round, read from the thread index only.
///
/// In order: a hard bounce or a complaint stops the sequence; a human reply from the prospect stops it (matched by
/// threading headers, or — for clients that drop them — by address, base subject and date, with lower confidence);
/// a message the sender wrote in the thread outside the rounds (a manual reply) stops it unless `force` is on, in
/// which case the follow-up goes out as a reminder; auto-replies and soft bounces do not stop it.
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
        /// Messages from the prospect's address after round 1 that are not in the thread (for the subject fallback).
        public var unthreadedFromProspect: [IndexedMessage]

        public init(
            prospect: EmailAddress, roundMessageIDs: [String], firstSentAt: Date?, firstSubject: String?, thread: [IndexedMessage],
            bounces: [IndexedMessage] = [], unthreadedFromProspect: [IndexedMessage] = []
        ) {
            self.prospect = prospect
            self.roundMessageIDs = roundMessageIDs
            self.firstSentAt = firstSentAt
            self.firstSubject = firstSubject
            self.thread = thread
            self.bounces = bounces
            self.unthreadedFromProspect = unthreadedFromProspect
        }
    }

    public static func decide(_ evidence: Evidence, force: Bool) -> FollowUpDecision {
        let prospect = evidence.prospect.normalized
        let ours = Set(evidence.roundMessageIDs)

        if let complaint = evidence.bounces.first(where: { $0.classification == "complaint" }) {
            return .init(verdict: .skip, reason: "complained (spam report \(day(complaint.date)))")
        }
        if let bounce = evidence.bounces.first(where: { $0.classification == "bounce_hard" }) {
            return .init(verdict: .skip, reason: "bounced \(day(bounce.date))\(bounce.failedRecipient.map { " for \($0)" } ?? "")")
        }
        let fromProspect = evidence.thread.filter { $0.direction == .theirs && $0.from?.normalized == prospect }
        if let reply = fromProspect.first(where: { isHuman($0) }) {
            return .init(verdict: .skip, reason: "replied \(day(reply.date)) from \(prospect)")
        }
        if let subject = evidence.firstSubject.map(baseSubject), let since = evidence.firstSentAt,
            let reply = evidence.unthreadedFromProspect.first(where: {
                isHuman($0) && ($0.date ?? .distantPast) >= since && $0.subject.map(baseSubject) == subject
            })
        {
            return .init(verdict: .skip, reason: "replied \(day(reply.date)) from \(prospect) (matched by subject: the reply had no threading headers)")
        }
        if let manual = evidence.thread.first(where: { $0.direction == .ours && !ours.contains($0.messageID) }) {
            if force { return .init(verdict: .send, reason: "reminder: you wrote on \(day(manual.date)), force is on") }
            return .init(verdict: .skip, reason: "you wrote to them yourself on \(day(manual.date)) (use --force to send anyway)")
        }
        if let auto = fromProspect.first(where: { $0.classification == "auto_reply" }) ?? evidence.thread.first(where: { $0.classification == "auto_reply" }) {
            return .init(verdict: .send, reason: "only an auto-reply on \(day(auto.date))")
        }
        if let soft = evidence.bounces.first(where: { $0.classification == "bounce_soft" }) {
            return .init(verdict: .send, reason: "no reply; a temporary delivery failure on \(day(soft.date))")
        }
        return .init(verdict: .send, reason: "no reply")
    }

    static func isHuman(_ message: IndexedMessage) -> Bool {
        message.classification == "human" || message.classification == "unclassified"
    }

    /// The subject without reply and forward prefixes (Re:, Fwd:, AW:, SV:, [tags]), lowercased, spaces collapsed.
    public static func baseSubject(_ subject: String) -> String {
        var text = subject.trimmingCharacters(in: .whitespaces)
        let prefixes = ["re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:", "antw:", "réf:", "tr:"]
        var changed = true
        while changed {
            changed = false
            let lower = text.lowercased()
            if let prefix = prefixes.first(where: { lower.hasPrefix($0) }) {
                text = String(text.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
                changed = true
            } else if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                text = String(text[text.index(after: close)...]).trimmingCharacters(in: .whitespaces)
                changed = true
            }
        }
        return text.lowercased().split(separator: " ").joined(separator: " ")
    }

    static func day(_ date: Date?) -> String {
        guard let date else { return "(undated)" }
        return String(date.formatted(.iso8601.year().month().day()))
    }
}
