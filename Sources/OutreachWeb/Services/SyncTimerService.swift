import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore
import ServiceLifecycle

/// Syncs every stored account on a timer inside `outreach serve`, recording each outcome for the accounts page.
public struct SyncTimerService: Service {
    let database: Stores
    let registry: AccountRegistry
    let interval: Double
    let logger: Logger

    public init(database: Stores, registry: AccountRegistry, interval: Double, logger: Logger) {
        self.database = database
        self.registry = registry
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let sync = AccountSync(
            index: database.threads, ledger: database.deliveries, campaigns: database.campaigns, jobs: database.jobs, registry: registry, logger: logger
        )
        try await cancelWhenGracefulShutdown {
            // A database that refuses writes (disk full) must not end `serve`: the timer waits and tries again,
            // sooner than its interval at first, so syncing resumes soon after the operator has fixed the cause.
            var storeFailures = 0
            while !Task.isCancelled {
                var storeFault: StorageFault?
                do {
                    // Through the registry: the `.env` account's servers come from `.env`. SMTP-only accounts have no mailbox to mirror.
                    for account in try await registry.all() where account.canSync {
                        guard let id = account.id, !Task.isCancelled else { continue }
                        do {
                            let report = try await sync.run(account: account)
                            try await database.syncStatus.record(SyncStatus(accountID: id, syncedAt: Date(), error: nil))
                            logger.info("synced", metadata: ["account.email": "\(account.email)", "new": "\(report.newMessages)"])
                        } catch is CancellationError {
                            return
                        } catch {
                            if let fault = StorageFault(error) {
                                storeFault = fault
                                break
                            }
                            try? await database.syncStatus.record(SyncStatus(accountID: id, syncedAt: Date(), error: "\(error)"))
                            logger.warning("sync failed", metadata: ["account.email": "\(account.email)", "error": "\(error)"])
                        }
                    }
                } catch is CancellationError {
                    return
                } catch {
                    guard let fault = StorageFault(error) else { throw error }
                    storeFault = fault
                }
                var pause = interval
                if let storeFault {
                    storeFailures += 1
                    pause = min(interval, 5 * pow(2, Double(min(storeFailures, 6) - 1)))
                    logger.error("sync stopped: \(storeFault); trying again in \(Int(pause)) s", metadata: ["store.detail": "\(storeFault.detail ?? "")"])
                } else {
                    storeFailures = 0
                }
                // Cancelled while it waits: SIGTERM, a clean end (an error here would make `serve` exit with one).
                do { try await Task.sleep(for: .seconds(pause)) } catch { return }
            }
        }
    }
}
