/// A column that Outreach's own master export appends for each round that ran — `r1_message_id`, `r1_thread_key`,
/// `r1_status`, `r1_sent_at`, then `r2_…` — so that importing an export again gives back the same campaign instead
/// of treating the metadata as prospect fields.
public struct RoundMetadataColumn: Hashable, Sendable, CustomStringConvertible {
    public enum Field: String, Sendable, CaseIterable {
        case messageID = "message_id"
        case threadKey = "thread_key"
        case status
        case sentAt = "sent_at"
    }

    /// The round, from 1.
    public let round: Int
    public let field: Field

    public init(round: Int, field: Field) {
        precondition(round >= 1, "rounds count from 1")
        self.round = round
        self.field = field
    }

    /// Round 1's columns in the original app's master file: `message_id`, `thread_id` (a Gmail thread id or a
    /// Message-ID), `status`, `sent_at`.
    init?(legacyKey key: ColumnKey) {
        switch key.rawValue {
        case "message_id": self.init(round: 1, field: .messageID)
        case "thread_id", "thread_key": self.init(round: 1, field: .threadKey)
        case "status": self.init(round: 1, field: .status)
        case "sent_at": self.init(round: 1, field: .sentAt)
        default: return nil
        }
    }

    /// Recognizes a normalized column key such as `r2_thread_key` ("R2 Thread Key" and `r2ThreadKey` normalize to it).
    public init?(key: ColumnKey) {
        let text = key.rawValue.utf8
        guard text.first == UInt8(ascii: "r"), let underscore = text.firstIndex(of: UInt8(ascii: "_")) else { return nil }
        let digits = text[text.index(after: text.startIndex)..<underscore]
        guard !digits.isEmpty, digits.count <= 6, digits.first != UInt8(ascii: "0"),
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let round = Int(String(decoding: digits, as: UTF8.self)),
            let field = Field(rawValue: String(decoding: text[text.index(after: underscore)...], as: UTF8.self))
        else { return nil }
        self.init(round: round, field: field)
    }

    /// The normalized key, as the export writes it in the header: `r1_message_id`.
    public var key: ColumnKey { ColumnKey(normalizedValue: "r\(round)_\(field.rawValue)") }
    public var description: String { key.rawValue }
}
