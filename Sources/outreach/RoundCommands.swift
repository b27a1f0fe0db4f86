import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachMail
import OutreachStore

extension RoundMode: ExpressibleByArgument {}

extension Outreach {
    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Round 1: send (or draft) the first email to the campaign's prospects.",
            discussion: """
                Creates a job (now, or --at a time) that a worker runs; --wait follows it here and runs it in this \
                process if no worker does. MODE decides each row by its select column: send-all, send-selected, \
                draft-all, draft-selected, or draft-selected-send-rest. Drafts go to the account's Drafts folder. Rows \
                already sent or drafted in round 1 are never touched again, so running the same command twice sends \
                nothing new. Rows whose placeholders have no value (and no {name|fallback}) are held, never sent with \
                a blank.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The campaign.") var name: String
        @Option(help: ArgumentHelp("The template file: a Subject: line, a blank line, then the body.", valueName: "file")) var template: String
        @Option(help: "Which rows to send or draft.") var mode: RoundMode = .sendAll
        @Option(help: "Only rows of this variant (A/B tests).") var variant: String?
        @Flag(help: "Show what would be sent; send and record nothing (no job is created).") var dryRun = false
        @OptionGroup var timing: JobTimingOptions

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let campaign = try await CampaignLookup.campaign(named: name, in: database)
            let (compiled, text) = try TemplateFile.read(template)
            guard compiled.hasSubject else { throw CommandFailure("\(template): round 1 needs a subject; the first line must be `Subject: …`") }
            let issues = compiled.lint(knownKeys: campaign.columnKeys)
            for issue in issues { FileHandle.standardError.write(Data("\(template): \(issue)\n".utf8)) }
            // An error (an unknown placeholder, a broken [gap:N]) would hold every row or send the tag as written.
            if issues.contains(where: { $0.severity == .error }) {
                throw CommandFailure("\(template) has errors (listed above); fix them first — nothing was sent")
            }
            guard dryRun else {
                let spec = Job.Spec(mode: mode, variant: variant, template: text, templateName: template)
                return try await JobLaunch.launch(
                    campaign: campaign, round: FirstRound.round, spec: spec, timing: timing, context: context, database: database, registry: registry
                )
            }
            let runner = RoundRunner(campaigns: database.campaigns, ledger: database.deliveries, registry: registry, logger: context.logger)
            let render = RenderedRow.renderer(compiled)
            let mode = mode
            let summary = try await runner.run(
                campaign: campaign, round: FirstRound.round, options: .init(variant: variant, dryRun: true),
                plan: { prospect in FirstRound.plan(prospect, mode: mode, render: render) }, report: { event in print(event.description) }
            )
            if summary.total == 0, let variant { print("No rows of variant \(variant) in \(campaign.name).") }
            print("Dry run of \(campaign.name): \(summary.line).")
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the exact message (RFC 5322) that round 1 would send to one row.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The campaign.") var name: String
        @Option(help: ArgumentHelp("The template file.", valueName: "file")) var template: String
        @Option(help: "The data row number (1 = first row after the header).") var row: Int?
        @Option(help: "The prospect's address.") var email: String?

        func validate() throws {
            guard (row == nil) != (email == nil) else { throw ValidationError("give exactly one of --row N or --email E") }
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let campaign = try await CampaignLookup.campaign(named: name, in: database)
            let compiled = try TemplateFile.load(template)
            let found: Prospect?
            if let row { found = try await database.campaigns.prospect(campaignID: campaign.id!, row: row) } else {
                found = try await database.campaigns.prospect(campaignID: campaign.id!, email: email ?? "")
            }
            guard let prospect = found else {
                throw CommandFailure(row.map { "\(campaign.name) has no row \($0)" } ?? "\(campaign.name) has no prospect \(email ?? "")")
            }
            guard let account = try await registry.account(id: campaign.accountID) else { throw CommandFailure("the campaign's account is gone") }
            switch RenderedRow.renderer(compiled)(prospect) {
            case .message(let subject, let text, let html):
                let message = RoundRunner.message(to: prospect, from: account, subject: subject, text: text, html: html)
                do { print(try message.rendered(), terminator: "") } catch { throw CommandFailure("row \(prospect.row) would be held: \(error)") }
            case .needsData(let missing):
                throw CommandFailure("row \(prospect.row) would be held: no value and no fallback for \(missing.map { "{\($0)}" }.joined(separator: ", "))")
            case .unsafe(let reason):
                throw CommandFailure("row \(prospect.row) would be held: \(reason)")
            }
        }
    }

    struct TemplateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "template", abstract: "Check templates.", subcommands: [Lint.self])

        struct Lint: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Report unknown placeholders, malformed tags and the rows that would be held for missing data."
            )

            @OptionGroup var global: GlobalOptions
            @Option(help: "The campaign whose columns the template uses.") var campaign: String
            @Option(help: ArgumentHelp("The template file.", valueName: "file")) var template: String

            func run() async throws {
                let context = try CommandContext(global)
                let database = try await context.openDatabase()
                let found = try await CampaignLookup.campaign(named: campaign, in: database)
                let compiled = try TemplateFile.load(template)
                let issues = compiled.lint(knownKeys: found.columnKeys)
                for issue in issues { print("\(template): \(issue)") }
                var held: [(Int, String, [ColumnKey])] = []
                var heldCount = 0
                try await database.campaigns.forEachProspect(campaignID: found.id!) { prospect in
                    let missing = compiled.missingKeys(values: prospect.fields)
                    if !missing.isEmpty {
                        heldCount += 1
                        if held.count < 200 { held.append((prospect.row, prospect.email.description, missing)) }
                    }
                }
                for (row, email, missing) in held {
                    print("row \(row) \(email): would be held, no value for \(missing.map { "{\($0)}" }.joined(separator: ", "))")
                }
                if heldCount > held.count { print("… and \(heldCount - held.count) more rows would be held") }
                print("\(issues.count) template issue(s); \(heldCount) row(s) would be held for missing data.")
                if issues.contains(where: { $0.severity == .error }) || heldCount > 0 { throw ExitCode.failure }
            }
        }
    }
}

/// Finding a campaign by name for a command. Names are unique per owner, so web users may each have a campaign of
/// the same name: then the command asks for its number (`#12`, as `campaign list` shows).
enum CampaignLookup {
    static func campaign(named name: String, in database: Stores) async throws -> Campaign {
        let found = try await database.campaigns.campaigns(named: name)
        if found.count == 1 { return found[0] }
        if found.isEmpty {
            if name.hasPrefix("#"), let id = Int64(name.dropFirst()), let campaign = try await database.campaigns.campaign(id: id) { return campaign }
            throw StoreError.campaignNotFound(name: name)
        }
        var owners: [String] = []
        for campaign in found {
            var owner = "no owner"
            if let ownerID = campaign.ownerID, let user = try await database.users.user(id: ownerID) { owner = user.email }
            owners.append("#\(campaign.id ?? 0) (\(owner))")
        }
        throw ValidationError("several campaigns are named '\(name)': \(owners.joined(separator: ", ")); name one by its number, e.g. '#\(found[0].id ?? 0)'")
    }
}
