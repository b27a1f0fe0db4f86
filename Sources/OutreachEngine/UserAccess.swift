import Foundation
import OutreachCore
import OutreachStore

/// Taking rights away from a web user — a grant, or the user — together with the jobs that would have used them:
/// what `outreach user revoke|remove` and the web's Users page do. (A job also re-checks its owner's grant when it
/// starts and resumes, so one that slips past this still sends nothing.)
public struct UserAccess: Sendable {
    let users: any UserStore
    let jobs: any JobStore

    public init(users: any UserStore, jobs: any JobStore) {
        self.users = users
        self.jobs = jobs
    }

    /// - Returns: how many of the user's jobs on that account were cancelled (or asked to cancel, if running).
    public func revoke(_ user: User, from account: Account) async throws -> Int {
        guard let userID = user.id, let accountID = account.id else { return 0 }
        try await users.revoke(userID: userID, accountID: accountID)
        return try await jobs.cancelJobs(ownerID: userID, accountID: accountID, reason: "\(user.email) may no longer send from \(account.email)", now: Date())
    }

    /// Removes the user; their campaigns stay, for the admins.
    /// - Returns: how many of their jobs were cancelled (or asked to cancel, if running).
    public func remove(_ user: User) async throws -> Int {
        guard let userID = user.id else { return 0 }
        let cancelled = try await jobs.cancelJobs(ownerID: userID, accountID: nil, reason: "its owner \(user.email) was removed", now: Date())
        try await users.remove(userID: userID)
        return cancelled
    }

    /// "2 jobs that had not ended cancelled" / "no pending job to cancel".
    public static func cancelledText(_ count: Int) -> String {
        count == 0 ? "no pending job to cancel" : "\(count) job\(count == 1 ? "" : "s") that had not ended cancelled"
    }
}
