import Foundation
import OutreachCore
import Testing

struct ConnectionOutageTests {
    @Test("an outage is retried with growing pauses, never past its window, and gives up when the window has run out")
    func retriesWithinTheWindow() throws {
        var generator = RetryBackoffTests.SeededGenerator(state: 3)
        var outage = ConnectionOutage(window: 900, backoff: RetryBackoff(baseSeconds: 2, maxSeconds: 60, maxAttempts: .max))
        let start = Date(timeIntervalSince1970: 1_000_000)
        var now = start
        var pauses: [Double] = []
        while let next = outage.nextAttempt(now: now, using: &generator) {
            #expect(next > now && next <= start.addingTimeInterval(900))
            pauses.append(next.timeIntervalSince(now))
            now = next
        }
        #expect(outage.givesUpAt == start.addingTimeInterval(900))
        #expect(now == start.addingTimeInterval(900), "the last attempt is at the end of the window")
        #expect(pauses.first! >= 1.6 && pauses.first! <= 2.4)
        #expect(pauses.dropLast().allSatisfy { $0 <= 60 }, "\(pauses)")
        #expect(pauses.count > 15 && pauses.count < 40, "a 15-minute outage is tried every minute or so: \(pauses.count)")
    }

    @Test("a message that goes out ends the outage: the next failure starts a new window")
    func recoveryStartsAnewWindow() throws {
        var generator = RetryBackoffTests.SeededGenerator(state: 9)
        var outage = ConnectionOutage(window: 60, backoff: RetryBackoff(baseSeconds: 2, maxSeconds: 60, maxAttempts: .max))
        let start = Date(timeIntervalSince1970: 2_000_000)
        _ = outage.nextAttempt(now: start, using: &generator)
        _ = outage.nextAttempt(now: start.addingTimeInterval(50), using: &generator)
        #expect(outage.nextAttempt(now: start.addingTimeInterval(61), using: &generator) == nil)
        outage.recovered(progress: 5)
        #expect(outage.attempts == 0 && outage.since == nil && outage.progressMark == 5)
        let later = start.addingTimeInterval(3600)
        let next = try #require(outage.nextAttempt(now: later, using: &generator))
        #expect(next.timeIntervalSince(later) < 3 && outage.givesUpAt == later.addingTimeInterval(60))
    }
}
