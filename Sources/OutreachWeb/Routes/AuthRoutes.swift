import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    static let sessionLifetime: TimeInterval = 12 * 3600

    func addAuthRoutes(to router: Router<WebContext>) {
        router.get("/login") { request, context in
            if context.session != nil { return Response.redirect(to: "/jobs") }
            // No session yet to hold a CSRF token: the form carries one that must match a cookie (double submit).
            // An existing cookie is kept: the browser's own requests (a favicon) and a second sign-in tab come back
            // here too, and a new token each time would expire the form already on screen.
            let token = request.cookies[SessionMiddleware.loginCSRFCookie]?.value.nilIfNotToken ?? SessionToken.generate()
            var response = renderer.page(
                "login", title: "Sign in", section: "", session: nil,
                values: ["csrf": token, "next": Self.safeNext(request.uri.queryParameters["next"].map(String.init))]
            )
            response.setCookie(cookie(SessionMiddleware.loginCSRFCookie, token, request: request, maxAge: 3600))
            return response
        }

        router.post("/login") { request, context in
            var request = request
            let form = try await Self.form(&request, context)
            let email = form.text("email")?.lowercased() ?? ""
            // The socket's peer; behind a proxy the last hop it added (a client can forge the ones before it).
            let forwarded = trustProxy ? request.headers[.init("X-Forwarded-For")!]?.split(separator: ",").last.map { String($0).trimmingCharacters(in: .whitespaces) } : nil
            let client = forwarded ?? context.peer
            func again(_ error: String, status: HTTPResponse.Status) -> Response {
                let token = SessionToken.generate()
                var response = renderer.page(
                    "login", title: "Sign in", section: "", session: nil,
                    values: ["csrf": token, "error": error, "email": email, "next": Self.safeNext(form["next"])], status: status
                )
                response.setCookie(cookie(SessionMiddleware.loginCSRFCookie, token, request: request, maxAge: 3600))
                return response
            }
            guard let presented = form["_csrf"], let expected = request.cookies[SessionMiddleware.loginCSRFCookie]?.value,
                SessionMiddleware.constantTimeEqual(presented, expected)
            else {
                return again("The sign-in form expired. Please sign in again.", status: .forbidden)
            }
            if let until = await throttle.blockedUntil(email: email, client: client) {
                let minutes = max(1, Int((until.timeIntervalSinceNow / 60).rounded(.up)))
                return again("Too many failed sign-ins. Try again in \(minutes) minute\(minutes == 1 ? "" : "s").", status: .tooManyRequests)
            }
            let password = form["password"] ?? ""
            // Counted before the (slow) check, so parallel guesses cannot all slip past the limit; an unknown address
            // is checked against a dummy hash so the answer takes as long as for a real one.
            await throttle.recordFailure(email: email, client: client)
            let stored = try await database.users.passwordHash(email: email)
            let matches = await Passwords.verify(password, hash: stored?.1 ?? Passwords.dummyHash)
            guard let (user, _) = stored, matches, let userID = user.id else {
                return again("That email and password do not match.", status: .unauthorized)
            }
            await throttle.recordSuccess(email: email, client: client)
            let token = SessionToken.generate()
            try await database.users.createSession(
                tokenHash: SessionToken.hash(token), userID: userID, csrfToken: SessionToken.generate(), expiresAt: Date().addingTimeInterval(Self.sessionLifetime)
            )
            logger.info("signed in", metadata: ["user": "\(user.email)"])
            var response = Response.redirect(to: Self.safeNext(form["next"]))
            response.setCookie(cookie(SessionMiddleware.cookieName, token, request: request, maxAge: Int(Self.sessionLifetime)))
            response.setCookie(cookie(SessionMiddleware.loginCSRFCookie, "", request: request, maxAge: 0))
            return response
        }

        router.post("/logout") { request, context in
            if let session = context.session {
                try await database.users.deleteSession(tokenHash: session.tokenHash)
                sessions.remove(session.tokenHash)
            }
            var response = Response.redirect(to: "/login")
            response.setCookie(cookie(SessionMiddleware.cookieName, "", request: request, maxAge: 0))
            return response
        }
    }

    /// HttpOnly and SameSite=Lax always; Secure behind HTTPS.
    func cookie(_ name: String, _ value: String, request: Request, maxAge: Int) -> Cookie {
        let https = secureCookies || request.headers[.init("X-Forwarded-Proto")!]?.lowercased() == "https"
        return Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: https, httpOnly: true, sameSite: .lax)
    }

    /// Only a local path: a login link must not send the user to another site.
    static func safeNext(_ next: String?) -> String {
        // A local path only: browsers drop tabs and line breaks, so "/\t/evil.example" would become "//evil.example".
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
            !next.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) || CharacterSet.controlCharacters.contains($0) }),
            let parts = URLComponents(string: next), parts.scheme == nil, parts.host == nil
        else { return "/jobs" }
        return next
    }
}

extension String {
    /// The string if it has the shape of ``SessionToken/generate()``'s output (64 lowercase hex digits).
    fileprivate var nilIfNotToken: String? {
        count == 64 && allSatisfy { $0.isHexDigit && !$0.isUppercase } ? self : nil
    }
}
