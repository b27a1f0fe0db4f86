import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore
import ServiceLifecycle

/// The job worker as a service of `outreach serve`: on SIGTERM its running jobs stop between two rows and go back
/// to pending (checkpointed in the ledger), so the next start continues them.
public struct WorkerService: Service {
    let worker: Worker

    public init(worker: Worker) { self.worker = worker }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await worker.run() }
    }
}
