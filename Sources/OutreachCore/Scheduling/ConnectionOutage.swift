import Foundation

/// A job's server outage: the server could not be reached, or the connection broke before a message was handed over.
/// Such trouble usually passes by itself (a relay restart, a network blip), so the job tries again with growing,
/// jittered pauses and gives up — pausing for the operator — only when the outage has lasted `window` seconds.
/// Any message that goes out in between ends the outage.
public struct ConnectionOutage: Sendable {
    public let window: Double
    public let backoff: RetryBackoff
    /// Attempts that failed in this outage.
    public private(set) var attempts = 0
    /// When this outage began; nil while there is none.
    public private(set) var since: Date?
    /// Messages out when the outage began (or last ended): more than this means the server answered again.
    public private(set) var progressMark = 0

    public init(window: Double, backoff: RetryBackoff) {
        self.window = window
        self.backoff = backoff
    }

    /// The server took messages again: the next failure starts a new outage.
    public mutating func recovered(progress: Int) {
        progressMark = progress
        attempts = 0
        since = nil
    }

    /// When the outage began plus the window: the job stops retrying then.
    public var givesUpAt: Date { (since ?? Date()).addingTimeInterval(window) }

    /// Records one more failed attempt at `now`.
    /// - Returns: when to try again (never past ``givesUpAt``), or nil when the window has run out.
    public mutating func nextAttempt(now: Date) -> Date? {
        var generator = SystemRandomNumberGenerator()
        return nextAttempt(now: now, using: &generator)
    }

    public mutating func nextAttempt(now: Date, using generator: inout some RandomNumberGenerator) -> Date? {
        if since == nil { since = now }
        attempts += 1
        let end = givesUpAt
        guard now < end, let delay = backoff.delay(afterAttempt: attempts, using: &generator) else { return nil }
        return min(now.addingTimeInterval(delay), end)
    }
}
