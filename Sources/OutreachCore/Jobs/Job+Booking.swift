import Foundation

extension GuardWindow {
    /// The place pending and running jobs hold in their account's schedule: a pending job from its start time, a
    /// running one from when it started, each until its remaining rows at the account's mean pause are through.
    public static func bookings(of jobs: [Job], meanPauseSeconds: Double, now: Date = Date()) -> [Booking] {
        jobs.filter(\.state.isBooked).map { job in
            let begin = job.state == .running ? (job.startedAt ?? job.runAt) : job.runAt
            let remainingFrom = job.state == .running ? max(now, begin) : begin
            return Booking(
                jobID: job.id ?? 0, start: begin,
                projectedEnd: projectedEnd(start: remainingFrom, remainingRows: job.counters.remaining, meanPauseSeconds: meanPauseSeconds)
            )
        }
    }
}
