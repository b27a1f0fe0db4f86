import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// Signs requests in from the session cookie and guards every state change with the session's CSRF token.
///
/// Pages without a session redirect to the login page; the JSON API answers 401. A POST without the right token —
/// a form field `_csrf` or an `X-CSRF-Token` header — is refused with 403 before any route sees it. GET never
/// changes state, so it needs no token.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = WebContext
    static let cookieName = "outreach_session"
    static let loginCSRFCookie = "outreach_login_csrf"

    let users: any UserStore
    let accounts: any AccountStore
    let renderer: Renderer
    /// Resolved sessions by token hash; nil values are not cached (a wrong cookie is looked up each time).
    let sessions: ShortLivedCache<String, WebSession>

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var request = request
        var context = context
        let path = request.uri.path
        // Assets and the health check need no session: no lookup for them.
        if path.hasPrefix("/assets/") || path == "/healthz" || path == "/favicon.ico" { return try await next(request, context) }
        if let token = request.cookies[Self.cookieName]?.value, !token.isEmpty {
            let hash = SessionToken.hash(token)
            if let cached = sessions.value(for: hash) {
                context.session = cached
            } else if let (user, csrf) = try await users.session(tokenHash: hash, now: Date()) {
                let granted: Set<Int64> = user.isAdmin ? Set(try await accounts.allAccounts().compactMap(\.id)) : try await users.grantedAccountIDs(userID: user.id ?? 0)
                let session = WebSession(user: user, csrfToken: csrf, tokenHash: hash, grantedAccountIDs: granted)
                sessions.store(session, for: hash)
                context.session = session
            }
        }
        if Self.isPublic(path) { return try await next(request, context) }
        guard let session = context.session else {
            if path.hasPrefix("/api/") {
                return refusal(HTTPError(.unauthorized, message: "Sign in first: POST /login, then send the session cookie"), path: path, context: context)
            }
            let target = request.uri.description
            return .redirect(to: "/login?next=" + (target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"))
        }
        if request.method != .get && request.method != .head {
            var presented = request.headers[.init("X-CSRF-Token")!]
            if presented == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                let body = try await request.collectBody(upTo: WebContext.maxFormSize)
                presented = FormData(String(buffer: body))["_csrf"]
            }
            guard let presented, Self.constantTimeEqual(presented, session.csrfToken) else {
                return refusal(HTTPError(.forbidden, message: "This form is missing its security token (CSRF). Reload the page and try again."), path: path, context: context)
            }
        }
        return try await next(request, context)
    }

    /// Drawn here rather than thrown: the error page middleware runs inside this one, and the page shows the session.
    func refusal(_ error: HTTPError, path: String, context: WebContext) -> Response {
        ErrorPageMiddleware.response(error, path: path, session: context.session, renderer: renderer)
    }

    static func isPublic(_ path: String) -> Bool {
        path == "/login" || path.hasPrefix("/assets/") || path == "/healthz" || path == "/favicon.ico"
    }

    /// Compares tokens without stopping at the first difference.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
