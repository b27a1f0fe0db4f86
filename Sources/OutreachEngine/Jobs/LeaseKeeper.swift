import Foundation
import OutreachStore

/// Keeps a job's account lease alive while the job runs, and knows — by the monotonic clock, without asking the
/// database — whether this worker may still hand a message to the server. A worker that cannot renew (database
/// unreachable, process stalled) stops sending before its lease can have expired for anyone else.
final class LeaseKeeper: Sendable {
    private let claim: JobClaim
    private let jobs: any JobStore
    private let leaseSeconds: Double
    /// Until when a send may start; renewed every third of the lease, with a sixth kept as a safety margin.
    private let deadline: LockedBox<ContinuousClock.Instant>
    private let lost = LockedBox(false)

    init(claim: JobClaim, jobs: any JobStore, leaseSeconds: Double) {
        self.claim = claim
        self.jobs = jobs
        self.leaseSeconds = leaseSeconds
        self.deadline = LockedBox(ContinuousClock.now + .seconds(leaseSeconds * 5 / 6))
    }

    /// True while the lease is certainly ours.
    var holds: Bool { !lost.get() && ContinuousClock.now < deadline.get() }
    var wasLost: Bool { lost.get() }

    /// Renews until cancelled or until the lease turns out to be someone else's.
    func keepRenewing() async {
        while !Task.isCancelled, !lost.get() {
            try? await Task.sleep(for: .seconds(leaseSeconds / 3))
            if Task.isCancelled { return }
            let asked = ContinuousClock.now
            do {
                if try await jobs.renew(claim, now: Date(), leaseSeconds: leaseSeconds) {
                    deadline.set(asked + .seconds(leaseSeconds * 5 / 6))
                } else {
                    lost.set(true)
                }
            } catch {
                // A busy or unreachable database: try again; the deadline stops sends meanwhile if this goes on.
            }
        }
    }
}
