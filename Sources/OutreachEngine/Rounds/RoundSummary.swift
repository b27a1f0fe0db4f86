import OutreachCore

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
