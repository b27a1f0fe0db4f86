import Foundation
import Logging
import OutreachCore
import OutreachMail
import OutreachStore
import OutreachTransport

/// Runs one claimed job: the round's rows through ``RoundRunner``, under the account's lease, with the daily cap,
/// the sending window, retries of "try again later" rows, the operator's pause and cancel, and a log line per row.
///
/// Everything it decides is in the ledger and the job row before and after each message, so a worker killed at any
/// moment leaves a job that the next worker continues without sending a second copy.
public struct JobRunner: Sendable {
    let campaigns: any CampaignStore
    let ledger: any DeliveryLedger
    let index: any ThreadIndex
    let jobs: any JobStore
    let users: any UserStore
    let registry: AccountRegistry
    let settings: WorkerSettings
    let logger: Logger

    public init(
        campaigns: any CampaignStore, ledger: any DeliveryLedger, index: any ThreadIndex, jobs: any JobStore, users: any UserStore,
        registry: AccountRegistry, settings: WorkerSettings, logger: Logger
    ) {
        self.campaigns = campaigns
        self.ledger = ledger
        self.index = index
        self.jobs = jobs
        self.users = users
        self.registry = registry
        self.settings = settings
        self.logger = logger
    }

    /// How a run ended for this worker.
    public enum Ending: Sendable, Equatable {
        case finished(Job.State)
        /// Another worker has the job now; this one wrote nothing more.
        case leaseLost
        /// The worker is shutting down: the job goes back to pending and continues with the next worker.
        case interrupted
        /// The database could not be written, not even to say how the job ended. The job stays `running` until its
        /// lease expires; then a worker continues it (the ledger says what was sent). The text says why and what to do.
        case storeUnavailable(String)
    }

    /// How ``execute`` left the job.
    struct Outcome {
        var state: Job.State
        var counters: Job.Counters
        var note: String?
        var runAt: Date? = nil

        /// The lease went: nothing more may be written for this job.
        static func leaseLost(_ counters: Job.Counters) -> Outcome { Outcome(state: .running, counters: counters) }
    }

    /// Runs the job until it ends, pauses, or this worker stops.
    /// - Parameter onEvent: every log line as it is written (the CLI's `--wait` prints them).
    @discardableResult
    public func run(_ claim: JobClaim, onEvent: @escaping @Sendable (JobEvent) -> Void = { _ in }) async -> Ending {
        let keeper = LeaseKeeper(claim: claim, jobs: jobs, leaseSeconds: settings.leaseSeconds)
        let renewal = Task { await keeper.keepRenewing() }
        defer { renewal.cancel() }
        var logger = logger
        logger[metadataKey: "job"] = "\(claim.job.label)"
        logger[metadataKey: "round"] = "\(claim.job.round)"
        logger[metadataKey: "account.id"] = "\(claim.job.accountID)"
        let log = JobLog(jobID: claim.job.id ?? 0, jobs: jobs, fence: claim.fence, logger: logger, onEvent: onEvent)
        logger.info(
            claim.interrupted ? "account lock acquired: the worker that ran this job stopped, its lease expired; continuing the job" : "account lock acquired; job started",
            metadata: ["lease.holder": "\(claim.holder)", "lease.token": "\(claim.token)"]
        )
        do {
            let outcome = try await execute(claim, keeper: keeper, log: log, logger: logger)
            try await log.flush()
            if outcome.state == .running || keeper.wasLost {
                logger.warning("account lock expired: another worker took the job over; this worker writes nothing more for it")
                return .leaseLost
            }
            try await jobs.finish(claim, state: outcome.state, counters: outcome.counters, note: outcome.note, runAt: outcome.runAt, now: Date())
            let ending = "\(outcome.state.rawValue)\(outcome.note.map { ": \($0)" } ?? "")"
            logger.info("job \(ending); account lock released", metadata: ["job.state": "\(outcome.state.rawValue)"])
            onEvent(JobEvent(jobID: claim.job.id ?? 0, kind: outcome.state == .failed ? .error : .info, detail: ending))
            return .finished(outcome.state)
        } catch is CancellationError {
            // This task is cancelled, and the store may refuse work for a cancelled task: write from a detached one.
            let jobs = jobs
            let counters = log.counters
            await Task.detached {
                try? await log.flush()
                try? await jobs.finish(
                    claim, state: .pending, counters: counters, note: "interrupted: its worker stopped; the next worker continues it", runAt: Date(), now: Date()
                )
            }.value
            return .interrupted
        } catch let error as JobRuleError where error == .leaseLost(jobID: claim.job.id ?? 0) {
            try? await log.flush()
            return .leaseLost
        } catch {
            if let fault = StorageFault(error) {
                return await stopAfter(fault, claim: claim, log: log, logger: logger, onEvent: onEvent)
            }
            try? await log.flush()
            let note = "\(error)"
            logger.error("job failed: \(note)")
            do {
                try await jobs.finish(claim, state: .failed, counters: log.counters, note: note, runAt: nil, now: Date())
            } catch {
                if let fault = StorageFault(error) { return await stopAfter(fault, claim: claim, log: log, logger: logger, onEvent: onEvent) }
                return .leaseLost
            }
            onEvent(JobEvent(jobID: claim.job.id ?? 0, kind: .error, detail: "failed: \(note)"))
            return .finished(.failed)
        }
    }

    /// A write to the database failed mid-round. The round stops where it is — the ledger already holds every
    /// message's state up to its final dot, so nothing is lost or sent twice — and the job is paused with the reason,
    /// written as soon as the database takes writes again (tried with backoff for `settings.storeRetrySeconds`).
    private func stopAfter(
        _ fault: StorageFault, claim: JobClaim, log: JobLog, logger: Logger, onEvent: @escaping @Sendable (JobEvent) -> Void
    ) async -> Ending {
        let jobID = claim.job.id ?? 0
        let note = "stopped: \(fault.description). Nothing was sent twice. Resume with `outreach job resume \(jobID)` once the database can be written"
        logger.error("job stopped by a storage error: \(fault)", metadata: ["store.detail": "\(fault.detail ?? "")"])
        // Said at once, not through the database: `--wait` and the worker's log show it while the store is down.
        onEvent(JobEvent(jobID: jobID, kind: .error, detail: "\(fault.description); the round stops here and is paused once the database can be written"))
        let started = ContinuousClock.now
        var attempt = 0
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            do {
                try await log.flush()
                try await jobs.finish(claim, state: .paused, counters: log.counters, note: note, runAt: nil, now: Date())
                onEvent(JobEvent(jobID: jobID, kind: .info, detail: "paused: \(note)"))
                return .finished(.paused)
            } catch let error as JobRuleError where error == .leaseLost(jobID: jobID) {
                return .leaseLost  // another worker took the job over once the store came back
            } catch {
                guard StorageFault(error) != nil else { return .leaseLost }
            }
            attempt += 1
            let waited = ContinuousClock.now - started
            guard waited < .seconds(settings.storeRetrySeconds),
                let delay = Self.storeBackoff.delay(afterAttempt: attempt, using: &generator)
            else { break }
            try? await Task.sleep(for: .seconds(min(delay, settings.storeRetrySeconds)))
        }
        return .storeUnavailable(
            "job #\(jobID) stopped: \(fault.description). Nothing was sent twice: the ledger recorded each message before it went out. "
                + "Once the database can be written again, `outreach worker` continues the job"
        )
    }

    /// Writes after a storage error: 1 s doubling to 30 s, for as long as `WorkerSettings.storeRetrySeconds` allows.
    static let storeBackoff = RetryBackoff(baseSeconds: 1, maxSeconds: 30, maxAttempts: .max)

    private func execute(_ claim: JobClaim, keeper: LeaseKeeper, log: JobLog, logger: Logger) async throws -> Outcome {
        let job = claim.job
        guard let jobID = job.id else { throw JobRuleError.jobNotFound(id: 0) }
        guard let campaign = try await campaigns.campaign(id: job.campaignID) else {
            return Outcome(state: .failed, counters: job.counters, note: "its campaign was deleted")
        }
        guard let account = try await registry.account(id: job.accountID) else {
            return Outcome(state: .failed, counters: job.counters, note: "its account was removed")
        }
        if let reason = try await ownerMayNotSend(job, from: account) {
            return Outcome(state: .failed, counters: job.counters, note: reason)
        }
        if let reason = account.oauth?.needsReconnect {
            // Every row would fail the same way: wait for the owner to connect the account again.
            return Outcome(state: .paused, counters: job.counters, note: reason)
        }
        let template: EmailTemplate
        do { template = try EmailTemplate(parsing: job.spec.template) } catch {
            return Outcome(state: .failed, counters: job.counters, note: "the template \(job.spec.templateName) cannot be read: \(error)")
        }
        let render = RenderedRow.renderer(template)
        let expected = try await JobScheduler.remainingRows(
            campaign: campaign, round: job.round, variant: job.spec.variant, excludingJob: job.id, campaigns: campaigns, ledger: ledger
        )

        if claim.interrupted { try await restoreLostLines(job: job, campaign: campaign, log: log) }

        let mode = job.spec.mode
        let plan: @Sendable (Prospect) async throws -> RoundRunner.RowPlan
        if job.round == FirstRound.round {
            plan = { prospect in FirstRound.plan(prospect, mode: mode, render: render) }
        } else {
            // Right before planning the account is synced, and again every few minutes of a long round.
            let sync = AccountSync(index: index, ledger: ledger, campaigns: campaigns, jobs: jobs, registry: registry, logger: logger)
            do {
                let report = try await sync.run(account: account)
                log.info("synced \(account.email) before planning: \(report.newMessages) new messages")
            } catch let error as TransportError {
                // Deciding on a stale index could mail someone who just answered: wait for the operator instead.
                if error.kind == .reauthorizationRequired { return Outcome(state: .paused, counters: job.counters, note: error.description) }
                let reason = "the mailbox could not be synced before planning the follow-ups (\(error.description))"
                let server = account.provider == .gmailAPI ? "the Gmail API" : "the IMAP server"
                return Outcome(
                    state: .paused, counters: job.counters, note: reason + " — resume with `outreach job resume \(jobID)` once \(server) answers"
                )
            }
            let refresher = SyncRefresher(sync: sync, account: account)
            let planner = try await FollowUpRound(
                campaign: campaign, round: job.round, force: job.spec.force, index: index, ledger: ledger, countDomainReplies: job.spec.domainReplies
            )
            plan = { prospect in
                // A refresh that fails mid-round (a timeout, a restart of the IMAP server) leaves the index as fresh
                // as the last sync, minutes old: the round goes on, and the next refresh is tried a few minutes later.
                do { try await refresher.refreshIfDue() } catch let error as TransportError {
                    log.info("the sync during the round failed (\(error.description)); deciding from the index as last synced")
                }
                return try await planner.plan(prospect, mode: mode, render: render)
            }
        }

        let pacing = PacingGate(
            account: account, jobs: jobs, claim: claim, keeper: keeper, log: log, expectedTotal: expected,
            sentRecently: try await ledger.sentTimes(accountID: job.accountID, since: Date().addingTimeInterval(-86_400)),
            progressSeconds: settings.progressSeconds
        )
        let runner = RoundRunner(campaigns: campaigns, ledger: ledger, registry: registry, logger: logger)
        let hooks = RoundRunner.Hooks(
            beforeDelivery: { action, summary in try await pacing.beforeDelivery(action, summary: summary) },
            mayHandOver: { keeper.holds }
        )
        func ended(by stop: RoundStop, _ counters: Job.Counters) -> Outcome {
            switch stop {
            case .paused(let reason), .unreachable(let reason):
                return Outcome(state: .paused, counters: counters, note: reason + " — resume with `outreach job resume \(jobID)`")
            case .failed(let reason): return Outcome(state: .failed, counters: counters, note: reason)
            case .cancelled: return Outcome(state: .cancelled, counters: counters, note: "cancelled by the operator")
            case .leaseLost: return .leaseLost(counters)
            }
        }
        var outage = ConnectionOutage(window: settings.reconnectWindowSeconds, backoff: settings.reconnectBackoff)
        var counters = log.counters
        while true {
            var stop: RoundStop?
            var summary = RoundSummary()
            do {
                try await reconcile(job: job, fence: claim.fence, campaign: campaign, account: account, log: log, logger: logger)
                summary = try await runner.run(
                    campaign: campaign, round: job.round,
                    options: .init(variant: job.spec.variant, jobID: jobID, backoff: settings.retryBackoff, fence: claim.fence), hooks: hooks, plan: plan,
                    report: { event in
                        if event.kind == .sent { pacing.recordSend() }
                        log.row(event)
                    }
                )
                stop = summary.stop
                counters = summary.counters
                counters.total = max(counters.total, expected)
                log.counters = counters
            } catch let error as TransportError where error.kind == .reauthorizationRequired {
                // The OAuth grant is gone: every row would fail alike until the owner connects the account again.
                return Outcome(state: .paused, counters: counters, note: error.description)
            } catch let error as TransportError where error.isConnectionLevel {
                // Opening the round's session (or the Sent lookup's) failed: the server is down, not a row.
                stop = .unreachable(error.description)
            }
            if counters.sent + counters.drafted > outage.progressMark { outage.recovered(progress: counters.sent + counters.drafted) }
            if case .unreachable(let reason) = stop {
                guard let retryAt = outage.nextAttempt(now: Date()) else {
                    let tried = DurationText.format(seconds: settings.reconnectWindowSeconds)
                    return ended(by: .paused("\(reason) (tried again for \(tried))"), counters)
                }
                let note = "\(reason) — trying again at \(JobTime.format(retryAt)) (attempt \(outage.attempts + 1); "
                    + "the job pauses if the server is still unreachable at \(JobTime.format(outage.givesUpAt))"
                if let stop = try await pacing.wait(until: retryAt, note: note + ")") { return ended(by: stop, counters) }
                continue
            }
            if let stop { return ended(by: stop, counters) }
            if summary.deferred > 0, let next = summary.nextRetryAt {
                // Rows the server asked us to retry later: the job waits (holding the account) and passes again.
                if let stop = try await pacing.wait(until: next, note: "\(summary.deferred) row(s) to retry at \(JobTime.format(next))") {
                    return ended(by: stop, counters)
                }
                continue
            }
            // A row whose outcome this pass could not learn is looked up in Sent now; if that settled it, count again.
            if try await reconcile(job: job, fence: claim.fence, campaign: campaign, account: account, log: log, logger: logger) > 0 { continue }
            let note = counters.held > 0
                ? "\(counters.held) row(s) held for you: `outreach job logs \(jobID)` says why (missing data, or an outcome to confirm with `outreach job resolve`)"
                : nil
            return Outcome(state: .completed, counters: counters, note: note)
        }
    }

    /// A job sends with its owner's rights as they are when it starts or resumes, not as they were when it was
    /// created: an admin may have revoked the grant, or removed the user, since.
    /// - Returns: why the job may not send, or nil. Jobs made from the CLI (no owner) and admins' jobs may.
    func ownerMayNotSend(_ job: Job, from account: Account) async throws -> String? {
        guard let ownerID = job.ownerID else { return nil }
        guard let owner = try await users.user(id: ownerID) else {
            return "its owner (user #\(ownerID)) was removed, so it may not send from \(account.email); nothing more was sent"
        }
        if owner.isAdmin { return nil }
        if let accountID = account.id, try await users.grantedAccountIDs(userID: ownerID).contains(accountID) { return nil }
        return "\(owner.email) may no longer send from \(account.email) (an admin revoked the grant); nothing more was sent"
    }

    /// A worker that died may not have written its last log lines (they are written in batches); the ledger knows
    /// what happened to each row, so the lines are restored from it.
    func restoreLostLines(job: Job, campaign: Campaign, log: JobLog) async throws {
        guard let campaignID = campaign.id, let jobID = job.id else { return }
        var logged = Set<Int>()
        var after: Int64 = 0
        while true {
            let page = try await jobs.events(jobID: jobID, afterID: after, limit: 10_000)
            guard let last = page.last else { break }
            after = last.id ?? after
            for event in page where event.kind != .info { if let row = event.row { logged.insert(row) } }
        }
        let rows = try await ledger.deliveries(campaignID: campaignID, round: job.round).values.filter { $0.jobID == jobID && ![.planned, .unknown, .sending].contains($0.state) }
        for delivery in rows.sorted(by: { $0.prospectID < $1.prospectID }) {
            guard let prospect = try await campaigns.prospect(id: delivery.prospectID), !logged.contains(prospect.row) else { continue }
            let kind: JobEvent.Kind
            switch delivery.state {
            case .sent: kind = .sent
            case .drafted: kind = .drafted
            case .skipped: kind = .skipped
            case .failed: kind = .error
            case .needsData, .unknown, .sending, .planned: kind = .held
            }
            let id = delivery.messageID.map { "<\($0)> " } ?? ""
            log.event(kind, row: prospect.row, email: prospect.email.description, "\(id)\(delivery.replyText ?? delivery.state.rawValue) (logged after a restart)")
        }
    }

    /// Rows this job handed to the server without hearing back (a worker died, the connection broke after the final
    /// dot) are looked up in Sent by Message-ID before anything else happens. Found: sent. Not found on an account
    /// whose server files sent mail itself (copy to Sent off): never accepted, so sent again. Not found where Outreach
    /// appends the copy itself (after the server's reply, which never came): held for the operator — never resent on
    /// a guess.
    /// - Returns: how many rows it settled (sent, or held for the operator).
    @discardableResult
    func reconcile(job: Job, fence: LeaseFence, campaign: Campaign, account: Account, log: JobLog, logger: Logger) async throws -> Int {
        guard let campaignID = campaign.id else { return 0 }
        let rows = try await ledger.deliveries(campaignID: campaignID, round: job.round).values.filter { delivery in
            guard delivery.jobID == job.id, delivery.messageID != nil else { return false }
            return delivery.state == .sending || (delivery.state == .unknown && delivery.replyText?.hasPrefix(Self.heldMark) != true)
        }
        guard !rows.isEmpty else { return 0 }
        let session = try await registry.deliverySession(for: account, logger: logger)
        defer { Task { await session.close() } }
        var settled = 0
        for var delivery in rows.sorted(by: { $0.prospectID < $1.prospectID }) {
            let messageID = delivery.messageID ?? ""
            let prospect = try await campaigns.prospect(id: delivery.prospectID)
            let row = prospect?.row
            let email = prospect?.email.description
            var found: Bool?
            do {
                found = try await session.sentFolderHolds(messageID: messageID, handedOverAt: delivery.updatedAt)
                // A server that files what it accepts does so before its reply, but a message whose sender died
                // right after the final dot may still be on its way in (a busy server takes seconds): "absent" is
                // trusted only when a second look, at least `sentFolderSettleSeconds` after the hand-over, agrees.
                if found == false, !account.copyToSent {
                    let settle = max(Self.sentFolderSettleSeconds - Date().timeIntervalSince(delivery.updatedAt), 1)
                    try await Task.sleep(for: .seconds(settle))
                    found = try await session.sentFolderHolds(messageID: messageID, handedOverAt: delivery.updatedAt)
                }
            } catch let error as TransportError {
                log.event(.held, row: row, email: email, "<\(messageID)> may have been sent; Sent could not be searched (\(error.description)); it stays held")
                continue
            }
            if found == false, !account.copyToSent, !(delivery.replyText ?? "").hasPrefix(Self.resentMark) {
                // The account's server files every message it accepts in Sent (that is why Outreach does not copy
                // it there): absent from Sent means the server never took it, so it is sent again, same Message-ID.
                delivery.state = .planned
                delivery.replyText = Self.resentMark + "not in Sent, where the server files what it accepts"
                delivery.updatedAt = Date()
                try await ledger.update(delivery, fence: fence)
                settled += 1
                log.event(.info, row: row, email: email, "<\(messageID)> is not in Sent, where the server files every message it accepts: it was never taken, and goes out again")
                continue
            }
            if found == true {
                delivery.state = .sent
                delivery.sentAt = delivery.sentAt ?? delivery.updatedAt
                delivery.replyText = "confirmed in Sent by its Message-ID (the server's reply was lost)"
                delivery.updatedAt = Date()
                try await ledger.update(delivery, fence: fence)
                settled += 1
                log.event(.sent, row: row, email: email, "<\(messageID)> confirmed in Sent by its Message-ID (the server's reply was lost)")
            } else {
                delivery.state = .unknown
                delivery.replyText = Self.heldMark + "not in Sent" + (found == nil ? " (no Sent folder found)" : "") + "; " + (delivery.replyText ?? "")
                delivery.updatedAt = Date()
                try await ledger.update(delivery, fence: fence)
                settled += 1
                log.event(
                    .held, row: row, email: email,
                    "<\(messageID)> was handed to the server but no reply came, and it is not in Sent\(found == nil ? " (no Sent folder found)" : ""). "
                        + "Check the recipient's side, then: outreach job resolve \(job.id ?? 0) --row \(row ?? 0) --sent (it arrived) or --resend"
                )
            }
        }
        return settled
    }

    /// Marks a row sent again because Sent did not have it; a second such doubt is held instead of resent.
    static let resentMark = "sent again: "

    /// How long after the final dot a server that files sent mail itself is given to have filed it.
    static let sentFolderSettleSeconds: Double = 15

    /// Starts the ledger text of a row that Sent could not confirm: it waits for the operator and is not looked up again.
    static let heldMark = "held for the operator: "
}
