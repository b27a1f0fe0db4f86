import Foundation
import OutreachCore

/// The thread index: every synced message of an account once, keyed by Message-ID, linked into threads by its
/// References and In-Reply-To — with placeholder ("ghost") rows for ids not seen yet, merged when they arrive, as
/// notmuch does. Rows are never deleted when the server deletes a message: a reply that was read and thrown away
/// still counts.
public protocol ThreadIndex: Sendable {
    /// Adds messages; one already indexed (seen in another folder, or in an earlier sync) is left as it is.
    /// - Returns: how many were new.
    @discardableResult
    func ingest(_ messages: [IndexedMessage], accountID: Int64) async throws -> Int
    func mailboxState(accountID: Int64, folder: String) async throws -> MailboxState?
    func saveMailboxState(_ state: MailboxState) async throws
    func messageCount(accountID: Int64) async throws -> Int
    /// The indexed (non-placeholder) messages of the thread that holds `messageID`, oldest first.
    func thread(containing messageID: String, accountID: Int64) async throws -> [IndexedMessage]
    /// Every bounce and complaint the account received. Planners load them once per round: they are few, and matching
    /// them by recipient or original Message-ID per prospect in SQL would scan the whole index each time.
    func bouncesAndComplaints(accountID: Int64) async throws -> [IndexedMessage]
    /// What the follow-up planner reads for each prospect, many prospects in one read: the thread of each round-1
    /// message (ghosts left out, oldest first), and every message from the prospect's address (or, with
    /// `sameDomain`, from their domain) since `since`, for replies that lost their threading headers.
    /// - Returns: one ``FollowUpEvidence`` per query, in the queries' order.
    func followUpEvidence(_ queries: [FollowUpEvidenceQuery], accountID: Int64) async throws -> [FollowUpEvidence]

    // MARK: Gmail API accounts
    /// Which of these Gmail message ids are indexed already (a full resync after an expired history id skips them).
    func knownGmailMessageIDs(_ ids: [String], accountID: Int64) async throws -> Set<String>
    /// The first message we wrote in a Gmail thread: what a bounce Gmail filed there answers, when its body (which
    /// names our Message-ID) cannot be read under the metadata scope.
    func ourMessageID(inGmailThread gmailThreadID: String, accountID: Int64) async throws -> String?
}

/// One prospect's part of ``ThreadIndex/followUpEvidence(_:accountID:)``.
public struct FollowUpEvidenceQuery: Sendable, Hashable {
    /// Round 1's Message-ID.
    public let root: String
    /// The prospect's address, lower-cased.
    public let sender: String
    public let sameDomain: Bool
    public let since: Date

    public init(root: String, sender: String, sameDomain: Bool, since: Date) {
        self.root = root
        self.sender = sender.lowercased()
        self.sameDomain = sameDomain
        self.since = since
    }

    var domain: String { String(sender.split(separator: "@").last ?? "") }

    /// The key a store files messages from this query's sender (or domain) under: `a:` + address or `d:` + domain.
    var senderKey: String { sameDomain ? "d:" + domain : "a:" + sender }

    /// Each query's evidence from what a store read for the whole batch: the thread ids of the roots, the threads'
    /// messages, and the messages by sender key.
    static func evidence(
        for queries: [FollowUpEvidenceQuery], threadOf: [String: Int64], threads: [Int64: [IndexedMessage]], bySender: [String: [IndexedMessage]]
    ) -> [FollowUpEvidence] {
        queries.map { query in
            FollowUpEvidence(
                thread: threadOf[query.root].flatMap { threads[$0] } ?? [],
                fromSender: (bySender[query.senderKey] ?? []).filter { ($0.date ?? .distantPast) >= query.since }
            )
        }
    }
}

public struct FollowUpEvidence: Sendable {
    public let thread: [IndexedMessage]
    public let fromSender: [IndexedMessage]
}
