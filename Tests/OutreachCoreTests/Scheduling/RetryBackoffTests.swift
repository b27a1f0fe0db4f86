import OutreachCore
import Testing

struct RetryBackoffTests {
    /// SplitMix64: the same sequence every run, so a failure can be replayed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("SMTP retries double from a minute within ±20 %, and give up after the sixth attempt")
    func smtpTemporarySchedule() throws {
        var generator = SeededGenerator(state: 42)
        let backoff = RetryBackoff.smtpTemporary
        for (attempt, nominal) in [(1, 60.0), (2, 120), (3, 240), (4, 480), (5, 960)] {
            for _ in 0..<200 {
                let delay = try #require(backoff.delay(afterAttempt: attempt, using: &generator))
                #expect(delay >= nominal * 0.8 && delay <= nominal * 1.2, "attempt \(attempt): \(delay)")
            }
        }
        #expect(backoff.delay(afterAttempt: 6, using: &generator) == nil)
        #expect(backoff.delay(afterAttempt: 100, using: &generator) == nil)
    }

    @Test("the delay never exceeds the maximum, jitter included")
    func bounded() throws {
        var generator = SeededGenerator(state: 7)
        let backoff = RetryBackoff(baseSeconds: 60, maxSeconds: 600, maxAttempts: 50)
        var seen: [Double] = []
        for attempt in 1..<50 {
            let delay = try #require(backoff.delay(afterAttempt: attempt, using: &generator))
            #expect(delay <= 600 && delay > 0)
            seen.append(delay)
        }
        #expect(seen.suffix(40).allSatisfy { $0 >= 480 })
    }

    @Test("the jitter spreads retries that failed together")
    func jitterSpreads() throws {
        var generator = SeededGenerator(state: 1)
        let delays = (0..<50).compactMap { _ in RetryBackoff.smtpTemporary.delay(afterAttempt: 1, using: &generator) }
        #expect(Set(delays).count > 40)
        #expect(delays.min()! < 54 && delays.max()! > 66)
    }

    @Test("an attempt number below 1 is treated as the first attempt")
    func attemptZero() throws {
        var generator = SeededGenerator(state: 3)
        let delay = try #require(RetryBackoff.smtpTemporary.delay(afterAttempt: 0, using: &generator))
        #expect((48...72).contains(delay))
    }
}
