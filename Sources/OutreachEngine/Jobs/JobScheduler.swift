import Foundation
import OutreachCore
import OutreachStore

/// Creates jobs and carries out the operator's decisions about them — what the CLI and the web UI call. It checks
/// the rules that hold at creation time (the guard window); the worker checks those of run time (the account lock).
public struct JobScheduler: Sendable {
    let campaigns: any CampaignStore
    let ledger: any DeliveryLedger
    let jobs: any JobStore
    let registry: AccountRegistry

    public init(campaigns: any CampaignStore, ledger: any DeliveryLedger, jobs: any JobStore, registry: AccountRegistry) {
        self.campaigns = campaigns
        self.ledger = ledger
        self.jobs = jobs
        self.registry = registry
    }

    /// Creates a pending job for a round of a campaign.
    /// - Throws: ``JobRuleError/guardWindow(conflict:earliest:guardSeconds:)`` when it would start too close to another job of the account.
    public func schedule(campaign: Campaign, round: Int, spec: Job.Spec, at start: Date, ownerID: Int64? = nil) async throws -> Job {
        guard let campaignID = campaign.id else { throw StoreError.campaignNotFound(name: campaign.name) }
        guard let account = try await registry.account(id: campaign.accountID) else {
            throw AccountRegistry.Problem.unknownAccount(email: "#\(campaign.accountID)")
        }
        if account.provider == .smtpIMAP, let purpose = Self.imapPurpose(round: round, mode: spec.mode) {
            // Refused now rather than when the worker reaches the first draft or the pre-planning sync.
            do { _ = try account.imapServer(for: purpose) } catch { throw JobRuleError.needsIMAP(error) }
        }
        let rows = try await Self.remainingRows(
            campaign: campaign, round: round, variant: spec.variant, excludingJob: nil, campaigns: campaigns, ledger: ledger
        )
        let job = Job(
            campaignID: campaignID, accountID: campaign.accountID, round: round, spec: spec, runAt: start, counters: Job.Counters(total: rows), ownerID: ownerID
        )
        return try await jobs.create(job, guardSeconds: account.guardSeconds, meanPauseSeconds: account.pacing.meanPause)
    }

    /// What in a round needs the account's IMAP server, or nil when it sends only (round 1, no drafts).
    static func imapPurpose(round: Int, mode: RoundMode) -> String? {
        if round > FirstRound.round { return "a follow-up round (it decides from the synced mailbox)" }
        return [.sendAll, .sendSelected].contains(mode) ? nil : "the \(mode.rawValue) mode (drafts are saved in the mailbox)"
    }

    /// Moves a pending or paused job to a new start, under the same guard-window rule as creating it.
    public func reschedule(jobID: Int64, to start: Date) async throws -> Job {
        guard let job = try await jobs.job(id: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
        guard let account = try await registry.account(id: job.accountID) else { throw AccountRegistry.Problem.unknownAccount(email: "#\(job.accountID)") }
        return try await jobs.reschedule(jobID: jobID, to: start, guardSeconds: account.guardSeconds, meanPauseSeconds: account.pacing.meanPause)
    }

    /// Rows a job of this round will work on: the campaign's rows (of the variant) that no other job finished.
    static func remainingRows(
        campaign: Campaign, round: Int, variant: String?, excludingJob jobID: Int64?, campaigns: any CampaignStore, ledger: any DeliveryLedger
    ) async throws -> Int {
        guard let campaignID = campaign.id else { return 0 }
        var done = Set(try await ledger.deliveries(campaignID: campaignID, round: round).values.filter { $0.state.isFinal && $0.jobID != jobID }.map(\.prospectID))
        var count = 0
        try await campaigns.forEachProspect(campaignID: campaignID) { prospect in
            if let variant, prospect.variant?.caseInsensitiveCompare(variant) != .orderedSame { return }
            if let id = prospect.id, done.remove(id) != nil { return }
            count += 1
        }
        return count
    }

    /// What the operator found out about a row whose outcome was unknown.
    public enum Resolution: String, Sendable {
        /// It arrived: count it as sent.
        case sent
        /// It did not: send it again (with the same Message-ID), by running the job once more.
        case resend
    }

    /// Settles a held row of a job. A resend puts the job back in the queue (due now) if it had ended.
    public func resolve(jobID: Int64, row: Int, as resolution: Resolution) async throws -> String {
        guard let job = try await jobs.job(id: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
        // A running job's worker owns its rows; settling one under it would race its own bookkeeping.
        guard job.state != .running else { throw JobRuleError.notAllowed(jobID: jobID, state: job.state, action: "settled row by row while it runs (pause it first)") }
        guard let prospect = try await campaigns.prospect(campaignID: job.campaignID, row: row), let prospectID = prospect.id else {
            throw JobResolveError.noSuchRow(jobID: jobID, row: row)
        }
        guard var delivery = try await ledger.deliveries(campaignID: job.campaignID, round: job.round)[prospectID],
            delivery.state == .unknown || delivery.state == .sending, delivery.jobID == jobID
        else {
            throw JobResolveError.notHeld(jobID: jobID, row: row)
        }
        let messageID = delivery.messageID ?? "?"
        delivery.updatedAt = Date()
        switch resolution {
        case .sent:
            delivery.state = .sent
            delivery.sentAt = delivery.sentAt ?? delivery.updatedAt
            delivery.replyText = "confirmed as sent by the operator"
            try await ledger.update(delivery)
            try await jobs.adjustCounters(jobID: jobID) { counters in
                counters.held = max(0, counters.held - 1)
                counters.sent += 1
            }
            try await jobs.append([JobEvent(jobID: jobID, kind: .sent, row: row, email: prospect.email.description, detail: "<\(messageID)> confirmed as sent by the operator")])
            return "row \(row) (\(prospect.email)) counts as sent."
        case .resend:
            delivery.state = .planned
            delivery.retryAt = nil
            delivery.replyText = "to be sent again, as the operator decided"
            try await ledger.update(delivery)
            try await jobs.append([JobEvent(jobID: jobID, kind: .info, row: row, email: prospect.email.description, detail: "<\(messageID)> will be sent again, as the operator decided")])
            switch job.state {
            case .completed:
                // Every other row of a completed job is settled: running it again sends only this one.
                _ = try await jobs.reopen(jobID: jobID, now: Date())
                return "row \(row) (\(prospect.email)) will be sent again with the same Message-ID: job #\(jobID) runs again for it now."
            case .paused:
                return "row \(row) (\(prospect.email)) will be sent again with the same Message-ID when job #\(jobID) is resumed (`outreach job resume \(jobID)`)."
            case .running, .pending:
                return "row \(row) (\(prospect.email)) will be sent again with the same Message-ID when job #\(jobID) passes it again."
            case .failed, .cancelled, .missed:
                // Reopening would send every row the job had not reached, which the operator stopped.
                return "row \(row) (\(prospect.email)) is planned again with the same Message-ID; job #\(jobID) is \(job.state.rawValue) and stays so — "
                    + "a new job of round \(job.round) sends it (rows already sent are not sent twice)."
            }
        }
    }
}

public enum JobResolveError: Error, CustomStringConvertible {
    case noSuchRow(jobID: Int64, row: Int)
    case notHeld(jobID: Int64, row: Int)

    public var description: String {
        switch self {
        case .noSuchRow(let jobID, let row): "job #\(jobID)'s campaign has no row \(row)"
        case .notHeld(let jobID, let row): "row \(row) of job #\(jobID) is not waiting for a decision (only rows whose outcome is unknown are); `outreach job logs \(jobID)` shows each row"
        }
    }
}
