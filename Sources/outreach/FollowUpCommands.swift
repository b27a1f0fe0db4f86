import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

extension Outreach {
    /// Flags `followup` and `plan` share.
    struct FollowUpOptions: ParsableArguments {
        @Argument(help: "The campaign.") var name: String
        @Option(help: "The round: 2 for the first follow-up, 3 for the next, …") var round: Int
        @Flag(help: "Follow up even where you wrote to the prospect yourself in the thread (a reminder). Replies, bounces and complaints still stop it.")
        var force = false
        @Option(help: "Only rows of this variant.") var variant: String?
        @Flag(name: .customLong("no-sync"), help: "Decide from the index as it is, without syncing the account first.") var noSync = false

        func validate() throws {
            guard round >= 2 else { throw ValidationError("--round must be 2 or more; round 1 is `outreach send`") }
        }
    }

    /// Brings the campaign account's index up to date, so decisions are at most minutes stale.
    /// - Returns: a refresher that keeps it so during a long round.
    @discardableResult
    static func syncBeforePlanning(
        _ campaign: Campaign, database: SQLiteDatabase, registry: AccountRegistry, context: CommandContext
    ) async throws -> SyncRefresher? {
        guard let account = try await registry.account(id: campaign.accountID) else { return nil }
        let sync = AccountSync(index: database.threads, ledger: database.deliveries, registry: registry, logger: context.logger)
        let report = try await sync.run(account: account)
        FileHandle.standardError.write(Data("Synced \(account.email): \(report.newMessages) new messages.\n".utf8))
        return SyncRefresher(sync: sync, account: account)
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show, for every row, whether a follow-up round would send and why. Sends nothing.",
            discussion: "Decisions come from the thread index (synced first unless --no-sync): replies, bounces, complaints, auto-replies and your own messages in each thread."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: FollowUpOptions
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            let row: Int
            let email: String
            let decision: String
            let reason: String
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let campaign = try await CampaignLookup.campaign(named: options.name, in: database)
            if !options.noSync { try await Outreach.syncBeforePlanning(campaign, database: database, registry: registry, context: context) }
            let planner = try await FollowUpRound(campaign: campaign, round: options.round, force: options.force, index: database.threads, ledger: database.deliveries)
            var rows: [Row] = []
            try await database.campaigns.forEachProspect(campaignID: campaign.id!) { prospect in
                if let variant = options.variant, prospect.variant?.caseInsensitiveCompare(variant) != .orderedSame { return }
                let decision = try await planner.decide(prospect).decision
                rows.append(Row(row: prospect.row, email: prospect.email.description, decision: decision.verdict.rawValue, reason: decision.reason))
            }
            let sends = rows.filter { $0.decision == "send" }.count
            if json {
                struct Output: Encodable {
                    let round: Int
                    let send: Int
                    let skip: Int
                    let rows: [Row]
                }
                return try printJSON(Output(round: options.round, send: sends, skip: rows.count - sends, rows: rows))
            }
            for row in rows { print("row \(row.row) \(row.email): \(row.decision): \(row.reason)") }
            print("Round \(options.round) of \(campaign.name): \(sends) to send, \(rows.count - sends) to skip.")
        }
    }

    struct FollowUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "followup",
            abstract: "Send (or draft) a follow-up round into the same threads, to every prospect who has not answered.",
            discussion: """
                The account is synced first; each row is decided from the thread index (see `outreach plan`). A follow-up \
                replies to the last message you sent in the thread (In-Reply-To, References) with "Re: " and round 1's \
                subject unless the template's Subject line says otherwise.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: FollowUpOptions
        @Option(help: ArgumentHelp("The template file; an empty Subject: means \"Re: \" + the original subject.", valueName: "file")) var template: String
        @Option(help: "Which rows to send or draft.") var mode: RoundMode = .sendAll
        @Flag(help: "Show what would be sent; send and record nothing.") var dryRun = false
        @Flag(help: "Follow the round to its end (rounds run in the foreground for now, so this is the default).") var wait = false

        func run() async throws {
            let context = try CommandContext(global)
            let database = try context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let campaign = try await CampaignLookup.campaign(named: options.name, in: database)
            let compiled = try TemplateFile.load(template)
            let issues = compiled.lint(knownKeys: campaign.columnKeys).filter { !($0.kind == .emptySubject) }
            for issue in issues { FileHandle.standardError.write(Data("\(template): \(issue)\n".utf8)) }
            if issues.contains(where: { $0.severity == .error }) {
                throw ValidationError("\(template) has errors (listed above); fix them first — nothing was sent")
            }
            let refresher = options.noSync ? nil : try await Outreach.syncBeforePlanning(campaign, database: database, registry: registry, context: context)
            let planner = try await FollowUpRound(campaign: campaign, round: options.round, force: options.force, index: database.threads, ledger: database.deliveries)
            let render = TemplateFile.renderer(compiled)
            let mode = mode
            let runner = RoundRunner(campaigns: database.campaigns, ledger: database.deliveries, registry: registry, logger: context.logger)
            let summary = try await runner.run(
                campaign: campaign, round: options.round, options: .init(variant: options.variant, dryRun: dryRun),
                plan: { prospect in
                    // A long, paced round re-syncs every few minutes: a reply that arrives mid-round still stops the next message.
                    try await refresher?.refreshIfDue()
                    return try await planner.plan(prospect, mode: mode, render: render)
                }, report: { event in print(event.description) }
            )
            print("\(dryRun ? "Dry run" : "Round \(options.round)") of \(campaign.name): \(summary.line).")
            if let reason = summary.stoppedBecause {
                FileHandle.standardError.write(Data("The round stopped: \(reason)\nRun the same command again once that is fixed; rows already sent are not sent twice.\n".utf8))
                throw ExitCode.failure
            }
            if summary.failed > 0 { throw ExitCode.failure }
        }
    }
}
