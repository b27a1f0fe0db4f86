import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

struct CampaignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Import, list, show and export campaigns (master files).",
        subcommands: [Import.self, List.self, Show.self, Export.self]
    )
}

extension CampaignCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a prospect CSV as a new campaign (the master file every round runs from).",
            discussion: """
                UTF-8 (with or without BOM), UTF-16 and Windows-1252 files are read; comma, semicolon, tab and pipe \
                separators are detected. Headers are matched loosely ("First Name", first_name, FirstName → {first}); \
                every other column is kept and usable as a placeholder. A select column (1, yes, true, x) and a \
                variant column are recognized. Rows that cannot be imported are listed with their row numbers.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "A name for the campaign.") var name: String
        @Argument(help: "The CSV file.") var file: String
        @Option(help: "The account the campaign's rounds are sent from.") var account: String

        func validate() throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the campaign name is empty") }
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let found = try await registry.account(email: account)
            let sender = try await registry.adopted(found)
            guard let accountID = sender.id else { throw ValidationError("\(sender.email) cannot be stored, so no campaign can refer to it") }
            if found.id == nil {
                print("Stored \(sender.email) from .env so campaigns can refer to it; its servers, login and password keep coming from .env, its pacing from `outreach account set`.")
            }
            let importer = CampaignImporter(campaigns: database.campaigns, ledger: database.deliveries, settings: try CSVImportSettings(settings: context.settings))
            let path = URL(fileURLWithPath: file).standardizedFileURL.path
            let (campaign, report) = try await importer.importFile(at: path, name: name, accountID: accountID)
            print("Imported \(report.imported) of \(report.rowsRead) rows into campaign \(campaign.name), sending from \(sender.email).")
            print(report.description)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the campaigns.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            let name: String
            let account: String
            let prospects: Int
            let createdAt: Date
            let sourceFile: String
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            var rows: [Row] = []
            for campaign in try await database.campaigns.allCampaigns() {
                let account = try await database.accounts.account(id: campaign.accountID)
                rows.append(Row(
                    name: campaign.name, account: account?.email.description ?? "?", prospects: try await database.campaigns.prospectCount(campaignID: campaign.id!),
                    createdAt: campaign.createdAt, sourceFile: campaign.sourceFile
                ))
            }
            if json { return try printJSON(rows) }
            if rows.isEmpty { return print("No campaigns yet. Import one with: outreach campaign import NAME FILE --account EMAIL") }
            print(TextTable(header: ["NAME", "ACCOUNT", "PROSPECTS", "FILE"], rows: rows.map { [$0.name, $0.account, String($0.prospects), $0.sourceFile] }).rendered)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a campaign: its columns, variants and what each round did.")

        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let campaign = try await CampaignLookup.campaign(named: name, in: database)
            let account = try await database.accounts.account(id: campaign.accountID)
            print("Campaign \(campaign.name) — \(try await database.campaigns.prospectCount(campaignID: campaign.id!)) prospects, from \(campaign.sourceFile)")
            print("Account: \(account?.email.description ?? "?")")
            print("Columns: " + campaign.columns.map { $0.header == $0.key.rawValue ? $0.header : "\($0.header) → {\($0.key)}" }.joined(separator: ", "))
            var variants: [String: Int] = [:]
            var selected = 0
            try await database.campaigns.forEachProspect(campaignID: campaign.id!, pageSize: 5_000) { prospect in
                variants[prospect.variant ?? "(none)", default: 0] += 1
                if prospect.selected { selected += 1 }
            }
            print("Selected: \(selected)")
            print("Variants: " + variants.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            let deliveries = try await database.deliveries.deliveries(campaignID: campaign.id!)
            for round in Swift.Set(deliveries.map(\.round)).sorted() {
                var states: [String: Int] = [:]
                for delivery in deliveries where delivery.round == round { states[delivery.state.rawValue, default: 0] += 1 }
                print("Round \(round): " + states.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the master CSV: the original columns, then per round the message id, thread key, status and send time.",
            discussion: """
                The export is a master file: import it again to continue elsewhere. --log writes the round log instead \
                (one line per row and round); a log is a report, and importing it as a campaign is refused.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var output: String?
        @Flag(help: "Write the round log instead of the master file.") var log = false

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let campaign = try await CampaignLookup.campaign(named: name, in: database)
            let exporter = CampaignExporter(campaigns: database.campaigns, ledger: database.deliveries)
            let sink = try OutputSink(path: output)
            if log {
                try await exporter.writeRoundLog(campaign) { sink.write($0) }
            } else {
                try await exporter.writeMasterFile(campaign) { sink.write($0) }
            }
            try sink.close()
            if let output { FileHandle.standardError.write(Data("Wrote \(output).\n".utf8)) }
        }
    }
}
