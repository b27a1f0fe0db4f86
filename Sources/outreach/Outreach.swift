import ArgumentParser
import OutreachStore

@main
struct Outreach: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outreach",
        abstract: "Self-hosted outreach mail gateway: first emails and reply-aware follow-ups from your own mailboxes.",
        version: "0.1.0",
        subcommands: [Init.self, AccountCommand.self, CampaignCommand.self, TemplateCommand.self, Preview.self, Send.self, FollowUp.self, Plan.self, Sync.self, ClassifyCommand.self, Jobs.self, JobCommand.self, WorkerCommand.self, Serve.self, UserCommand.self, Health.self, DatabaseCommand.self]
    )

    /// ArgumentParser's entry point, except that a database that refuses writes (disk full, file not writable) is
    /// reported in words with what to do, whichever command met it, instead of as SQLite's error text.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: StorageFault(error) ?? error)
        }
    }
}
