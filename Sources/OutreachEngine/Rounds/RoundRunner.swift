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

        public init(variant: String? = nil, dryRun: Bool = false) {
            self.variant = variant
            self.dryRun = dryRun
        }
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

        public init(
            action: RoundMode.Action, subject: String, text: String, html: String, inReplyTo: String? = nil, references: [String] = [],
            threadKey: String? = nil
        ) {
            self.action = action
            self.subject = subject
            self.text = text
            self.html = html
            self.inReplyTo = inReplyTo
            self.references = references
            self.threadKey = threadKey
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
        campaign: Campaign, round: Int, options: Options, plan: @Sendable (Prospect) async throws -> RowPlan, report: @Sendable (RoundEvent) -> Void
    ) async throws -> RoundSummary {
        guard let campaignID = campaign.id else { throw StoreError.campaignNotFound(name: campaign.name) }
        guard let account = try await registry.account(id: campaign.accountID) else {
            throw AccountRegistry.Problem.unknownAccount(email: "#\(campaign.accountID)")
        }
        var logger = logger
        logger[metadataKey: "account.email"] = "\(account.email)"
        logger[metadataKey: "campaign.name"] = "\(campaign.name)"
        let password = try await registry.password(for: account)
        let session = MailSession(account: account, password: password, logger: logger)
        do {
            let summary = try await run(
                campaignID: campaignID, round: round, account: account, session: session, options: options, logger: logger, plan: plan, report: report
            )
            await session.close()
            return summary
        } catch {
            await session.close()
            throw error
        }
    }

    private func run(
        campaignID: Int64, round: Int, account: Account, session: MailSession, options: Options, logger: Logger,
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
                if let previous, previous.state.isFinal {
                    summary.alreadyDone += 1
                    continue
                }
                if let previous, previous.state == .sending || previous.state == .unknown {
                    summary.held += 1
                    event(.held, "an earlier run handed message <\(previous.messageID ?? "?")> to the server without an answer; check Sent before sending again")
                    continue
                }
                let composition: Composition
                switch try await plan(prospect) {
                case .skip(let reason):
                    summary.skipped += 1
                    if !options.dryRun { existing[prospectID] = try await record(previous, prospectID, round, .skip, .skipped, detail: reason) }
                    event(.skipped, reason)
                    continue
                case .hold(let reason):
                    summary.held += 1
                    if !options.dryRun { existing[prospectID] = try await record(previous, prospectID, round, .skip, .needsData, detail: reason) }
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
                    if !options.dryRun { existing[prospectID] = try await record(previous, prospectID, round, action, .needsData, detail: error.description) }
                    event(.held, error.description)
                    continue
                }
                if options.dryRun {
                    event(action == .send ? .wouldSend : .wouldDraft, "<\(messageID)> \"\(content.subject)\"")
                    continue
                }

                // The Message-ID is in the ledger before any server sees the message: as `planned` for a draft, and
                // for a send directly as `sending` (after the pause), which after a crash reads "outcome unknown".
                if action == .send, sentBefore {
                    let pause = account.pacing.nextPause(using: &generator)
                    if pause > 0 { try await sleep(pause) }
                }
                var delivery = try await record(
                    previous, prospectID, round, action, action == .send ? .sending : .planned, detail: nil, messageID: messageID, threadKey: threadKey
                )
                existing[prospectID] = delivery
                var rowLogger = logger
                rowLogger[metadataKey: "row"] = "\(prospect.row)"
                do {
                    switch action {
                    case .draft:
                        try await session.storeDraft(bytes)
                        delivery.state = .drafted
                        delivery.replyText = "stored in Drafts"
                        summary.drafted += 1
                        event(.drafted, "<\(messageID)>")
                    case .send:
                        sentBefore = true
                        let reply = try await session.send(bytes, from: account.email, to: prospect.email)
                        delivery.state = .sent
                        delivery.sentAt = Date()
                        delivery.replyCode = reply.code
                        delivery.replyText = reply.summary
                        summary.sent += 1
                        if let problem = await session.copyToSent(bytes) {
                            rowLogger.warning("sent, but the copy to Sent failed: \(problem)")
                            delivery.replyText = reply.summary + " (copy to Sent failed: \(problem.detail))"
                        }
                        event(.sent, "<\(messageID)> \(reply.summary)")
                    case .skip:
                        continue
                    }
                } catch {
                    switch error.kind {
                    case .rejectedPermanently, .rejectedTemporarily:
                        delivery.state = .failed
                        summary.failed += 1
                        event(.error, error.detail)
                    case .outcomeUnknown:
                        delivery.state = .unknown
                        summary.failed += 1
                        event(.error, "\(error.description) — held; it will not be resent automatically")
                    default:
                        // The account cannot send at all: nothing about this prospect is wrong, so the row goes back to planned.
                        delivery.state = .planned
                        delivery.updatedAt = Date()
                        try await ledger.update(delivery)
                        existing[prospectID] = delivery
                        summary.stoppedBecause = error.description
                        event(.error, "round stopped: \(error.description)")
                        break pages
                    }
                    delivery.replyCode = error.replyCode
                    delivery.replyText = error.detail
                }
                delivery.updatedAt = Date()
                try await ledger.update(delivery)
                existing[prospectID] = delivery
            }
        }
        return summary
    }

    /// Creates or updates the prospect's ledger row for this round.
    private func record(
        _ previous: Delivery?, _ prospectID: Int64, _ round: Int, _ action: RoundMode.Action, _ state: Delivery.State, detail: String?,
        messageID: String? = nil, threadKey: String? = nil
    ) async throws -> Delivery {
        if var delivery = previous {
            delivery.state = state
            delivery.action = action
            delivery.replyText = detail
            delivery.replyCode = nil
            if let messageID {
                delivery.messageID = messageID
                delivery.threadKey = threadKey ?? messageID
            }
            delivery.updatedAt = Date()
            try await ledger.update(delivery)
            return delivery
        }
        return try await ledger.insert(
            Delivery(
                prospectID: prospectID, round: round, state: state, action: action, messageID: messageID, threadKey: threadKey ?? messageID, replyText: detail
            )
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
