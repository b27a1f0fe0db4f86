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

/// The counters of a finished (or stopped) round.
public struct RoundSummary: Sendable, Equatable {
    public var total = 0
    public var sent = 0
    public var drafted = 0
    public var skipped = 0
    public var held = 0
    public var failed = 0
    /// Rows this round had already sent or drafted in an earlier run: left alone.
    public var alreadyDone = 0
    /// Set when the round stopped before its end (authentication failure, server unreachable…).
    public var stoppedBecause: String?

    public init() {}

    public var line: String {
        var parts = ["\(total) rows", "\(sent) sent", "\(drafted) drafted", "\(skipped) skipped", "\(held) held", "\(failed) failed"]
        if alreadyDone > 0 { parts.append("\(alreadyDone) already done earlier") }
        return parts.joined(separator: ", ")
    }
}

/// What rendering produced for one prospect. The runner does not parse templates; it is handed this.
public enum RenderedRow: Sendable {
    case message(subject: String, text: String, html: String)
    /// Placeholders without a value and without a fallback.
    case needsData(missing: [ColumnKey])
    /// A value would have put a line break into a header.
    case unsafe(reason: String)
}
