import Foundation

/// How long to wait before trying a row again after a temporary failure: doubling from `baseSeconds`, never more
/// than `maxSeconds`, and giving up after `maxAttempts` attempts. The jitter keeps rows that failed together (a
/// server hiccup) from all coming back in the same second.
public struct RetryBackoff: Sendable, Hashable {
    public var baseSeconds: Double
    public var maxSeconds: Double
    public var maxAttempts: Int

    /// For 4xx replies: 1, 2, 4, 8 and 16 minutes, then give up after the sixth attempt. Much shorter than an
    /// MTA's days of retrying (RFC 5321 §4.5.4.1), because a row that keeps failing holds up a round an operator
    /// is watching; account-wide trouble pauses the job instead (``SMTPOutcomePolicy``).
    public static let smtpTemporary = RetryBackoff(baseSeconds: 60, maxSeconds: 3600, maxAttempts: 6)

    public init(baseSeconds: Double, maxSeconds: Double, maxAttempts: Int) {
        self.baseSeconds = max(0, baseSeconds)
        self.maxSeconds = max(0, maxSeconds)
        self.maxAttempts = max(0, maxAttempts)
    }

    /// The pause after attempt number `attempt` (1 for the first try) failed, or nil when that was the last one
    /// allowed. base·2^(attempt−1) ± 20 %, and never above `maxSeconds` even with the jitter, so the cap is a
    /// promise an operator can rely on.
    public func delay(afterAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Double? {
        guard attempt < maxAttempts else { return nil }
        let exponent = Double(max(1, attempt) - 1)
        let nominal = min(maxSeconds, baseSeconds * pow(2, exponent))
        let jittered = nominal * Double.random(in: 0.8...1.2, using: &generator)
        return min(maxSeconds, jittered)
    }
}
