import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachTransport

/// The web's "Connect with Google": the OAuth authorization-code flow with PKCE and `state`, redirected back to
/// the configured GMAIL_REDIRECT_URI (by default this server's own `/oauth2/callback`).
public struct GoogleOAuthSettings: Sendable {
    public var clientID: String
    public var clientSecret: Secret?
    /// GMAIL_REDIRECT_URI; nil: OUTREACH_PUBLIC_URL's `/oauth2/callback` (never the request's Host header).
    public var redirectURI: String?
    public var scopes: [String]
    public var authURL: String
    public var tokenURL: String

    /// From GMAIL_CLIENT_ID, GMAIL_CLIENT_SECRET, GMAIL_REDIRECT_URI and GMAIL_SCOPES (as in the seed's .env); nil
    /// when no client id is configured.
    public init?(settings: [String: String]) {
        func value(_ key: String) -> String? { settings[key].flatMap { $0.isEmpty ? nil : $0 } }
        guard let clientID = value("GMAIL_CLIENT_ID") else { return nil }
        self.clientID = clientID
        self.clientSecret = value("GMAIL_CLIENT_SECRET").map(Secret.init)
        self.redirectURI = value("GMAIL_REDIRECT_URI")
        let scopes = (value("GMAIL_SCOPES") ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        self.scopes = scopes.isEmpty ? OAuthSettings.defaultGmailScopes : scopes
        self.authURL = value("OUTREACH_OAUTH_AUTH_URL") ?? OAuthClient.googleAuthURL
        self.tokenURL = value("OUTREACH_OAUTH_TOKEN_URL") ?? OAuthClient.googleTokenURL
    }

    var client: OAuthClient { OAuthClient(clientID: clientID, clientSecret: clientSecret, authURL: authURL, tokenURL: tokenURL) }
}

/// A consent on its way: what the callback needs, found by the `state` it carries (once only).
struct PendingGoogleConnect: Sendable {
    let userID: Int64
    let email: EmailAddress
    let displayName: String?
    let verifier: String
    let redirectURI: String
}

extension WebApp {
    static let googleCallbackPath = SeedSettings.googleCallbackPath

    func addGoogleConnectRoutes(to router: Router<WebContext>) {
        router.post("/accounts/google") { request, context in
            let access = try context.access()
            try access.requireAdmin()
            guard let google else {
                return message(
                    "Connect with Google is not set up", "Set GMAIL_CLIENT_ID (and GMAIL_CLIENT_SECRET) for `outreach serve`, or connect from the command line with `outreach account connect-gmail`.",
                    link: "/accounts", session: context.session, status: .badRequest
                )
            }
            var request = request
            let form = try await Self.form(&request, context)
            let email: EmailAddress
            do { email = try EmailAddress(parsing: form.text("email") ?? "") } catch {
                return message("Connect with Google", "Enter the Gmail address to connect (\(error)).", link: "/accounts", session: context.session, status: .badRequest)
            }
            if let problem = SeedSettings.redirectProblem(google.redirectURI) {
                // Google would send the browser (and the code) to an address where nothing of Outreach answers.
                return message("Connect with Google is not set up", problem + " Then restart `outreach serve`.", link: "/accounts", session: context.session, status: .badRequest)
            }
            // The address Google sends the browser back to, with the code: from the configuration only. A Host
            // header is whatever the client wrote, and a code sent to the wrong host is someone else's to redeem.
            guard let redirectURI = google.redirectURI ?? publicURL.map({ $0.base + Self.googleCallbackPath }) else {
                return message(
                    "Connect with Google is not set up",
                    "Set OUTREACH_PUBLIC_URL to the address browsers use for this server (for example https://outreach.example.com), or GMAIL_REDIRECT_URI to its \(Self.googleCallbackPath), and restart `outreach serve`.",
                    link: "/accounts", session: context.session, status: .badRequest
                )
            }
            let displayName = try Self.displayName(from: form)
            let pkce = try PKCE.generate()
            let state = try SecretBox.randomBytes(16).map { String(format: "%02x", $0) }.joined()
            pendingGoogle.store(
                PendingGoogleConnect(userID: access.user.id ?? 0, email: email, displayName: displayName, verifier: pkce.verifier, redirectURI: redirectURI),
                for: state
            )
            let url = google.client.authorizationURL(redirectURI: redirectURI, scopes: google.scopes, state: state, pkce: pkce, loginHint: email.description)
            return Response(status: .seeOther, headers: [.location: url])
        }

        router.get(RouterPath(Self.googleCallbackPath)) { request, context in
            let access = try context.access()
            try access.requireAdmin()
            let query = request.uri.queryParameters
            // One use only, and only by the admin who started it: a replayed or forged redirect finds nothing.
            guard let google, let state = query["state"].map(String.init), let pending = pendingGoogle.value(for: state), pending.userID == access.user.id
            else {
                return message(
                    "Connect with Google", "This answer from Google does not belong to a connection started here (or it came after 10 minutes). Start again from the Accounts page.",
                    link: "/accounts", session: context.session, status: .badRequest
                )
            }
            pendingGoogle.remove(state)
            if let error = query["error"] {
                return message("Google did not connect the account", "Google answered \"\(error)\": nothing was stored.", link: "/accounts", session: context.session, status: .badRequest)
            }
            guard let code = query["code"].map(String.init) else { throw HTTPError(.badRequest, message: "the redirect carries no code") }
            let http = HTTPClient(label: "oauth", logger: logger)
            do {
                let tokens = try await google.client.exchange(code: code, redirectURI: pending.redirectURI, pkce: PKCE(verifier: pending.verifier), http: http)
                await http.close()
                _ = try await OAuthConnector(registry: registry, logger: logger).completeGmail(
                    email: pending.email, displayName: pending.displayName, tokens: tokens, client: google.client, apiBase: registry.gmail.apiBase
                )
            } catch {
                await http.close()
                return message("The account was not connected", try ErrorText.forRequest(error), link: "/accounts", session: context.session, status: .badRequest)
            }
            return redirect(to: "/accounts", flash: "Added \(pending.email).", session: context.session)
        }
    }
}
