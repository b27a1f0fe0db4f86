import Foundation
import OutreachCore

/// Jobs, their logs, and the per-account lease that makes "one running job per account" hold across processes.
///
/// Every rule that two processes could race on (the guard window at creation, claiming a job, taking the account's
/// lease) runs inside one write transaction of the store, so a PostgreSQL implementation can do the same with
/// `FOR UPDATE SKIP LOCKED` and a lease row.
public protocol JobStore: Sendable {
    /// Inserts a pending job after checking the guard window against the account's other pending and running jobs.
    /// - Throws: ``JobRuleError/guardWindow(conflict:earliest:guardSeconds:)`` with the earliest start that would be accepted.
    func create(_ job: Job, guardSeconds: Double, meanPauseSeconds: Double) async throws -> Job
    /// Moves a pending or paused job to a new start time, under the same guard-window rule.
    func reschedule(jobID: Int64, to start: Date, guardSeconds: Double, meanPauseSeconds: Double) async throws -> Job
    func job(id: Int64) async throws -> Job?
    /// Newest first. `states` nil means all; `before` pages back from a job id.
    func jobs(states: Set<Job.State>?, ownerID: Int64?, before: Int64?, limit: Int) async throws -> [Job]
    /// Adds lines to jobs' logs.
    /// - Parameter fence: a running job's lines carry its lease: once another worker holds the account, nothing is
    ///   written and ``JobRuleError/leaseLost(jobID:)`` is thrown. Nil for the operator's and the store's own lines.
    func append(_ events: [JobEvent], fence: LeaseFence?) async throws
    /// The job's log in order, after the event with id `afterID`.
    func events(jobID: Int64, afterID: Int64, limit: Int) async throws -> [JobEvent]

    /// Takes the next due job and its account's lease, in one transaction: first a job whose worker died (its
    /// lease expired or its process is gone), then due pending jobs in order. On the way, pending jobs whose
    /// start passed more than `graceSeconds` ago become `missed`, and a due job whose account is busy with
    /// another live job fails at once with a message naming that job.
    /// - Parameters:
    ///   - only: claim only this job (or an interrupted job of its account, which must finish first).
    ///   - holderAlive: whether the process named by a lease's holder still runs (false only when it is known dead).
    func claim(
        holder: String, now: Date, leaseSeconds: Double, graceSeconds: Double, only: Int64?, holderAlive: @Sendable (String) -> Bool
    ) async throws -> JobClaim?
    /// Extends the lease. False when it is no longer ours: the job must stop sending at once.
    func renew(_ claim: JobClaim, now: Date, leaseSeconds: Double) async throws -> Bool
    /// Saves progress; returns what the operator asked for meanwhile (pause, cancel).
    /// - Throws: ``JobRuleError/leaseLost(jobID:)`` when another worker has taken the job over.
    func progress(_ claim: JobClaim, counters: Job.Counters, note: String?) async throws -> Job.Control?
    /// Ends a run: the job's new state (completed, failed, cancelled, paused, or pending again at `runAt`) and the
    /// lease released, in one transaction.
    func finish(_ claim: JobClaim, state: Job.State, counters: Job.Counters, note: String?, runAt: Date?, now: Date) async throws

    /// Pause or cancel: at once for a job that is not running, by request (acted on between two rows) for one that is.
    func request(_ control: Job.Control, jobID: Int64, now: Date) async throws -> Job
    /// A paused job goes back to pending, due now (or at its scheduled time if that is later).
    func resume(jobID: Int64, now: Date) async throws -> Job
    /// Cancels the jobs a user may no longer run (a revoked grant, a removed user): pending and paused ones at once,
    /// a running one by request (it stops before its next message).
    /// - Parameter accountID: only the jobs that send from this account; nil for all of the user's jobs.
    /// - Returns: how many jobs were cancelled or asked to cancel.
    func cancelJobs(ownerID: Int64, accountID: Int64?, reason: String, now: Date) async throws -> Int

    /// Adjusts the counters of a job that is not running (after the operator settled a held row).
    func adjustCounters(jobID: Int64, _ change: @Sendable (inout Job.Counters) -> Void) async throws
    /// Puts an ended or paused job back in the queue, due now: after the operator decided to resend a held row.
    func reopen(jobID: Int64, now: Date) async throws -> Job

    /// Records that a worker process is alive; `outreach send` warns when none is.
    func heartbeat(holder: String, now: Date) async throws
    func workerGone(holder: String) async throws
    /// Workers seen since `since`.
    func liveWorkers(since: Date) async throws -> [String]
}

extension JobStore {
    public func append(_ events: [JobEvent]) async throws { try await append(events, fence: nil) }

    public func jobs(states: Set<Job.State>?, ownerID: Int64?, limit: Int) async throws -> [Job] {
        try await jobs(states: states, ownerID: ownerID, before: nil, limit: limit)
    }
}

/// What a worker's ledger writes carry: the account lease (and its fencing token) it believes it holds for a job.
/// The store checks it in the same transaction as the write, so a worker whose lease was taken over — stalled, then
/// woken — cannot write one more row, whatever it still believes.
public struct LeaseFence: Sendable, Hashable {
    public let accountID: Int64
    public let token: Int64
    public let jobID: Int64

    public init(accountID: Int64, token: Int64, jobID: Int64) {
        self.accountID = accountID
        self.token = token
        self.jobID = jobID
    }
}

/// A job taken by a worker, with the fencing token of the account lease it runs under.
public struct JobClaim: Sendable {
    public var job: Job
    public let token: Int64
    public let holder: String
    /// The job had been running under a worker that died: its rows in flight must be reconciled first.
    public let interrupted: Bool

    /// The fence every ledger write of this run carries.
    public var fence: LeaseFence { LeaseFence(accountID: job.accountID, token: token, jobID: job.id ?? 0) }

    public init(job: Job, token: Int64, holder: String, interrupted: Bool) {
        self.job = job
        self.token = token
        self.holder = holder
        self.interrupted = interrupted
    }
}

/// A job rule that refused an operation, worded for the operator.
public enum JobRuleError: Error, Equatable, CustomStringConvertible {
    case guardWindow(conflict: Job, earliest: Date, guardSeconds: Double)
    case jobNotFound(id: Int64)
    case notAllowed(jobID: Int64, state: Job.State, action: String)
    case leaseLost(jobID: Int64)
    /// The round needs the account's mailbox (drafts, a follow-up's sync) and the account is SMTP-only.
    case needsIMAP(MissingIMAP)

    public var description: String {
        switch self {
        case .guardWindow(let conflict, let earliest, let guardSeconds):
            "job \(conflict.label) of the same account is \(conflict.state == .running ? "running" : "scheduled for \(JobTime.format(conflict.runAt))"); "
                + "jobs of one account must start at least \(DurationText.format(seconds: guardSeconds)) apart from another job's start and projected end "
                + "(the guard window). The earliest start accepted is \(JobTime.format(earliest)): use --at \(JobTime.argument(earliest))"
        case .jobNotFound(let id): "no job #\(id); `outreach jobs --all` lists them"
        case .notAllowed(let id, let state, let action): "job #\(id) is \(state.rawValue); it cannot be \(action)"
        case .needsIMAP(let problem): problem.description
        case .leaseLost(let id): "job #\(id) was taken over by another worker (this worker's lease on the account expired); stopping without sending more"
        }
    }
}
