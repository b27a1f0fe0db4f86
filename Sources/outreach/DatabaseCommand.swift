import ArgumentParser
import Foundation
import OutreachStore

extension Outreach {
    struct DatabaseCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db",
            abstract: "The database itself: bring its schema up to date, or move a SQLite installation to PostgreSQL.",
            subcommands: [Migrate.self, Copy.self]
        )

        struct Migrate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Bring the database's schema up to date (serve and worker also do it when they start).",
                discussion: """
                    On PostgreSQL the migrations run in one transaction under a lock: processes that start together \
                    migrate once, and a failed migration leaves nothing half done.
                    """
            )

            @OptionGroup var global: GlobalOptions

            func run() async throws {
                let context = try CommandContext(global)
                let database = try await context.openDatabase()
                await database.close()
                print("Database \(database.location) is up to date.")
            }
        }

        struct Copy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Copy this SQLite installation, whole, into an empty PostgreSQL database.",
                discussion: """
                    Copies accounts with their sealed secrets, OAuth grants, users, campaigns, ledgers, the thread index, \
                    jobs and their logs with the same ids, in one transaction, then counts every table on both sides. \
                    The target must be empty (create it with createdb). Stop serve, workers and syncs first: rows written \
                    during the copy would stay behind. Afterwards point OUTREACH_DB at the URL and keep using the same \
                    master key (OUTREACH_MASTER_KEY_FILE): the copied secrets are sealed with it.
                    """
            )

            @OptionGroup var global: GlobalOptions
            @Option(help: "The PostgreSQL database to copy into: postgres://user:password@host:5432/database.") var to: String

            func run() async throws {
                let context = try CommandContext(global)
                guard !context.databaseIsShared else {
                    throw ValidationError("the source must be a SQLite file (--db PATH); \(context.databasePath.hasPrefix("postgres") ? "it is" : "") a PostgreSQL database cannot be copied with this command")
                }
                guard Stores.isPostgres(to) else { throw ValidationError("--to must be a postgres://user:password@host:5432/database URL") }
                let source = try SQLiteDatabase(path: context.databasePath, create: false)
                let counts = try await DatabaseCopy.copy(from: source, to: to, logger: context.logger)
                let width = counts.map(\.table.count).max() ?? 0
                for count in counts {
                    print("\(count.table.padding(toLength: width, withPad: " ", startingAt: 0))  \(count.rows) rows, counted in both databases")
                }
                print("Copied \(counts.reduce(0) { $0 + $1.rows }) rows from \(source.path). Now set OUTREACH_DB to the PostgreSQL URL.")
            }
        }
    }
}
