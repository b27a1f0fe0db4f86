import Foundation

/// Keeps an account's jobs apart: a job may not start within `guard` seconds of another pending or running job of
/// the same account, measured from that job's start and from its projected end. Two rounds back to back from one
/// mailbox look like a burst to the receiving side, and a job that runs long would otherwise crowd the next one.
///
/// A guard of 0 turns the rule off. Jobs then still never send at the same time — the account lock serialises
/// them at run time — but they may be booked as close together as the operator likes.
public enum GuardWindow {
    /// Another job's place in the schedule. `projectedEnd` before `start` is read as `start`.
    public struct Booking: Sendable, Hashable {
        public var jobID: Int64
        public var start: Date
        public var projectedEnd: Date

        public init(jobID: Int64, start: Date, projectedEnd: Date) {
            self.jobID = jobID
            self.start = start
            self.projectedEnd = projectedEnd
        }
    }

    public enum Verdict: Sendable, Equatable {
        case accepted
        /// `earliestAccepted` is the first moment at or after the requested start that clears every other job,
        /// so an operator can book it without a second refusal.
        case rejected(conflictingJobID: Int64, earliestAccepted: Date)
    }

    /// `others` are the account's other pending and running jobs; leave out the job being rescheduled, or it
    /// would conflict with itself.
    public static func check(start: Date, guardSeconds: Double, others: [Booking]) -> Verdict {
        guard guardSeconds > 0 else { return .accepted }
        let blocked = others.map { other in
            (booking: other, from: other.start.addingTimeInterval(-guardSeconds),
             until: max(other.projectedEnd, other.start).addingTimeInterval(guardSeconds))
        }
        .sorted { ($0.from, $0.booking.jobID) < ($1.from, $1.booking.jobID) }

        guard let conflict = blocked.first(where: { $0.from <= start && start < $0.until }) else { return .accepted }

        // Blocked spans may overlap or chain (one ends inside the next), so skip past each in turn. Sorted by where
        // they begin, one pass suffices: the candidate only moves forward, spans already passed end at or before
        // it, and once a span begins after it so do all later ones.
        var earliest = start
        for span in blocked where span.from <= earliest && earliest < span.until {
            earliest = span.until
        }
        return .rejected(conflictingJobID: conflict.booking.jobID, earliestAccepted: earliest)
    }

    /// When a job is expected to finish: one mean pause per remaining row. A job with nothing left ends where it
    /// starts.
    public static func projectedEnd(start: Date, remainingRows: Int, meanPauseSeconds: Double) -> Date {
        start.addingTimeInterval(Double(max(0, remainingRows)) * max(0, meanPauseSeconds))
    }
}
