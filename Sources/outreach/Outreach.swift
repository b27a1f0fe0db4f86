import ArgumentParser
import OutreachStore

@main
struct Outreach: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outreach",
        abstract: "Self-hosted outreach mail gateway: first emails and reply-aware follow-ups from your own mailboxes.",
        version: "0.1.0",
        subcommands: [Init.self, AccountCommand.self, CampaignCommand.self, TemplateCommand.self, Preview.self, Send.self, FollowUp.self, Plan.self, Sync.self, ClassifyCommand.self, Jobs.self, JobCommand.self, WorkerCommand.self, ReportCommand.self, Serve.self, UserCommand.self, Health.self, DatabaseCommand.self]
    )

    /// ArgumentParser's entry point, except that a database that refuses writes (disk full, file not writable) is
    /// reported in words with what to do, whichever command met it, instead of as SQLite's error text.
    static func main() async {
        var command: any ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: runtimeError(error))
        }
    }

    /// A command that ran and failed says why, without the usage text ArgumentParser adds to errors it does not know
    /// and to `ValidationError`: the usage is for arguments it could not make sense of, which `validate()` reports
    /// while parsing; a `ValidationError` a command's run throws (a setting, a timeout) is about something else.
    static func runtimeError(_ error: any Error) -> any Error {
        if let fault = StorageFault(error) { return CommandFailure(fault.description) }
        switch error {
        case let error as ValidationError: return CommandFailure(error.message)
        case is ExitCode, is CleanExit, is CommandFailure: return error
        // ArgumentParser's own (`--help` is a command whose run throws "help requested"): it knows how to print them.
        case _ where String(reflecting: type(of: error)).hasPrefix("ArgumentParser."): return error
        default: return CommandFailure(String(describing: error))
        }
    }
}
