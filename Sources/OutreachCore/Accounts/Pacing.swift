import Foundation

/// How fast an account sends: a fixed pause between messages plus a random extra, so a round does not look like a
/// machine to the receiving side's filters. Zero is allowed (tests, warmed-up internal relays). On top of that, at
/// most so many messages in any 24 hours, and optionally only inside a sending window.
public struct Pacing: Sendable, Hashable, Codable {
    public var delaySeconds: Double
    public var jitterSeconds: Double
    /// Messages per rolling 24 hours; nil means the provider's default (``DailyCap/default(smtpHost:)``).
    public var dailyCap: Int?
    /// When sending is allowed at all; nil means any time.
    public var window: SendingWindow?

    public static let `default` = Pacing(delaySeconds: 30, jitterSeconds: 15)

    public init(delaySeconds: Double, jitterSeconds: Double, dailyCap: Int? = nil, window: SendingWindow? = nil) {
        self.delaySeconds = max(0, delaySeconds)
        self.jitterSeconds = max(0, jitterSeconds)
        self.dailyCap = dailyCap.map { max(0, $0) }
        self.window = window
    }

    /// The pause before the next message: delay + uniform(0…jitter).
    public func nextPause(using generator: inout some RandomNumberGenerator) -> Double {
        delaySeconds + (jitterSeconds > 0 ? Double.random(in: 0...jitterSeconds, using: &generator) : 0)
    }

    /// Mean pause, for projecting when a round will end.
    public var meanPause: Double { delaySeconds + jitterSeconds / 2 }
}
