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
        @Flag(
            help: """
                Count a reply from another address at the prospect's domain (a colleague answering for them) as the \
                prospect's reply. Never at free-mail domains (gmail.com, outlook.com, yahoo.*, gmx.*, qq.com, …), \
                where a shared domain says nothing about working together.
                """
        )
        var domainReplies = false
        @Flag(name: .customLong("no-sync"), help: "Decide from the index as it is, without syncing the account first.") var noSync = false

        func validate() throws {
            guard round >= 2 else { throw ValidationError("--round must be 2 or more; round 1 is `outreach send`") }
        }
    }

    /// Brings the campaign account's index up to date, so decisions are at most minutes stale.
    static func syncBeforePlanning(_ campaign: Campaign, database: Stores, registry: AccountRegistry, context: CommandContext) async throws {
        guard let account = try await registry.account(id: campaign.accountID) else { return }
        let sync = AccountSync(
            index: database.threads, ledger: database.deliveries, campaigns: database.campaigns, jobs: database.jobs, registry: registry, logger: context.logger
        )
        let report = try await sync.run(account: account)
        FileHandle.standardError.write(Data("Synced \(account.email): \(report.newMessages) new messages.\n".utf8))
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show, for every row, whether a follow-up round would send and why. Sends nothing.",
            discussion: "Decisions come from the thread index (synced first unless --no-sync): replies, bounces, complaints, auto-replies and your own messages in each thread."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: FollowUpOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let campaign = try await CampaignLookup.campaign(named: options.name, in: database)
            if !options.noSync { try await Outreach.syncBeforePlanning(campaign, database: database, registry: registry, context: context) }
            let plan = try await FollowUpPlan.make(
                campaign: campaign, round: options.round, force: options.force, variant: options.variant, countDomainReplies: options.domainReplies,
                campaigns: database.campaigns, index: database.threads, ledger: database.deliveries
            )
            if json {
                struct Output: Encodable {
                    let round: Int
                    let send: Int
                    let skip: Int
                    let rows: [FollowUpPlan.Row]
                }
                return try printJSON(Output(round: options.round, send: plan.sendCount, skip: plan.skipCount, rows: plan.rows))
            }
            for row in plan.rows { print("row \(row.row) \(row.email): \(row.decision): \(row.reason)") }
            print("Round \(options.round) of \(campaign.name): \(plan.sendCount) to send, \(plan.skipCount) to skip.")
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
        @Flag(help: "Show what would be sent; send and record nothing (no job is created).") var dryRun = false
        @OptionGroup var timing: JobTimingOptions

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let campaign = try await CampaignLookup.campaign(named: options.name, in: database)
            let (compiled, text) = try TemplateFile.read(template)
            let issues = compiled.lint(knownKeys: campaign.columnKeys).filter { !($0.kind == .emptySubject) }
            for issue in issues { FileHandle.standardError.write(Data("\(template): \(issue)\n".utf8)) }
            if issues.contains(where: { $0.severity == .error }) {
                throw CommandFailure("\(template) has errors (listed above); fix them first — nothing was sent")
            }
            guard dryRun else {
                // The job syncs the account right before it plans, whenever it starts.
                let spec = Job.Spec(
                    mode: mode, variant: options.variant, force: options.force, domainReplies: options.domainReplies, template: text, templateName: template
                )
                return try await JobLaunch.launch(
                    campaign: campaign, round: options.round, spec: spec, timing: timing, context: context, database: database, registry: registry
                )
            }
            if !options.noSync { try await Outreach.syncBeforePlanning(campaign, database: database, registry: registry, context: context) }
            let planner = try await FollowUpRound(
                campaign: campaign, round: options.round, force: options.force, index: database.threads, ledger: database.deliveries,
                countDomainReplies: options.domainReplies
            )
            let render = RenderedRow.renderer(compiled)
            let mode = mode
            let runner = RoundRunner(campaigns: database.campaigns, ledger: database.deliveries, registry: registry, logger: context.logger)
            let summary = try await runner.run(
                campaign: campaign, round: options.round, options: .init(variant: options.variant, dryRun: true),
                plan: { prospect in try await planner.plan(prospect, mode: mode, render: render) }, report: { event in print(event.description) }
            )
            print("Dry run of round \(options.round) of \(campaign.name): \(summary.line).")
        }
    }
}
