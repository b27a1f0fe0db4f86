import Foundation
import Logging
import OutreachCore
import OutreachStore

/// Takes due jobs and runs them: the `outreach worker` process, the worker inside `outreach serve`, and the
/// foreground runner behind `send --wait`. Several workers (processes, machines) may share one database: claiming is
/// atomic in the store, and each account's lease lets one job of the account run at a time.
public struct Worker: Sendable {
    public let identity: WorkerIdentity
    let jobs: any JobStore
    public let runner: JobRunner
    let settings: WorkerSettings
    let logger: Logger

    public init(identity: WorkerIdentity, jobs: any JobStore, runner: JobRunner, settings: WorkerSettings, logger: Logger) {
        self.identity = identity
        self.jobs = jobs
        self.runner = runner
        self.settings = settings
        self.logger = logger
    }

    /// A storage error in words with what to do; any other error as it describes itself.
    static func words(_ error: any Error) -> String { StorageFault(error).map(\.description) ?? "\(error)" }

    /// Claims the next due job, if any (or only `jobID` and what must run before it).
    public func claim(only jobID: Int64? = nil) async throws -> JobClaim? {
        try await jobs.claim(
            holder: identity.description, now: Date(), leaseSeconds: settings.leaseSeconds, graceSeconds: settings.graceSeconds, only: jobID,
            holderAlive: identity.mayBeAlive
        )
    }

    /// Runs jobs until the task is cancelled (SIGTERM, SIGINT): up to `settings.concurrency` at a time, of different
    /// accounts. On cancellation running jobs stop between two rows and go back to pending.
    public func run(onEvent: @escaping @Sendable (JobEvent) -> Void = { _ in }) async throws {
        let holder = identity.description
        logger.info("worker \(holder) started")
        defer { logger.info("worker \(holder) stopped") }
        // A database that refuses writes right now must not keep the worker from starting: claims retry below.
        do { try await jobs.heartbeat(holder: holder, now: Date()) } catch { logger.warning("could not record this worker: \(Self.words(error))") }
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                try? await jobs.heartbeat(holder: holder, now: Date())
            }
        }
        defer { heartbeat.cancel() }
        // Child tasks answer true for a job that ended, false for a poll timer.
        await withTaskGroup(of: Bool.self) { group in
            var running = 0
            while !Task.isCancelled {
                var claimed: JobClaim?
                if running < settings.concurrency {
                    do { claimed = try await claim() } catch {
                        logger.warning("could not look for due jobs: \(Self.words(error)); trying again in \(settings.pollSeconds) s")
                    }
                }
                if let claim = claimed {
                    running += 1
                    group.addTask {
                        await runner.run(claim, onEvent: onEvent)
                        return true
                    }
                    continue
                }
                // Nothing due (or no free slot): wait for a job to end or for the next look.
                let seconds = settings.pollSeconds
                group.addTask {
                    try? await Task.sleep(for: .seconds(seconds))
                    return false
                }
                if await group.next() == true { running -= 1 }
            }
            group.cancelAll()
            await group.waitForAll()
        }
        try? await jobs.workerGone(holder: holder)
    }
}
