import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

/// `--at` and `--wait`, shared by `send` and `followup`: every round runs as a job.
struct JobTimingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start at this time: 2026-12-01T09:00 (local) or with an offset (…+01:00, …Z). Default: now.", valueName: "time"))
    var at: String?
    @Flag(help: "Follow the job to its end here (running it in this process unless a worker takes it); exit non-zero unless it completes without failures.")
    var wait = false

    func validate() throws {
        if let at { do { _ = try JobTime.parse(at) } catch { throw ValidationError("--at: \(error)") } }
    }

    var start: Date { (at.flatMap { try? JobTime.parse($0) }) ?? Date() }
}

/// Creating a round's job and, with --wait, following it.
enum JobLaunch {
    static func launch(
        campaign: Campaign, round: Int, spec: Job.Spec, timing: JobTimingOptions, context: CommandContext, database: Stores, registry: AccountRegistry
    ) async throws {
        let scheduler = context.scheduler(database: database, registry: registry)
        let job = try await scheduler.schedule(campaign: campaign, round: round, spec: spec, at: timing.start)
        let id = job.id ?? 0
        let when = job.runAt <= Date() ? "due now" : "starts at \(JobTime.format(job.runAt))"
        print("Job #\(id) created: round \(round) of \(campaign.name), \(job.counters.total) rows, \(when).")
        guard timing.wait else {
            let workers = try await database.jobs.liveWorkers(since: Date().addingTimeInterval(-30))
            if workers.isEmpty {
                print("No worker is running: start one with `outreach worker` (or `outreach serve`) to run it, or create it with --wait to run it here.")
            }
            print("Follow it with: outreach job watch \(id)")
            return
        }
        let follower = JobFollower(database: database, worker: try context.worker(database: database, registry: registry, foreground: true), printRows: true)
        let ended = try await follower.follow(jobID: id)
        print("Round \(round) of \(campaign.name): \(JobFollower.summary(ended)).")
        if !JobFollower.succeeded(ended) {
            if ended.state == .paused { FileHandle.standardError.write(Data("Job #\(id) is paused: \(ended.note ?? "")\n".utf8)) }
            throw ExitCode.failure
        }
    }
}
