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
/// changes state, so it needs no token. A POST a browser sends from another site's page (its `Origin`, else its
/// `Referer`, names another host) is refused too, the sign-in included: there is no session token yet to forge,
/// and a cookie planted by a neighbouring site could match the login form's own.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = WebContext
    static let cookieName = "outreach_session"
    static let loginCSRFCookie = "outreach_login_csrf"

    let users: any UserStore
    let accounts: any AccountStore
    let renderer: Renderer
    /// Resolved sessions by token hash; nil values are not cached (a wrong cookie is looked up each time).
    let sessions: ShortLivedCache<String, WebSession>
    let publicURL: PublicURL?
    /// Behind a proxy that sets X-Forwarded-Host, a browser's Origin names that host.
    let trustProxy: Bool

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
        if request.method != .get && request.method != .head && isCrossSite(request) {
            return refusal(
                HTTPError(
                    .forbidden,
                    message: "This request came from a page of another site, so it was refused. Use the forms on this server's own pages. (Behind a proxy that changes the Host header, set OUTREACH_PUBLIC_URL to the address browsers use.)"
                ),
                path: path, context: context
            )
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
                let body = try await BodyLimit.form.collect(&request)
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

    /// True when a browser says the request comes from a page whose origin is not this server's. Clients that
    /// name no origin (curl, scripts) are not a page another site could make a browser submit.
    func isCrossSite(_ request: Request) -> Bool {
        let named = request.headers[.origin] ?? request.headers[.referer]
        guard let named else { return false }
        guard let parts = URLComponents(string: named), let scheme = parts.scheme?.lowercased(), let host = parts.host else { return true }
        let origin = PublicURL.authority(host: host, port: parts.port, scheme: scheme)
        var ours: [String] = []
        if let publicURL { ours.append(publicURL.authority) }
        if let authority = request.head.authority { ours.append(Self.hostAuthority(authority, scheme: scheme)) }
        if trustProxy, let forwarded = request.headers[.init("X-Forwarded-Host")!]?.split(separator: ",").last {
            ours.append(Self.hostAuthority(forwarded.trimmingCharacters(in: .whitespaces), scheme: scheme))
        }
        return !ours.contains(origin)
    }

    /// A Host header's `host[:port]` in the form ``PublicURL/authority(host:port:scheme:)`` gives.
    static func hostAuthority(_ host: String, scheme: String) -> String {
        guard let parts = URLComponents(string: "\(scheme)://\(host)"), let name = parts.host else { return host.lowercased() }
        return PublicURL.authority(host: name, port: parts.port, scheme: scheme)
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
