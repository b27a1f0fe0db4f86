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
    let registry: AccountRegistry
    let settings: WorkerSettings
    let logger: Logger

    public init(
        campaigns: any CampaignStore, ledger: any DeliveryLedger, index: any ThreadIndex, jobs: any JobStore, registry: AccountRegistry,
        settings: WorkerSettings, logger: Logger
    ) {
        self.campaigns = campaigns
        self.ledger = ledger
        self.index = index
        self.jobs = jobs
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
        let log = JobLog(jobID: claim.job.id ?? 0, jobs: jobs, onEvent: onEvent)
        do {
            let (state, counters, note, runAt) = try await execute(claim, keeper: keeper, log: log, logger: logger)
            try await log.flush()
            // `.running` is how execute says the lease went: nothing more may be written for this job.
            if state == .running || keeper.wasLost { return .leaseLost }
            try await jobs.finish(claim, state: state, counters: counters, note: note, runAt: runAt, now: Date())
            logger.info("job \(state.rawValue)\(note.map { ": \($0)" } ?? "")")
            onEvent(JobEvent(jobID: claim.job.id ?? 0, kind: state == .failed ? .error : .info, detail: "\(state.rawValue)\(note.map { ": \($0)" } ?? "")"))
            return .finished(state)
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
            try? await log.flush()
            let note = "\(error)"
            logger.error("job failed: \(note)")
            try? await jobs.finish(claim, state: .failed, counters: log.counters, note: note, runAt: nil, now: Date())
            onEvent(JobEvent(jobID: claim.job.id ?? 0, kind: .error, detail: "failed: \(note)"))
            return .finished(.failed)
        }
    }

    private func execute(
        _ claim: JobClaim, keeper: LeaseKeeper, log: JobLog, logger: Logger
    ) async throws -> (Job.State, Job.Counters, String?, Date?) {
        let job = claim.job
        guard let jobID = job.id else { throw JobRuleError.jobNotFound(id: 0) }
        guard let campaign = try await campaigns.campaign(id: job.campaignID) else {
            return (.failed, job.counters, "its campaign was deleted", nil)
        }
        guard let account = try await registry.account(id: job.accountID) else {
            return (.failed, job.counters, "its account was removed", nil)
        }
        if let reason = account.oauth?.needsReconnect {
            // Every row would fail the same way: wait for the owner to connect the account again.
            return (.paused, job.counters, reason, nil)
        }
        let template: EmailTemplate
        do { template = try EmailTemplate(parsing: job.spec.template) } catch {
            return (.failed, job.counters, "the template \(job.spec.templateName) cannot be read: \(error)", nil)
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
            let sync = AccountSync(index: index, ledger: ledger, registry: registry, logger: logger)
            do {
                let report = try await sync.run(account: account)
                log.info("synced \(account.email) before planning: \(report.newMessages) new messages")
            } catch let error as TransportError {
                // Deciding on a stale index could mail someone who just answered: wait for the operator instead.
                if error.kind == .reauthorizationRequired { return (.paused, job.counters, error.description, nil) }
                let reason = "the mailbox could not be synced before planning the follow-ups (\(error.description))"
                let server = account.provider == .gmailAPI ? "the Gmail API" : "the IMAP server"
                return (.paused, job.counters, reason + " — resume with `outreach job resume \(jobID)` once \(server) answers", nil)
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
        do {
            while true {
                try await reconcile(job: job, campaign: campaign, account: account, log: log, logger: logger)
                let summary = try await runner.run(
                    campaign: campaign, round: job.round,
                    options: .init(variant: job.spec.variant, jobID: jobID, backoff: settings.retryBackoff), hooks: hooks, plan: plan,
                    report: { event in
                        if event.kind == .sent { pacing.recordSend() }
                        log.row(event)
                    }
                )
                var counters = summary.counters
                counters.total = max(counters.total, expected)
                log.counters = counters
                switch summary.stop {
                case .paused(let reason): return (.paused, counters, reason + " — resume with `outreach job resume \(jobID)`", nil)
                case .failed(let reason): return (.failed, counters, reason, nil)
                case .cancelled: return (.cancelled, counters, "cancelled by the operator", nil)
                case .leaseLost: return (.running, counters, nil, nil)
                case nil: break
                }
                if summary.deferred > 0, let next = summary.nextRetryAt {
                    // Rows the server asked us to retry later: the job waits (holding the account) and passes again.
                    if let stop = try await pacing.wait(until: next, note: "\(summary.deferred) row(s) to retry at \(JobTime.format(next))") {
                        switch stop {
                        case .paused(let reason): return (.paused, counters, reason + " — resume with `outreach job resume \(jobID)`", nil)
                        case .cancelled: return (.cancelled, counters, "cancelled by the operator", nil)
                        case .failed(let reason): return (.failed, counters, reason, nil)
                        case .leaseLost: return (.running, counters, nil, nil)
                        }
                    }
                    continue
                }
                // A row whose outcome this pass could not learn is looked up in Sent now; if that settled it, count again.
                if try await reconcile(job: job, campaign: campaign, account: account, log: log, logger: logger) > 0 { continue }
                let note = counters.held > 0
                    ? "\(counters.held) row(s) held for you: `outreach job logs \(jobID)` says why (missing data, or an outcome to confirm with `outreach job resolve`)"
                    : nil
                return (.completed, counters, note, nil)
            }
        } catch let error as TransportError where error.kind == .reauthorizationRequired {
            // The OAuth grant is gone: every row would fail alike until the owner connects the account again.
            return (.paused, job.counters, error.description, nil)
        } catch let error as TransportError where error.kind == .connection || error.kind == .timeout {
            // Opening the round's session failed (a provider's token service down, say): nothing is wrong with a row.
            return (.paused, job.counters, error.description + " — resume with `outreach job resume \(jobID)`", nil)
        }
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
    func reconcile(job: Job, campaign: Campaign, account: Account, log: JobLog, logger: Logger) async throws -> Int {
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
                // right after the final dot may still be on its way in: give it a few seconds before trusting "absent".
                let settle = Self.sentFolderSettleSeconds - Date().timeIntervalSince(delivery.updatedAt)
                if found == false, !account.copyToSent, settle > 0 {
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
                try await ledger.update(delivery)
                settled += 1
                log.event(.info, row: row, email: email, "<\(messageID)> is not in Sent, where the server files every message it accepts: it was never taken, and goes out again")
                continue
            }
            if found == true {
                delivery.state = .sent
                delivery.sentAt = delivery.sentAt ?? delivery.updatedAt
                delivery.replyText = "confirmed in Sent by its Message-ID (the server's reply was lost)"
                delivery.updatedAt = Date()
                try await ledger.update(delivery)
                settled += 1
                log.event(.sent, row: row, email: email, "<\(messageID)> confirmed in Sent by its Message-ID (the server's reply was lost)")
            } else {
                delivery.state = .unknown
                delivery.replyText = Self.heldMark + "not in Sent" + (found == nil ? " (no Sent folder found)" : "") + "; " + (delivery.replyText ?? "")
                delivery.updatedAt = Date()
                try await ledger.update(delivery)
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
    static let sentFolderSettleSeconds: Double = 5

    /// Starts the ledger text of a row that Sent could not confirm: it waits for the operator and is not looked up again.
    static let heldMark = "held for the operator: "
}
