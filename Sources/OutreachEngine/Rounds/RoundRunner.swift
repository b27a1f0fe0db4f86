import Foundation
import Logging
import OutreachCore
import OutreachMail
import OutreachStore
import OutreachTransport

/// Runs one round of a campaign: for each prospect, a plan (skip, hold, or deliver this message) and then the
/// delivery — sent over SMTP, or stored as a draft in the account's Drafts folder.
///
/// Round 1 (``FirstRound``) and follow-ups (``FollowUpRound``) differ only in how they plan a row.
/// The ledger makes it safe to run again: a prospect's Message-ID is stored (state `planned`) before any server
/// sees it, the row is `sending` while the transaction runs, and rows already `sent` or `drafted` are never
/// touched again. A failure that concerns the account (login refused, server unreachable) stops the round
/// without marking anyone failed.
public struct RoundRunner: Sendable {
    public struct Options: Sendable {
        /// Only rows of this variant (A/B tests); others are not part of the run at all.
        public var variant: String?
        /// Plan and report, but record and send nothing.
        public var dryRun: Bool
        /// The job this pass belongs to: rows it already finished are counted, not touched again.
        public var jobID: Int64?
        /// How long a row waits after a "try again later" (4xx) reply.
        public var backoff: RetryBackoff
        /// The job's account lease: every ledger write checks it in the store, so a worker that lost the account
        /// (stalled past its lease, then woke) writes nothing more.
        public var fence: LeaseFence?

        public init(variant: String? = nil, dryRun: Bool = false, jobID: Int64? = nil, backoff: RetryBackoff = .smtpTemporary, fence: LeaseFence? = nil) {
            self.variant = variant
            self.dryRun = dryRun
            self.jobID = jobID
            self.backoff = backoff
            self.fence = fence
        }
    }

    /// What a job wants to say before each message goes out.
    public enum Gate: Sendable {
        case proceed
        case stop(RoundStop)
    }

    /// The job's hooks into a pass; a foreground run (dry run, tests) uses ``Hooks/none``.
    public struct Hooks: Sendable {
        /// Called right before each message is sent or drafted (after the pause): may wait (daily cap, sending
        /// window) or stop the pass (pause, cancel, lost lease).
        public var beforeDelivery: @Sendable (RoundMode.Action, RoundSummary) async throws -> Gate
        /// Called on the SMTP connection's thread right before the final dot; false withdraws the message.
        public var mayHandOver: @Sendable () -> Bool

        public init(
            beforeDelivery: @escaping @Sendable (RoundMode.Action, RoundSummary) async throws -> Gate = { _, _ in .proceed },
            mayHandOver: @escaping @Sendable () -> Bool = { true }
        ) {
            self.beforeDelivery = beforeDelivery
            self.mayHandOver = mayHandOver
        }

        public static var none: Hooks { Hooks() }
    }

    /// What to do with one prospect in this round.
    public enum RowPlan: Sendable {
        /// Leave the row alone (not selected, replied, bounced, …); the reason goes into the ledger and the log.
        case skip(reason: String)
        /// Keep the row for later: a placeholder without data, an unsafe value. Recorded as `needs_data`.
        case hold(reason: String)
        case deliver(Composition)
    }

    /// The message a row gets.
    public struct Composition: Sendable {
        public var action: RoundMode.Action
        public var subject: String
        public var text: String
        public var html: String
        public var inReplyTo: String?
        public var references: [String]
        /// The Message-ID of the thread's first message; nil for round 1, where the message itself starts the thread.
        public var threadKey: String?
        /// Gmail API accounts: the Gmail thread of round 1, which a follow-up joins.
        public var gmailThreadID: String?

        public init(
            action: RoundMode.Action, subject: String, text: String, html: String, inReplyTo: String? = nil, references: [String] = [],
            threadKey: String? = nil, gmailThreadID: String? = nil
        ) {
            self.action = action
            self.subject = subject
            self.text = text
            self.html = html
            self.inReplyTo = inReplyTo
            self.references = references
            self.threadKey = threadKey
            self.gmailThreadID = gmailThreadID
        }
    }

    let campaigns: any CampaignStore
    let ledger: any DeliveryLedger
    let registry: AccountRegistry
    let logger: Logger
    /// Waits between messages; tests and benchmarks pass a pacing of 0.
    let sleep: @Sendable (Double) async throws -> Void

    public init(
        campaigns: any CampaignStore, ledger: any DeliveryLedger, registry: AccountRegistry, logger: Logger,
        sleep: @escaping @Sendable (Double) async throws -> Void = { seconds in try await Task.sleep(for: .seconds(seconds)) }
    ) {
        self.campaigns = campaigns
        self.ledger = ledger
        self.registry = registry
        self.logger = logger
        self.sleep = sleep
    }

    /// - Parameters:
    ///   - plan: decides each row; called only for rows this round has not sent or drafted yet.
    public func run(
        campaign: Campaign, round: Int, options: Options, hooks: Hooks = .none, plan: @Sendable (Prospect) async throws -> RowPlan,
        report: @Sendable (RoundEvent) -> Void
    ) async throws -> RoundSummary {
        guard let campaignID = campaign.id else { throw StoreError.campaignNotFound(name: campaign.name) }
        guard let account = try await registry.account(id: campaign.accountID) else {
            throw AccountRegistry.Problem.unknownAccount(email: "#\(campaign.accountID)")
        }
        var logger = logger
        logger[metadataKey: "account.email"] = "\(account.email)"
        logger[metadataKey: "campaign.name"] = "\(campaign.name)"
        let session = try await registry.deliverySession(for: account, logger: logger)
        do {
            let summary = try await run(
                campaignID: campaignID, round: round, account: account, session: session, options: options, hooks: hooks, logger: logger, plan: plan,
                report: report
            )
            await session.close()
            return summary
        } catch {
            await session.close()
            throw error
        }
    }

    private func run(
        campaignID: Int64, round: Int, account: Account, session: any DeliverySession, options: Options, hooks: Hooks, logger: Logger,
        plan: @Sendable (Prospect) async throws -> RowPlan, report: @Sendable (RoundEvent) -> Void
    ) async throws -> RoundSummary {
        var existing = try await ledger.deliveries(campaignID: campaignID, round: round)
        var summary = RoundSummary()
        var generator = SystemRandomNumberGenerator()
        var sentBefore = false
        var afterRow = 0

        pages: while true {
            let page = try await campaigns.prospects(campaignID: campaignID, afterRow: afterRow, limit: 500)
            guard let last = page.last else { break }
            afterRow = last.row
            for prospect in page {
                guard let prospectID = prospect.id else { continue }
                if let variant = options.variant, prospect.variant?.caseInsensitiveCompare(variant) != .orderedSame { continue }
                summary.total += 1
                func event(_ kind: RoundEvent.Kind, _ detail: String) {
                    report(RoundEvent(kind: kind, row: prospect.row, email: prospect.email.description, detail: detail))
                }
                let previous = existing[prospectID]
                // Rows this job already finished (an earlier pass, or the run before a crash) count as they ended.
                if let previous, let jobID = options.jobID, previous.jobID == jobID, summary.count(finished: previous) { continue }
                if let previous, previous.state.isFinal {
                    summary.alreadyDone += 1
                    continue
                }
                if let previous, previous.state == .sending || previous.state == .unknown {
                    summary.held += 1
                    event(.held, "an earlier run handed message <\(previous.messageID ?? "?")> to the server without an answer; check Sent before sending again")
                    continue
                }
                if let previous, previous.jobID == options.jobID, previous.state == .planned, let retryAt = previous.retryAt, retryAt > Date() {
                    summary.deferred += 1
                    summary.nextRetryAt = min(summary.nextRetryAt ?? retryAt, retryAt)
                    continue
                }
                // A worker whose lease is in doubt writes nothing more: another may own these rows now.
                guard options.dryRun || hooks.mayHandOver() else {
                    summary.stop = .leaseLost
                    break pages
                }
                let composition: Composition
                switch try await plan(prospect) {
                case .skip(let reason):
                    summary.skipped += 1
                    if !options.dryRun { existing[prospectID] = try await record(previous, prospectID, round, .skip, .skipped, detail: reason, jobID: options.jobID, fence: options.fence) }
                    event(.skipped, reason)
                    continue
                case .hold(let reason):
                    summary.held += 1
                    if !options.dryRun { existing[prospectID] = try await record(previous, prospectID, round, .skip, .needsData, detail: reason, jobID: options.jobID, fence: options.fence) }
                    event(.held, reason)
                    continue
                case .deliver(let planned):
                    composition = planned
                }
                let action = composition.action
                let content = (subject: composition.subject, text: composition.text, html: composition.html)

                // The Message-ID is chosen once and kept: a retry of this row sends the same message.
                let messageID = previous?.messageID ?? MessageIdentifier.generate(domain: account.email.domain)
                var message = Self.message(to: prospect, from: account, subject: content.subject, text: content.text, html: content.html, messageID: messageID)
                message.inReplyTo = composition.inReplyTo
                message.references = composition.references
                let threadKey = composition.threadKey ?? messageID
                let bytes: [UInt8]
                do { bytes = Array(try message.rendered().utf8) } catch {
                    summary.held += 1
                    if !options.dryRun {
                        existing[prospectID] = try await record(previous, prospectID, round, action, .needsData, detail: error.description, jobID: options.jobID, fence: options.fence)
                    }
                    event(.held, error.description)
                    continue
                }
                if options.dryRun {
                    event(action == .send ? .wouldSend : .wouldDraft, "<\(messageID)> \"\(content.subject)\"")
                    continue
                }

                // The Message-ID is in the ledger as `planned` before any server sees the message. A send becomes
                // `sending` only at its final dot (see `handOver`): a crash before that point left nothing at the
                // server, so the row is simply sent again; only a crash between the dot and the reply leaves it unknown.
                // A draft is recorded as `planned` before the APPEND. A send is written first by `handOver`, at its final
                // dot: before that point the server has committed nothing, so a crash leaves nothing to remember.
                var delivery: Delivery
                if action == .draft {
                    delivery = try await record(
                        previous, prospectID, round, action, .planned, detail: nil, messageID: messageID, threadKey: threadKey, jobID: options.jobID,
                        fence: options.fence
                    )
                    existing[prospectID] = delivery
                } else {
                    delivery = Self.prepared(previous, prospectID, round, action, messageID: messageID, threadKey: threadKey, jobID: options.jobID)
                }
                if action == .send, sentBefore {
                    let pause = account.pacing.nextPause(using: &generator)
                    if pause > 0 { try await sleep(pause) }
                }
                if case .stop(let stop) = try await hooks.beforeDelivery(action, summary) {
                    summary.stop = stop
                    break pages
                }
                var rowLogger = logger
                rowLogger[metadataKey: "row"] = "\(prospect.row)"
                let handedOver = LockedBox<Int64?>(nil)
                let storeFailure = LockedBox<StorageFault?>(nil)
                let handOver = Self.handOver(
                    delivery, ledger: ledger, fence: options.fence, recorded: handedOver, storeFailure: storeFailure, mayHandOver: hooks.mayHandOver
                )
                let outcome: Result<DeliveryReceipt, TransportError>
                do throws(TransportError) {
                    switch action {
                    case .draft:
                        outcome = .success(try await session.storeDraft(bytes, messageID: messageID, gmailThreadID: composition.gmailThreadID))
                    case .send:
                        sentBefore = true
                        outcome = .success(
                            try await session.send(
                                bytes, messageID: messageID, from: account.email, to: prospect.email, gmailThreadID: composition.gmailThreadID,
                                beforeHandOver: handOver
                            )
                        )
                    case .skip:
                        continue
                    }
                } catch {
                    outcome = .failure(error)
                }
                // The ledger refused the hand-over, so the message was withdrawn before its final dot: a storage
                // error, not a lost lease, and the job must say so.
                if case .failure(let error) = outcome, error.kind == .withdrawn, let fault = storeFailure.get() { throw fault }
                if delivery.id == nil, let id = handedOver.get() { delivery.id = id }
                if case .success(let receipt) = outcome {
                    delivery.gmailMessageID = receipt.gmailMessageID ?? delivery.gmailMessageID
                    delivery.gmailThreadID = receipt.gmailThreadID ?? delivery.gmailThreadID
                    if let kept = receipt.keptMessageID {
                        // Replies will cite the id the provider kept: the ledger and the thread key follow it.
                        if delivery.threadKey == delivery.messageID { delivery.threadKey = kept }
                        delivery.messageID = kept
                        rowLogger.notice("the provider replaced the Message-ID <\(messageID)> with <\(kept)>")
                    }
                }
                switch outcome {
                case .success(let receipt) where action == .draft:
                    delivery.state = .drafted
                    delivery.replyText = receipt.reply.text
                    summary.drafted += 1
                    event(.drafted, "<\(delivery.messageID ?? messageID)>")
                case .success(let receipt):
                    let reply = receipt.reply
                    delivery.state = .sent
                    delivery.sentAt = Date()
                    delivery.replyCode = reply.code
                    delivery.replyText = reply.summary
                    delivery.retryAt = nil
                    // Recorded before the copy to Sent: a crash during the APPEND must not leave the row in doubt.
                    delivery.updatedAt = Date()
                    delivery = try await save(delivery, fence: options.fence)
                    summary.sent += 1
                    existing[prospectID] = delivery
                    if let problem = await session.copyToSent(bytes) {
                        rowLogger.warning("sent, but the copy to Sent failed: \(problem)")
                        delivery.replyText = reply.summary + " (copy to Sent failed: \(problem.detail))"
                        delivery = try await save(delivery, fence: options.fence)
                        existing[prospectID] = delivery
                    }
                    event(.sent, "<\(delivery.messageID ?? messageID)> \(reply.summary)")
                    continue
                case .failure(let error):
                    delivery.replyCode = error.replyCode
                    delivery.replyText = (delivery.replyText?.hasPrefix(JobRunner.resentMark) == true ? JobRunner.resentMark : "") + error.detail
                    switch Self.consequence(of: error, provider: account.provider) {
                    case .failRow:
                        delivery.state = .failed
                        summary.failed += 1
                        event(.error, Self.codeText(error))
                    case .retryRowLater:
                        delivery.attempts += 1
                        if let wait = options.backoff.delay(afterAttempt: delivery.attempts, using: &generator) {
                            let retryAt = Date().addingTimeInterval(wait)
                            delivery.state = .planned
                            delivery.retryAt = retryAt
                            summary.deferred += 1
                            summary.nextRetryAt = min(summary.nextRetryAt ?? retryAt, retryAt)
                            event(.error, "\(Self.codeText(error)) — will try again at \(JobTime.format(retryAt)) (attempt \(delivery.attempts) of \(options.backoff.maxAttempts))")
                        } else {
                            delivery.state = .failed
                            summary.failed += 1
                            event(.error, "\(Self.codeText(error)) — gave up after \(delivery.attempts) attempts")
                        }
                    case .unknownOutcome:
                        delivery.state = .unknown
                        summary.held += 1
                        event(.error, "\(error.description) — held: it is not resent automatically (check Sent, then `outreach job resolve`)")
                    case .stop(let stop):
                        // The account cannot send right now: nothing about this prospect is wrong, so the row goes back to planned.
                        delivery.state = .planned
                        delivery.updatedAt = Date()
                        delivery = try await save(delivery, fence: options.fence)
                        existing[prospectID] = delivery
                        summary.stop = stop
                        event(.error, "round stopped: \(stop.reason)")
                        break pages
                    }
                }
                delivery.updatedAt = Date()
                existing[prospectID] = try await save(delivery, fence: options.fence)
            }
        }
        return summary
    }

    /// What a failed delivery means for the row and the round.
    enum Consequence {
        case failRow, retryRowLater, unknownOutcome
        case stop(RoundStop)
    }

    static func consequence(of error: TransportError, provider: Account.Provider = .smtpIMAP) -> Consequence {
        if provider == .gmailAPI {
            // Gmail's answers are HTTP statuses, not SMTP replies: the SMTP policy would read a 400 as "try later".
            switch error.kind {
            case .rejectedPermanently: return .failRow
            case .rejectedTemporarily: return .retryRowLater
            // A scope the grant lacks, a sending limit Google set: the owner has to act; the job waits for them.
            case .configuration: return .stop(.paused(error.description))
            default: break
            }
        }
        switch error.kind {
        case .rejectedPermanently, .rejectedTemporarily:
            switch SMTPOutcomePolicy.consequence(replyCode: error.replyCode, enhancedStatus: error.enhancedStatus, serverText: error.detail) {
            case .failRow: return .failRow
            case .retryRowLater: return .retryRowLater
            case .pauseJob(let reason): return .stop(.paused(reason))
            case .failJob(let reason): return .stop(.failed(reason))
            }
        case .outcomeUnknown:
            return .unknownOutcome
        case .authentication, .certificate, .tlsUnavailable, .configuration:
            return .stop(.failed(error.description))
        case .withdrawn:
            return .stop(.leaseLost)
        case .reauthorizationRequired:
            // Every row would fail the same way; the job waits until the owner connects the account again.
            return .stop(.paused(error.description))
        case .connection, .connectionLost, .timeout:
            // The server cannot be reached, or the link broke before the final dot: no row is at fault, and this
            // passes by itself more often than not; the job tries again for a while (JobRunner).
            return .stop(.unreachable(error.description))
        case .protocolFailure:
            // The server misbehaves: no row is at fault; the job waits for the operator.
            return .stop(.paused(error.description))
        }
    }

    /// "550 5.1.1 <x@y>: user unknown" as the log shows a refusal.
    static func codeText(_ error: TransportError) -> String { error.detail }

    /// The hook that runs at the final dot: writes the row as `sending` (inserting it on a first attempt) before the
    /// server can accept the message. It runs on the SMTP connection's own thread, which may block: the write is
    /// synchronous. Not recorded means not sent — the message is withdrawn.
    static func handOver(
        _ delivery: Delivery, ledger: any DeliveryLedger, fence: LeaseFence?, recorded: LockedBox<Int64?>, storeFailure: LockedBox<StorageFault?>,
        mayHandOver: @escaping @Sendable () -> Bool
    ) -> @Sendable () -> Bool {
        { () -> Bool in
            guard mayHandOver() else { return false }
            var sending = delivery
            // A provider that retries the call (Gmail after a rate limit) hands over again: the row exists by then.
            if sending.id == nil, let id = recorded.get() { sending.id = id }
            sending.state = .sending
            sending.updatedAt = Date()
            do {
                recorded.set(try ledger.recordHandOver(sending, fence: fence))
                return true
            } catch {
                storeFailure.set(StorageFault(error))
                return false
            }
        }
    }

    /// The row a send starts from, not stored yet: the earlier attempt's (same Message-ID) or a new one.
    static func prepared(
        _ previous: Delivery?, _ prospectID: Int64, _ round: Int, _ action: RoundMode.Action, messageID: String, threadKey: String, jobID: Int64?
    ) -> Delivery {
        guard var delivery = previous else {
            return Delivery(prospectID: prospectID, round: round, state: .planned, action: action, messageID: messageID, threadKey: threadKey, jobID: jobID)
        }
        delivery.action = action
        delivery.messageID = messageID
        delivery.threadKey = threadKey
        if delivery.jobID != jobID { delivery.attempts = 0 }
        delivery.jobID = jobID ?? delivery.jobID
        delivery.retryAt = nil
        delivery.replyCode = nil
        // A row already sent again after a doubt keeps saying so: a second doubt holds it instead (JobRunner.reconcile).
        delivery.replyText = delivery.replyText?.hasPrefix(JobRunner.resentMark) == true ? JobRunner.resentMark : nil
        return delivery
    }

    /// Stores a row: an update when it has been written before, else an insert. It runs even when the task is
    /// being cancelled (SIGTERM): what the server answered must be recorded, or a sent row would stay `sending`.
    private func save(_ delivery: Delivery, fence: LeaseFence?) async throws -> Delivery {
        let ledger = ledger
        return try await Task.detached {
            guard delivery.id != nil else { return try await ledger.insert(delivery, fence: fence) }
            try await ledger.update(delivery, fence: fence)
            return delivery
        }.value
    }

    /// Creates or updates the prospect's ledger row for this round.
    private func record(
        _ previous: Delivery?, _ prospectID: Int64, _ round: Int, _ action: RoundMode.Action, _ state: Delivery.State, detail: String?,
        messageID: String? = nil, threadKey: String? = nil, jobID: Int64? = nil, fence: LeaseFence?
    ) async throws -> Delivery {
        if var delivery = previous {
            delivery.state = state
            delivery.action = action
            delivery.replyText = detail
            delivery.replyCode = nil
            delivery.jobID = jobID ?? delivery.jobID
            if previous?.jobID != jobID { delivery.attempts = 0 }
            delivery.retryAt = nil
            if let messageID {
                delivery.messageID = messageID
                delivery.threadKey = threadKey ?? messageID
            }
            delivery.updatedAt = Date()
            try await ledger.update(delivery, fence: fence)
            return delivery
        }
        return try await ledger.insert(
            Delivery(
                prospectID: prospectID, round: round, state: state, action: action, messageID: messageID, threadKey: threadKey ?? messageID, replyText: detail,
                jobID: jobID
            ),
            fence: fence
        )
    }

    /// The email to one prospect, exactly as it goes out (and as `outreach preview` shows it).
    public static func message(
        to prospect: Prospect, from account: Account, subject: String, text: String, html: String, messageID: String? = nil, date: Date = Date()
    ) -> OutgoingMessage {
        OutgoingMessage(
            from: Mailbox(account.email, name: account.displayName), to: [Mailbox(prospect.email, name: displayName(of: prospect))],
            subject: subject, date: date, messageID: messageID, textBody: text, htmlBody: html
        )
    }

    static func displayName(of prospect: Prospect) -> String? {
        let name = [prospect.fields[.first], prospect.fields[.last]].compactMap { $0?.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return name.isEmpty ? nil : name.joined(separator: " ")
    }
}
