import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

extension Outreach {
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List jobs: pending, running and paused ones, and those that ended in the last 24 hours (--all: every job)."
        )

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Every job, however old.") var all = false
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            let id: Int64
            let state: String
            let campaign: String
            let round: Int
            let account: String
            let runAt: Date
            let counters: Job.Counters
            let note: String?
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            var jobs = try await database.jobs.jobs(states: nil, ownerID: nil, limit: all ? Int.max : 1000)
            if !all {
                let dayAgo = Date().addingTimeInterval(-86_400)
                jobs = jobs.filter { !$0.state.isFinal || ($0.finishedAt ?? $0.createdAt) > dayAgo }
            }
            var campaigns: [Int64: String] = [:]
            var accounts: [Int64: String] = [:]
            var rows: [Row] = []
            for job in jobs {
                if campaigns[job.campaignID] == nil { campaigns[job.campaignID] = try await database.campaigns.campaign(id: job.campaignID)?.name ?? "?" }
                if accounts[job.accountID] == nil { accounts[job.accountID] = try await database.accounts.account(id: job.accountID)?.email.description ?? "?" }
                rows.append(Row(
                    id: job.id ?? 0, state: job.state.rawValue, campaign: campaigns[job.campaignID]!, round: job.round, account: accounts[job.accountID]!,
                    runAt: job.runAt, counters: job.counters, note: job.note
                ))
            }
            if json { return try printJSON(rows) }
            if rows.isEmpty { return print(all ? "No jobs yet." : "No current jobs (`outreach jobs --all` shows older ones).") }
            print(TextTable(
                header: ["ID", "STATE", "CAMPAIGN", "ROUND", "ACCOUNT", "START", "DONE", "SENT", "SKIPPED", "FAILED", "NOTE"],
                rows: rows.map {
                    [
                        "#\($0.id)", $0.state, $0.campaign, String($0.round), $0.account, JobTime.format($0.runAt), "\($0.counters.done)/\($0.counters.total)",
                        String($0.counters.sent + $0.counters.drafted), String($0.counters.skipped), String($0.counters.failed), $0.note ?? "",
                    ]
                }
            ).rendered)
        }
    }

    struct JobCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "job", abstract: "Look at one job and act on it.",
            subcommands: [Show.self, Logs.self, Watch.self, Cancel.self, Pause.self, Resume.self, Reschedule.self, Resolve.self]
        )

        /// The job's id: `12` or `#12`.
        struct JobID: ExpressibleByArgument {
            let value: Int64
            init?(argument: String) {
                guard let value = Int64(argument.hasPrefix("#") ? String(argument.dropFirst()) : argument), value > 0 else { return nil }
                self.value = value
            }
        }

        static func load(_ id: JobID, _ database: Stores) async throws -> Job {
            guard let job = try await database.jobs.job(id: id.value) else { throw JobRuleError.jobNotFound(id: id.value) }
            return job
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A job's state, schedule, counters and template.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                let job = try await load(id, database)
                if json { return try printJSON(job) }
                let campaign = try await database.campaigns.campaign(id: job.campaignID)?.name ?? "?"
                let account = try await database.accounts.account(id: job.accountID)?.email.description ?? "?"
                let c = job.counters
                var lines = [
                    "Job #\(job.id ?? 0): \(job.state.rawValue)\(job.control.map { " (\($0.rawValue) requested)" } ?? "")",
                    "Campaign: \(campaign), round \(job.round), account \(account)",
                    "Mode: \(job.spec.mode.rawValue)\(job.spec.variant.map { ", variant \($0)" } ?? "")\(job.spec.force ? ", force" : ""); template \(job.spec.templateName)",
                    "Start: \(JobTime.format(job.runAt))\(job.startedAt.map { "; started \(JobTime.format($0))" } ?? "")\(job.finishedAt.map { "; ended \(JobTime.format($0))" } ?? "")",
                    "Rows: \(c.total) — \(c.sent) sent, \(c.drafted) drafted, \(c.skipped) skipped, \(c.failed) failed, \(c.held) held, \(c.remaining) remaining",
                ]
                if let note = job.note { lines.append("Note: \(note)") }
                print(lines.joined(separator: "\n"))
            }
        }

        struct Logs: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A job's log: one line per row (SENT, DRAFTED, SKIPPED + reason, HELD, ERROR + code and server text).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                _ = try await load(id, database)
                var after: Int64 = 0
                var all: [JobEvent] = []
                while true {
                    let page = try await database.jobs.events(jobID: id.value, afterID: after, limit: 5000)
                    guard let last = page.last else { break }
                    after = last.id ?? after
                    if json { all += page } else { for event in page { print("\(JobTime.format(event.at)) \(event.description)") } }
                }
                if json { try printJSON(all) }
            }
        }

        struct Watch: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Follow a job until it ends or pauses: a progress bar on a terminal, log lines otherwise.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                _ = try await load(id, database)
                let ended = try await JobFollower(database: database, worker: nil, printRows: isatty(STDOUT_FILENO) != 1).follow(jobID: id.value)
                print(JobFollower.summary(ended))
                if !JobFollower.succeeded(ended) { throw ExitCode.failure }
            }
        }

        struct Cancel: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Cancel a job. A running job stops between two rows; nothing is sent twice.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID

            func run() async throws {
                let job = try await CommandContext(global).openDatabase().jobs.request(.cancel, jobID: id.value, now: Date())
                print(job.state == .running ? "Job #\(id.value) stops after the row it is on." : "Job #\(id.value) is cancelled.")
            }
        }

        struct Pause: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Pause a job; `job resume` continues it where it stopped.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID

            func run() async throws {
                let job = try await CommandContext(global).openDatabase().jobs.request(.pause, jobID: id.value, now: Date())
                print(job.state == .running ? "Job #\(id.value) pauses after the row it is on." : "Job #\(id.value) is paused.")
            }
        }

        struct Resume: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Continue a paused job (due now, or at its start time if that is later).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID

            func run() async throws {
                let job = try await CommandContext(global).openDatabase().jobs.resume(jobID: id.value, now: Date())
                print(job.state == .running ? "Job #\(id.value) goes on (the pause was withdrawn)." : "Job #\(id.value) is pending again; a worker continues it.")
            }
        }

        struct Reschedule: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Move a pending or paused job to another start time (the guard window applies).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID
            @Option(help: ArgumentHelp("The new start: 2026-12-01T09:00 (local) or with an offset.", valueName: "time")) var at: String

            func validate() throws {
                do { _ = try JobTime.parse(at) } catch { throw ValidationError("--at: \(error)") }
            }

            func run() async throws {
                let context = try CommandContext(global)
                let database = try await context.openDatabase()
                let registry = try context.accountRegistry(database: database)
                let job = try await context.scheduler(database: database, registry: registry).reschedule(jobID: id.value, to: try JobTime.parse(at))
                print("Job #\(id.value) now starts at \(JobTime.format(job.runAt)).")
            }
        }

        struct Resolve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Settle a row whose outcome is unknown (the connection broke after the message was handed over, and it is not in Sent).",
                discussion: "--sent counts it as sent; --resend sends it again with the same Message-ID (the job runs once more for it)."
            )
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's id.") var id: JobID
            @Option(help: "The data row (as the job's log names it).") var row: Int
            @Flag(help: "It arrived: count it as sent.") var sent = false
            @Flag(help: "It did not arrive: send it again.") var resend = false

            func validate() throws {
                guard sent != resend else { throw ValidationError("give exactly one of --sent or --resend") }
            }

            func run() async throws {
                let context = try CommandContext(global)
                let database = try await context.openDatabase()
                let registry = try context.accountRegistry(database: database)
                print(try await context.scheduler(database: database, registry: registry).resolve(jobID: id.value, row: row, as: sent ? .sent : .resend))
            }
        }
    }

    struct WorkerCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "worker",
            abstract: "Run due jobs until stopped (several workers may share one database).",
            discussion: """
                One job per account runs at a time; jobs of different accounts run side by side (up to \
                OUTREACH_WORKER_CONCURRENCY, default 4). On SIGTERM or Ctrl-C running jobs stop between two rows and \
                go back to pending for the next worker. A worker that is killed outright leaves its jobs to the next \
                one: rows it had handed to the server without an answer are checked in Sent before anything is resent.
                """
        )

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            context.printSeedNotices()
            let worker = try context.worker(database: database, registry: registry)
            let task = Task {
                try await worker.run(onEvent: { event in
                    // One line per event on standard output: a worker's log for systemd or a terminal.
                    print("job #\(event.jobID) \(event.description)")
                })
            }
            let signals = SignalWatch(signals: [SIGTERM, SIGINT]) { task.cancel() }
            defer { signals.stop() }
            print("Worker \(worker.identity) running; stop it with Ctrl-C or SIGTERM.")
            try await task.value
        }
    }
}
