import Foundation

/// The ledger row for one prospect in one round. Unique per (prospect, round): a round never mails a prospect twice.
public struct Delivery: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Message-ID assigned and stored; nothing handed to a server yet.
        case planned
        /// Handed to the server; no answer recorded yet. After a crash this means "outcome unknown".
        case sending
        case sent
        case drafted
        case skipped
        case failed
        /// The server may or may not have accepted it; held for reconciliation, never resent automatically.
        case unknown
        /// A placeholder had no value and no fallback: held, never sent with a blank.
        case needsData = "needs_data"

        /// States after which the round must not touch the row again.
        public var isFinal: Bool { self == .sent || self == .drafted }
    }

    public var id: Int64?
    public var prospectID: Int64
    public var round: Int
    public var state: State
    public var action: RoundMode.Action
    /// Without angle brackets; assigned before the SMTP transaction and kept across retries.
    public var messageID: String?
    /// The Message-ID of the thread's first message: follow-ups reply into it.
    public var threadKey: String?
    public var replyCode: Int?
    public var replyText: String?
    public var updatedAt: Date
    public var sentAt: Date?
    /// The job that last worked on the row.
    public var jobID: Int64?
    /// Times the server answered "try again later" (4xx) for this row.
    public var attempts: Int
    /// After a temporary failure: not before this time.
    public var retryAt: Date?
    /// Gmail API accounts: Gmail's own ids of the message and its thread (follow-ups are sent into that thread).
    public var gmailMessageID: String?
    public var gmailThreadID: String?

    public init(
        id: Int64? = nil, prospectID: Int64, round: Int, state: State, action: RoundMode.Action, messageID: String? = nil, threadKey: String? = nil,
        replyCode: Int? = nil, replyText: String? = nil, updatedAt: Date = Date(), sentAt: Date? = nil, jobID: Int64? = nil, attempts: Int = 0,
        retryAt: Date? = nil, gmailMessageID: String? = nil, gmailThreadID: String? = nil
    ) {
        self.id = id
        self.prospectID = prospectID
        self.round = round
        self.state = state
        self.action = action
        self.messageID = messageID
        self.threadKey = threadKey
        self.replyCode = replyCode
        self.replyText = replyText
        self.updatedAt = updatedAt
        self.sentAt = sentAt
        self.jobID = jobID
        self.attempts = attempts
        self.retryAt = retryAt
        self.gmailMessageID = gmailMessageID
        self.gmailThreadID = gmailThreadID
    }
}
