import ArgumentParser
import Foundation
import OutreachStore
import OutreachTransport

extension Outreach {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the database and the master key that encrypts stored passwords.",
            discussion: """
                The key file is written next to the database (<db>.key, mode 0600) unless OUTREACH_MASTER_KEY is set \
                or OUTREACH_MASTER_KEY_FILE names another place. Keep it with your backups, apart from the database: \
                without it the stored passwords cannot be read. Running init again changes nothing that exists.
                """
        )

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try CommandContext(global)
            context.printSeedNotices()
            let existed = context.databaseIsShared || FileManager.default.fileExists(atPath: context.databasePath)
            let database = try await context.openDatabase(create: true)
            print(existed ? "Database \(database.location) is up to date." : "Created database \(database.location).")
            if let key = context.settings[MasterKey.environmentVariable], !key.isEmpty {
                _ = try MasterKey.load(keyFile: context.masterKeyFile, environment: context.settings)
                print("Master key: taken from \(MasterKey.environmentVariable).")
            } else if try MasterKey.createFile(at: context.masterKeyFile) {
                print("Created master key \(context.masterKeyFile) (mode 0600). Back it up apart from the database.")
            } else {
                _ = try MasterKey.load(keyFile: context.masterKeyFile, environment: context.settings)
                print("Master key \(context.masterKeyFile) already exists; kept.")
            }
        }
    }
}
