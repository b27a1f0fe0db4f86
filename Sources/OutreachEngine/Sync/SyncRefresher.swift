import Foundation
import OutreachCore

/// Keeps a long follow-up round's decisions fresh: the round asks before each row, and an incremental sync of the
/// account runs when the last one is older than the interval, so no decision is more than minutes stale.
public actor SyncRefresher {
    private let sync: AccountSync
    private let account: Account
    private let interval: TimeInterval
    private var lastSync: Date

    /// - Parameter lastSync: when the account was last synced (the sync that ran right before planning).
    public init(sync: AccountSync, account: Account, interval: TimeInterval = 300, lastSync: Date = Date()) {
        self.sync = sync
        self.account = account
        self.interval = interval
        self.lastSync = lastSync
    }

    /// Syncs if due. A failed refresh is reported to the caller, which decides whether to go on.
    public func refreshIfDue(now: Date = Date()) async throws {
        guard now.timeIntervalSince(lastSync) >= interval else { return }
        lastSync = now
        _ = try await sync.run(account: account)
    }
}
