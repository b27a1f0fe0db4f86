import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

/// `outreach report NAME`: the A/B table of the web UI's A/B page, for every round — per variant the emails sent,
/// the prospects who replied, the reply rate with its 95% interval, and the test against the first variant.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Replies per A/B variant and round: sent, replies, reply rate with its 95% interval, the test against the first variant.",
        discussion: """
            A reply is a human answer in the thread, as `outreach plan` reads the thread index (auto-replies, bounces \
            and complaints are not replies); the account is synced first unless --no-sync. Variants come from the \
            master file's `variant` column; rows without one are "(none)". The first variant (by name) is the baseline \
            each other is tested against (two-proportion z-test, 5% level).
            """
    )

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case variant }

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The campaign.") var name: String
    @Option(help: "What to compare (variant: the master file's variant column).") var by: Grouping = .variant
    @Flag(name: .customLong("no-sync"), help: "Count from the index as it is, without syncing the account first.") var noSync = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let context = try CommandContext(global)
        let database = try await context.openDatabase()
        let registry = try context.accountRegistry(database: database)
        let campaign = try await CampaignLookup.campaign(named: name, in: database)
        if !noSync { try await Outreach.syncBeforePlanning(campaign, database: database, registry: registry, context: context) }
        let report = try await VariantReport.make(campaign: campaign, campaigns: database.campaigns, index: database.threads, ledger: database.deliveries)
        if json { return try printJSON(report) }
        print(Self.text(report), terminator: "")
    }

    /// The report as aligned tables, one per round.
    static func text(_ report: VariantReport) -> String {
        guard !report.rounds.isEmpty else {
            return "Nothing sent yet in \(report.campaign): the report counts the emails sent and the replies to them.\n"
        }
        func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
        var out = "Replies per variant in \(report.campaign) (95% interval; each variant tested against the first)\n"
        for round in report.rounds {
            let header = ["variant", "sent", "replies", "rate", "95% interval", "vs \(round.baseline?.name ?? "-")"]
            let rows = round.variants.map { variant in
                [
                    variant.name, String(variant.sent), String(variant.replies), percent(variant.rate),
                    "\(percent(variant.interval.low))–\(percent(variant.interval.high))", variant.comparison(against: round.baseline),
                ]
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { column, cell in
                    // Names left, numbers right, the last column as it is.
                    let pad = String(repeating: " ", count: widths[column] - cell.count)
                    return column == 0 || column == cells.count - 1 ? cell + (column == cells.count - 1 ? "" : pad) : pad + cell
                }.joined(separator: "  ")
            }
            out += "\nRound \(round.round)\n  " + line(header) + "\n"
            for row in rows { out += "  " + line(row) + "\n" }
            out += "  " + round.verdict + "\n"
        }
        return out
    }
}
