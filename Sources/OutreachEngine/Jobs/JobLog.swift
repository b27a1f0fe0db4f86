import Foundation
import Logging
import OutreachCore
import OutreachStore

/// A running job's log lines and counters, buffered and written together every fraction of a second: one write per
/// batch instead of several per row keeps a throttle-free round fast, and progress stays live for watchers.
final class JobLog: Sendable {
    let jobID: Int64
    private let jobs: any JobStore
    /// The run's lease: once another worker has taken the job over, this log writes no more lines.
    private let fence: LeaseFence?
    private let onEvent: @Sendable (JobEvent) -> Void
    /// Each line also goes to the process log at info (a row's outcome, with its row number), for log search tools.
    private let logger: Logger
    private let pending = LockedBox<[JobEvent]>([])
    private let latest = LockedBox(Job.Counters())

    init(jobID: Int64, jobs: any JobStore, fence: LeaseFence?, logger: Logger, onEvent: @escaping @Sendable (JobEvent) -> Void) {
        self.jobID = jobID
        self.logger = logger
        self.jobs = jobs
        self.fence = fence
        self.onEvent = onEvent
    }

    var counters: Job.Counters {
        get { latest.get() }
        set { latest.set(newValue) }
    }

    func row(_ event: RoundEvent) {
        let kind: JobEvent.Kind
        switch event.kind {
        case .sent, .wouldSend: kind = .sent
        case .drafted, .wouldDraft: kind = .drafted
        case .skipped: kind = .skipped
        case .held: kind = .held
        case .error: kind = .error
        }
        self.event(kind, row: event.row, email: event.email, event.detail)
    }

    func event(_ kind: JobEvent.Kind, row: Int? = nil, email: String? = nil, _ detail: String) {
        let event = JobEvent(jobID: jobID, kind: kind, row: row, email: email, detail: detail)
        pending.update { $0.append(event) }
        onEvent(event)
        logger.info("\(kind.rawValue) \(detail)", metadata: row.map { ["row": "\($0)"] })
    }

    func info(_ detail: String) { event(.info, detail) }

    /// Writes the buffered lines. Lines a failed write did not store stay buffered, ahead of newer ones, for the next try.
    func flush() async throws {
        let batch = pending.update { events in
            defer { events.removeAll(keepingCapacity: true) }
            return events
        }
        guard !batch.isEmpty else { return }
        do {
            try await jobs.append(batch, fence: fence)
        } catch {
            pending.update { $0.insert(contentsOf: batch, at: 0) }
            throw error
        }
    }
}
