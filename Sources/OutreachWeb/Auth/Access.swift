import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// The role rules, in one place: an admin sees everything; a user sees their own campaigns and jobs and the accounts
/// granted to them. Anything else answers 404 — not 403 — so ids of other users' objects reveal nothing.
struct Access {
    let session: WebSession

    var user: User { session.user }
    var isAdmin: Bool { session.user.isAdmin }

    func canUse(accountID: Int64) -> Bool { isAdmin || session.grantedAccountIDs.contains(accountID) }
    func canSee(_ campaign: Campaign) -> Bool { isAdmin || (campaign.ownerID != nil && campaign.ownerID == user.id) }
    func canSee(_ job: Job) -> Bool { isAdmin || (job.ownerID != nil && job.ownerID == user.id) }

    /// Jobs listed for this user: all for an admin, theirs for a user.
    var jobOwnerFilter: Int64? { isAdmin ? nil : user.id ?? -1 }

    static let notFoundMessage = "Not found"
    static func notFound() -> HTTPError { HTTPError(.notFound, message: notFoundMessage) }

    func requireAdmin() throws {
        guard isAdmin else { throw Self.notFound() }
    }
}

extension WebContext {
    /// The signed-in user's access rules; the session middleware guarantees one on every protected route.
    func access() throws -> Access {
        guard let session else { throw HTTPError(.unauthorized, message: "Sign in first") }
        return Access(session: session)
    }
}
