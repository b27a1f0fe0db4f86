import Foundation

/// One imported master file: its prospects and every round run from it.
public struct Campaign: Sendable, Hashable, Codable {
    /// A column of the master file as imported: the header exactly as written (export writes it back unchanged) and
    /// the normalized key templates use.
    public struct Column: Sendable, Hashable, Codable {
        public let header: String
        public let key: ColumnKey

        public init(header: String, key: ColumnKey) {
            self.header = header
            self.key = key
        }
    }

    public var id: Int64?
    public var name: String
    /// The account rounds are sent from.
    public var accountID: Int64
    public var columns: [Column]
    public var sourceFile: String
    public var createdAt: Date

    public init(id: Int64? = nil, name: String, accountID: Int64, columns: [Column], sourceFile: String, createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.accountID = accountID
        self.columns = columns
        self.sourceFile = sourceFile
        self.createdAt = createdAt
    }

    public var columnKeys: Set<ColumnKey> { Set(columns.map(\.key)) }
}

/// One row of a campaign.
public struct Prospect: Sendable, Hashable, Codable {
    public var id: Int64?
    public var campaignID: Int64
    /// The data row number in the imported file (1 = the first row after the header).
    public var row: Int
    public var email: EmailAddress
    /// Every column's value by key, as imported (email, first, … included).
    public var fields: [ColumnKey: String]
    public var selected: Bool
    public var variant: String?

    public init(id: Int64? = nil, campaignID: Int64, row: Int, email: EmailAddress, fields: [ColumnKey: String], selected: Bool, variant: String?) {
        self.id = id
        self.campaignID = campaignID
        self.row = row
        self.email = email
        self.fields = fields
        self.selected = selected
        self.variant = variant
    }
}

/// Which rows a round sends, which it drafts, and which it leaves alone (the seed's five modes).
public enum RoundMode: String, Sendable, CaseIterable, Codable {
    case sendAll = "send-all"
    case sendSelected = "send-selected"
    case draftAll = "draft-all"
    case draftSelected = "draft-selected"
    case draftSelectedSendRest = "draft-selected-send-rest"

    public enum Action: String, Sendable, Codable { case send, draft, skip }

    public func action(selected: Bool) -> Action {
        switch self {
        case .sendAll: .send
        case .sendSelected: selected ? .send : .skip
        case .draftAll: .draft
        case .draftSelected: selected ? .draft : .skip
        case .draftSelectedSendRest: selected ? .draft : .send
        }
    }
}

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

    public init(
        id: Int64? = nil, prospectID: Int64, round: Int, state: State, action: RoundMode.Action, messageID: String? = nil, threadKey: String? = nil,
        replyCode: Int? = nil, replyText: String? = nil, updatedAt: Date = Date(), sentAt: Date? = nil
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
    }
}
