import OutreachCore

/// One line of a round's log: what happened to one row. The CLI prints these; the job log (later) stores them.
public struct RoundEvent: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case sent = "SENT"
        case drafted = "DRAFTED"
        case skipped = "SKIPPED"
        case held = "HELD"
        case error = "ERROR"
        case wouldSend = "WOULD SEND"
        case wouldDraft = "WOULD DRAFT"
    }

    public let kind: Kind
    public let row: Int
    public let email: String
    public let detail: String

    public var description: String { "\(kind.rawValue) row \(row) \(email)\(detail.isEmpty ? "" : ": \(detail)")" }
}
