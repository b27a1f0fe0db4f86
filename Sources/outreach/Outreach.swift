import ArgumentParser

@main
struct Outreach: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outreach",
        abstract: "Self-hosted outreach mail gateway: first emails and reply-aware follow-ups from your own mailboxes.",
        version: "0.1.0",
        subcommands: [Init.self, AccountCommand.self, CampaignCommand.self, TemplateCommand.self, Preview.self, Send.self, FollowUp.self, Plan.self, Sync.self, ClassifyCommand.self, Jobs.self, JobCommand.self, WorkerCommand.self, Serve.self, UserCommand.self]
    )
}
