import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

/// Follows a job to its end for `send --wait`, `followup --wait` and `job watch`: prints its log lines as they are
/// written, a progress bar on a terminal, and runs the job in this process when it is due and no worker has taken it.
struct JobFollower {
    let database: Stores
    let worker: Worker?
    /// Print every row's log line (off for `job watch` on a terminal, which shows the bar only… and errors).
    let printRows: Bool

    /// - Returns: the job as it ended (completed, failed, cancelled, missed) or paused.
    func follow(jobID: Int64) async throws -> Job {
        let interactive = isatty(STDOUT_FILENO) == 1
        var lastEvent: Int64 = 0
        var inline: Task<JobRunner.Ending, Never>?
        var inlineDone = LockedFlag()
        var announcedWait = false
        var lastOrphanLook = Date.distantPast
        defer { inline?.cancel() }
        while true {
            guard let job = try await database.jobs.job(id: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
            // Lines first, then the state: the last lines of a finished job must not be lost.
            for event in try await database.jobs.events(jobID: jobID, afterID: lastEvent, limit: 1000) {
                lastEvent = event.id ?? lastEvent
                if interactive { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
                if printRows || event.kind == .error || event.row == nil {
                    print(event.description)
                    // A log file or a pipe sees each line as the row ends, not when the buffer fills.
                    fflush(nil)
                }
            }
            if job.state.isFinal || job.state == .paused {
                if let inline { _ = await inline.value }
                if interactive { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
                return try await database.jobs.job(id: jobID) ?? job
            }
            if job.state == .pending, job.runAt > Date(), !announcedWait {
                print("Job #\(jobID) waits until \(JobTime.format(job.runAt)); it starts then (keep this running, or let a worker run it).")
                announcedWait = true
            }
            // A running job whose worker is gone (its lease expired: a crash, a storage error) is taken over too,
            // but looked for only every few seconds: each look is a write.
            let orphanLook = job.state == .running && Date().timeIntervalSince(lastOrphanLook) >= 5
            if let worker, inline == nil, (job.state == .pending && job.runAt <= Date()) || orphanLook {
                if orphanLook { lastOrphanLook = Date() }
                if let claim = try await worker.claim(only: jobID) {
                    if claim.job.id != jobID { print("Finishing job #\(claim.job.id ?? 0) of the same account first: its worker stopped before it ended.") }
                    let done = LockedFlag()
                    inlineDone = done
                    inline = Task {
                        let ending = await worker.runner.run(claim)
                        done.set()
                        return ending
                    }
                }
            }
            // An inline run that ended (or that ran another job first) lets the loop claim again; one that could not
            // even record its end (the database refuses writes) ends the wait with what to do.
            if let running = inline, inlineDone.isSet {
                inline = nil
                if case .storeUnavailable(let reason) = await running.value { throw CommandFailure(reason) }
            }
            if interactive, job.state == .running { Self.drawBar(job) }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func drawBar(_ job: Job) {
        let width = 30
        let filled = Int(job.counters.fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let c = job.counters
        let line = "\r[\(bar)] \(c.done)/\(c.total)  sent \(c.sent)  drafted \(c.drafted)  skipped \(c.skipped)  failed \(c.failed)  held \(c.held)\u{1B}[K"
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    /// "job #3 completed: 8 rows, 2 sent, …" — the closing line of a round.
    static func summary(_ job: Job) -> String {
        let c = job.counters
        var line = "job #\(job.id ?? 0) \(job.state.rawValue): \(c.total) rows, \(c.sent) sent, \(c.drafted) drafted, \(c.skipped) skipped, \(c.held) held, \(c.failed) failed"
        if let note = job.note { line += " — \(note)" }
        return line
    }

    /// Exit status: success only for a completed job without failed rows.
    static func succeeded(_ job: Job) -> Bool { job.state == .completed && job.counters.failed == 0 }
}

/// A flag set from one task and read from another.
final class LockedFlag: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
