import Foundation

/// One message as the thread index keeps it: who wrote it to whom, which messages it answers, and in which folder it
/// was seen. Built by the sync from header fields only; the body is never stored.
public struct IndexedMessage: Sendable, Hashable {
    public enum Direction: String, Sendable, Codable {
        /// Written by the account itself (its address in From).
        case ours
        case theirs
    }

    /// Without angle brackets. A message without one gets a stable synthetic id (see ``synthesizedID(from:)``).
    public var messageID: String
    public var inReplyTo: [String]
    public var references: [String]
    public var from: EmailAddress?
    public var to: [EmailAddress]
    public var subject: String?
    public var date: Date?
    public var direction: Direction
    /// The folder where the sync saw it first (INBOX, Sent, Junk, …).
    public var folder: String
    /// How the classifier read it: `human`, `auto_reply`, `delivered` (a success report), `bounce_hard` (the address is
    /// bad), `bounce_soft` (it may work later), `bounce_sender` (the receiver refused the sender), `complaint`.
    public var classification: String
    /// For bounces: the ``BounceReason`` raw value (`user-unknown`, `blocked`, …); nil for other messages and for
    /// bounces indexed before reasons were stored.
    public var bounceReason: String?
    /// For bounces and complaints: the recipients that failed (a report may name several, ours not first) or the one
    /// that complained, lowercased; and the Message-ID of our message.
    public var failedRecipients: [String]
    public var originalMessageID: String?
    /// Gmail API accounts: Gmail's thread id. Gmail threads replies that lost their headers, and its own bounces,
    /// so messages sharing one are linked into one thread even without References.
    public var gmailThreadID: String?
    /// Gmail API accounts: Gmail's id of the message, so a full resync skips what is already indexed.
    public var gmailMessageID: String?

    public init(
        messageID: String, inReplyTo: [String] = [], references: [String] = [], from: EmailAddress?, to: [EmailAddress] = [], subject: String?,
        date: Date?, direction: Direction, folder: String, classification: String = "human", failedRecipients: [String] = [],
        originalMessageID: String? = nil, gmailThreadID: String? = nil, gmailMessageID: String? = nil, bounceReason: String? = nil
    ) {
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.direction = direction
        self.folder = folder
        self.classification = classification
        self.failedRecipients = failedRecipients
        self.originalMessageID = originalMessageID
        self.gmailThreadID = gmailThreadID
        self.gmailMessageID = gmailMessageID
        self.bounceReason = bounceReason
    }

    /// The ids this message links to (References, then In-Reply-To), without itself and without repeats, in order.
    /// As notmuch does: the union of both headers, because clients fill them inconsistently.
    public var linkedIDs: [String] {
        var seen: Set<String> = [messageID]
        var ids: [String] = []
        for id in references + inReplyTo where seen.insert(id).inserted { ids.append(id) }
        return ids
    }

    /// A stable id for a message without Message-ID, from what identifies it, so a re-sync finds the same row.
    public static func synthesizedID(from parts: [String]) -> String {
        // FNV-1a over the parts: stable across runs and machines (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in parts.joined(separator: "\u{1F}").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "outreach-synthetic-\(String(hash, radix: 16))@localhost"
    }
}
