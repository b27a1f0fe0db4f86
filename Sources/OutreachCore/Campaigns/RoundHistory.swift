import Foundation

/// A prospect's history as a master file carries it — an Outreach export's `r1_message_id`, `r1_status`, … columns,
/// or the original app's `message_id`, `thread_id` and `status` — turned back into ledger rows, so an installation
/// that imports the file knows what each round already did and follows up in the same threads.
public enum RoundHistory {
    public struct Entry: Sendable, Equatable {
        public let round: Int
        public let state: Delivery.State
        public let messageID: String?
        public let threadKey: String?
        public let gmailThreadID: String?
        public let sentAt: Date?

        /// The ledger row, for the prospect with this id.
        public func delivery(prospectID: Int64, now: Date = Date()) -> Delivery {
            let action: RoundMode.Action =
                switch state {
                case .drafted: .draft
                case .skipped: .skip
                default: .send
                }
            return Delivery(
                prospectID: prospectID, round: round, state: state, action: action, messageID: messageID, threadKey: threadKey,
                replyText: state == .unknown ? "imported from a master file without a status Outreach knows; check the mailbox's Sent folder" : nil,
                updatedAt: now, sentAt: sentAt, gmailThreadID: gmailThreadID
            )
        }
    }

    /// A value of the history that could not be read; the row is imported, that round's history is not (or as
    /// `unknown` when a Message-ID says something happened).
    public struct Problem: Sendable, Equatable {
        public let column: RoundMetadataColumn
        public let value: String
    }

    /// The rounds a row's metadata describes, in round order, and what could not be read. A round with neither a
    /// status nor a Message-ID, or whose status says nothing happened yet (`planned`, `pending`), gives no row.
    public static func entries(_ metadata: [RoundMetadataColumn: String]) -> (entries: [Entry], problems: [Problem]) {
        guard !metadata.isEmpty else { return ([], []) }
        var entries: [Entry] = []
        var problems: [Problem] = []
        for round in Set(metadata.keys.map(\.round)).sorted() {
            func value(_ field: RoundMetadataColumn.Field) -> String? {
                metadata[RoundMetadataColumn(round: round, field: field)].flatMap { $0.isEmpty ? nil : $0 }
            }
            let messageID = value(.messageID).map(unbracketed)
            var state: Delivery.State?
            if let status = value(.status) {
                switch self.state(status) {
                case .some(.some(let known)): state = known
                case .some(.none): continue  // planned: nothing happened
                case .none:
                    problems.append(Problem(column: RoundMetadataColumn(round: round, field: .status), value: status))
                    state = messageID == nil ? nil : .unknown
                }
            } else if messageID != nil {
                state = .unknown
            }
            guard let state else { continue }
            var sentAt: Date?
            if let text = value(.sentAt) {
                sentAt = date(text)
                if sentAt == nil { problems.append(Problem(column: RoundMetadataColumn(round: round, field: .sentAt), value: text)) }
            }
            let thread = value(.threadKey).map(unbracketed)
            // The original app's thread_id is Gmail's thread id; an Outreach export's thread key is a Message-ID.
            let threadIsMessageID = thread?.contains("@") ?? false
            entries.append(Entry(
                round: round, state: state, messageID: messageID,
                threadKey: threadIsMessageID ? thread : (round == 1 ? messageID : nil), gmailThreadID: threadIsMessageID ? nil : thread,
                sentAt: sentAt
            ))
        }
        return (entries, problems)
    }

    /// The ledger state a status names: Outreach's own words and the original app's (SENT, DRAFTED, SKIPPED, ERROR).
    /// `.some(nil)` for a status that says nothing happened; nil for one that is not known.
    static func state(_ status: String) -> Delivery.State?? {
        let word = status.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_")
        if let state = Delivery.State(rawValue: word) { return state == .planned ? .some(nil) : state == .sending ? .unknown : state }
        switch word {
        case "draft", "drafts": return .drafted
        case "skip", "skipped_replied", "replied": return .skipped
        case "error", "failure", "bounced": return .failed
        case "pending", "queued", "scheduled", "": return .some(nil)
        default: return nil
        }
    }

    static func unbracketed(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("<") && text.hasSuffix(">") { text = String(text.dropFirst().dropLast()) }
        return text
    }

    /// ISO 8601 as Outreach writes it, with or without fractions or a zone (the original app wrote Python's
    /// `isoformat()`, local time without a zone: read as UTC), or `YYYY-MM-DD HH:MM:SS`.
    static func date(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed) { return date }
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss.SSSSSS", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }
}
