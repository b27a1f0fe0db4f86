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
    /// What a follow-up decision reads about one prospect, in one read: the thread holding `root`, and the messages
    /// from `sender` since `since` — with `sameDomain`, from every address at the sender's domain (its colleagues
    /// and the sender itself). Without each message's References (a decision does not need them).
    func followUpEvidence(
        root: String, sender: String, sameDomain: Bool, since: Date, accountID: Int64
    ) async throws -> (thread: [IndexedMessage], fromSender: [IndexedMessage])
}
