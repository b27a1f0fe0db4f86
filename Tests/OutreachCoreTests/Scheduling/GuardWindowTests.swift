import Foundation
import OutreachCore
import Testing

struct GuardWindowTests {
    private let t0 = Date(timeIntervalSince1970: 1_736_496_000)  // 2025-01-10 08:00 UTC
    private func hours(_ h: Double) -> Date { t0.addingTimeInterval(h * 3600) }
    private let twoHours = 7200.0

    @Test("a job 1 h after another job projected to run 2 h is refused; the earliest start is that job's end + guard")
    func refusedWithEarliestTime() {
        let other = GuardWindow.Booking(jobID: 7, start: hours(0), projectedEnd: hours(2))
        let verdict = GuardWindow.check(start: hours(1), guardSeconds: twoHours, others: [other])
        #expect(verdict == .rejected(conflictingJobID: 7, earliestAccepted: hours(4)))
        #expect(GuardWindow.check(start: hours(4), guardSeconds: twoHours, others: [other]) == .accepted)
    }

    @Test("the guard also applies before another job's start, from its first moment")
    func beforeAnotherJob() {
        let other = GuardWindow.Booking(jobID: 3, start: hours(5), projectedEnd: hours(6))
        #expect(GuardWindow.check(start: hours(3), guardSeconds: twoHours, others: [other]) == .rejected(conflictingJobID: 3, earliestAccepted: hours(8)))
        #expect(GuardWindow.check(start: hours(2.99), guardSeconds: twoHours, others: [other]) == .accepted)
        #expect(GuardWindow.check(start: hours(8), guardSeconds: twoHours, others: [other]) == .accepted)
    }

    @Test("chained jobs are skipped together, so the earliest start is not refused in turn")
    func chainedBookings() {
        let first = GuardWindow.Booking(jobID: 1, start: hours(0), projectedEnd: hours(1))  // blocks -2 ..< 3
        let second = GuardWindow.Booking(jobID: 2, start: hours(4), projectedEnd: hours(5))  // blocks 2 ..< 7
        let third = GuardWindow.Booking(jobID: 3, start: hours(20), projectedEnd: hours(21))  // blocks 18 ..< 23
        let verdict = GuardWindow.check(start: hours(0.5), guardSeconds: twoHours, others: [third, second, first])
        #expect(verdict == .rejected(conflictingJobID: 1, earliestAccepted: hours(7)))
        if case .rejected(_, let earliest) = verdict {
            #expect(GuardWindow.check(start: earliest, guardSeconds: twoHours, others: [first, second, third]) == .accepted)
        }
    }

    @Test("a span inside a longer one does not cut the skip short")
    func nestedBookings() {
        let long = GuardWindow.Booking(jobID: 10, start: hours(0), projectedEnd: hours(10))  // blocks -2 ..< 12
        let short = GuardWindow.Booking(jobID: 11, start: hours(3), projectedEnd: hours(4))  // blocks 1 ..< 6
        #expect(GuardWindow.check(start: hours(3), guardSeconds: twoHours, others: [short, long]) == .rejected(conflictingJobID: 10, earliestAccepted: hours(12)))
    }

    @Test("when several jobs conflict, the one named is the one that starts first")
    func earliestConflictNamed() {
        let a = GuardWindow.Booking(jobID: 21, start: hours(1), projectedEnd: hours(1))
        let b = GuardWindow.Booking(jobID: 20, start: hours(2), projectedEnd: hours(2))
        #expect(GuardWindow.check(start: hours(1.5), guardSeconds: twoHours, others: [b, a]) == .rejected(conflictingJobID: 21, earliestAccepted: hours(4)))
    }

    @Test("guard 0 turns the rule off")
    func guardOff() {
        let other = GuardWindow.Booking(jobID: 1, start: hours(0), projectedEnd: hours(2))
        #expect(GuardWindow.check(start: hours(1), guardSeconds: 0, others: [other]) == .accepted)
        #expect(GuardWindow.check(start: hours(1), guardSeconds: twoHours, others: []) == .accepted)
    }

    @Test("a projected end before the start counts as the start")
    func endBeforeStart() {
        let other = GuardWindow.Booking(jobID: 1, start: hours(2), projectedEnd: hours(0))
        #expect(GuardWindow.check(start: hours(3), guardSeconds: twoHours, others: [other]) == .rejected(conflictingJobID: 1, earliestAccepted: hours(4)))
    }

    @Test("a job ends one mean pause per remaining row after it starts; an empty job ends where it starts")
    func projectedEnd() {
        #expect(GuardWindow.projectedEnd(start: t0, remainingRows: 240, meanPauseSeconds: 37.5) == hours(2.5))
        #expect(GuardWindow.projectedEnd(start: t0, remainingRows: 0, meanPauseSeconds: 37.5) == t0)
        #expect(GuardWindow.projectedEnd(start: t0, remainingRows: -3, meanPauseSeconds: 37.5) == t0)
    }
}
