import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// The request context of every web route: who is signed in (if anyone) and their CSRF token.
public struct WebContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``SessionMiddleware`` for a signed-in user.
    var session: WebSession?

    /// The client's address as the socket sees it: what login throttling counts by.
    let peer: String

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.peer = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Hummingbird's own decoders' limit; the routes read bodies through ``BodyLimit``.
    public var maxUploadSize: Int { BodyLimit.upload.bytes }
}

/// A signed-in user, what they may see, and the token their forms must carry.
struct WebSession: Sendable {
    let user: User
    let csrfToken: String
    let tokenHash: String
    /// The accounts an admin granted this user (all accounts for an admin: see ``Access``).
    let grantedAccountIDs: Set<Int64>
}
