import Foundation
import Logging
import OutreachCore
import OutreachTransport
import Testing

/// The loopback fake of the Gmail API and Google's OAuth endpoints (Fixtures/gmail/fake_gmail.py), started detached
/// in a temporary state folder (its output goes to `server.log` there), with its test controls (/__faults,
/// /__deliver, /__state, /__violations) and the OAuth calls the tests make themselves (a sign-in through
/// ``OAuthLoopbackFlow``, a token from Fixtures/oauth_token.py, /revoke). Stopped by `stop()`, or when released.
final class FakeGmailServer: Sendable {
    let directory: String
    let apiBase: String
    let tokenURL: String
    let authURL: String
    let clientID: String
    let clientSecret: String

    /// Where a mail server checks an access token, as Gmail's IMAP and SMTP servers do at Google.
    var tokenInfoURL: String { apiBase + "/tokeninfo" }

    /// How long a test's OAuth loopback listener waits for the browser's redirect.
    static let listenerTimeout = 170

    /// The scopes ``connect(loginHint:http:)`` asks for.
    static let scopes = ["https://www.googleapis.com/auth/gmail.modify", "openid", "email"]

    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    private static var script: String { fixtures + "/gmail/fake_gmail.py" }

    /// Starts the fake on a free port; `options` are `fake_gmail.py start`'s (see Fixtures/gmail/README.md).
    init(options: [String] = []) throws {
        try RequiredTool.check("/usr/bin/python3", package: "python3")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-gmail-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let result = try CommandRunner.run("/usr/bin/python3", [Self.script, "start", directory] + options, timeout: 60)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").last,
            let info = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let apiBase = info["apiBase"] as? String, let tokenURL = info["tokenURL"] as? String, let authURL = info["authURL"] as? String,
            let clientID = info["clientId"] as? String, let clientSecret = info["clientSecret"] as? String
        else {
            Self.stop(directory)
            throw HarnessError("the fake Gmail server did not start (exit \(result.status)):\n\(result.output)")
        }
        (self.apiBase, self.tokenURL, self.authURL, self.clientID, self.clientSecret) = (apiBase, tokenURL, authURL, clientID, clientSecret)
    }

    /// Stops the server and removes its folder; later calls do nothing.
    func stop() { Self.stop(directory) }

    private static func stop(_ directory: String) {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        _ = try? CommandRunner.run("/usr/bin/python3", [script, "stop", directory], timeout: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    // MARK: - Outreach against the fake

    /// The environment that points `outreach` at this server instead of Google.
    var environment: [String: String] {
        [
            "OUTREACH_GMAIL_API_BASE": apiBase, "OUTREACH_OAUTH_AUTH_URL": authURL, "OUTREACH_OAUTH_TOKEN_URL": tokenURL, "GMAIL_CLIENT_ID": clientID,
            "GMAIL_CLIENT_SECRET": clientSecret,
        ]
    }

    /// The OAuth client the fake accepts.
    var client: OAuthClient {
        OAuthClient(clientID: clientID, clientSecret: Secret(clientSecret), authURL: authURL, tokenURL: tokenURL)
    }

    /// The Gmail API client on this server, with short retry waits.
    func api(tokens: any AccessTokenSource, http: HTTPClient) -> GmailAPI {
        GmailAPI(
            configuration: GmailAPIConfiguration(apiBase: apiBase, maxAttempts: 4, retryBaseSeconds: 0.05), tokens: tokens, http: http,
            logger: Logger(label: "test")
        )
    }

    /// What a sign-in through the loopback flow gave, and what the browser saw.
    struct Connected: Sendable {
        let tokens: OAuthTokens
        let page: String
        let faviconStatus: Int
    }

    /// Runs the loopback flow with the test as the browser: a favicon request first, then the consent URL (the fake
    /// consents at once and redirects), then the redirect on the listener.
    func connect(loginHint: String?, http: HTTPClient) async throws -> Connected {
        let browser = HTTPClient(label: "test browser", logger: Logger(label: "test"))
        let (urls, continuation) = AsyncStream.makeStream(of: String.self)
        // The listener waits as long as the test may: on a busy two-core machine the cooperative pool can be held by
        // other suites' blocking work for minutes, and a listener that gave up meanwhile refuses the "browser".
        let flow = OAuthLoopbackFlow(client: client, scopes: Self.scopes, loginHint: loginHint, http: http, timeoutSeconds: Self.listenerTimeout)
        async let tokens = flow.run { continuation.yield($0) }
        var iterator = urls.makeAsyncIterator()
        let consentURL = try #require(await iterator.next())
        let redirectURI = try #require(FormEncoding.decodeQuery(String(consentURL.split(separator: "?")[1]))["redirect_uri"])
        let listenerRoot = redirectURI.replacingOccurrences(of: "/oauth2/callback", with: "")
        let favicon = try await browser.send(HTTPRequest(method: "GET", url: listenerRoot + "/favicon.ico"))
        let consent = try await browser.send(HTTPRequest(method: "GET", url: consentURL))
        guard consent.status == 302, let location = consent.header("Location") else {
            throw HarnessError("the consent page answered \(consent.status): \(String(decoding: consent.body, as: UTF8.self))")
        }
        let page = try await browser.send(HTTPRequest(method: "GET", url: location))
        return Connected(tokens: try await tokens, page: String(decoding: page.body, as: UTF8.self), faviconStatus: favicon.status)
    }

    /// A fresh access token for `user` (default scope `https://mail.google.com/`), from a PKCE consent by
    /// Fixtures/oauth_token.py, which needs no loopback listener.
    func accessToken(for user: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/python3", [Self.fixtures + "/oauth_token.py", directory, "--user", user], timeout: 60)
        guard result.status == 0 else { throw HarnessError("oauth_token.py failed: \(result.stderr)") }
        struct Token: Decodable { let access_token: String }
        return try JSONDecoder().decode(Token.self, from: Data(result.stdout.utf8)).access_token
    }

    /// Revokes an access or refresh token at `/revoke`, as the user does in their Google account.
    func revoke(_ token: String) async throws {
        let response = try await send(
            "POST", "/revoke", contentType: "application/x-www-form-urlencoded", body: Array(FormEncoding.encode([("token", token)]).utf8)
        )
        guard response.status == 200 else { throw HarnessError("revoking failed: \(response.status) \(String(decoding: response.body, as: UTF8.self))") }
    }

    // MARK: - Test controls

    /// One request to the server through a client of its own (the form or JSON goes in the body, never in a URL).
    private func send(_ method: String, _ path: String, contentType: String? = nil, body: [UInt8]? = nil) async throws -> HTTPResponse {
        let http = HTTPClient(label: "fake gmail controls", logger: Logger(label: "test"))
        let response = try await http.send(
            HTTPRequest(method: method, url: apiBase + path, headers: contentType.map { [(name: "Content-Type", value: $0)] } ?? [], body: body)
        )
        await http.close()
        return response
    }

    /// A test-control call (`/__faults`, `/__deliver`, `/__state`, `/__violations`); anything but a 200 with a JSON
    /// object throws.
    @discardableResult
    func control(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let data = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) }
        let response = try await send(method, path, contentType: data == nil ? nil : "application/json", body: data)
        guard response.status == 200, let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw HarnessError("\(method) \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return object
    }

    func faults(_ faults: [String: Any]) async throws { try await control("POST", "/__faults", faults) }

    /// Adds a received message to `to`'s mailbox, threaded as Gmail would (or into `threadID`).
    @discardableResult
    func deliver(to: String, raw: String, threadID: String? = nil) async throws -> [String: Any] {
        var body: [String: Any] = ["to": to, "raw": raw]
        if let threadID { body["threadId"] = threadID }
        return try await control("POST", "/__deliver", body)
    }

    func state() async throws -> [String: Any] { try await control("GET", "/__state") }

    /// The requests the server recorded (every API, /auth and /token call), oldest first.
    /// Every access and refresh token the fake has issued (tests look for them where they must not be).
    func issuedTokens() async throws -> [String] { (try await state()["issuedTokens"] as? [String]) ?? [] }

    func requests() async throws -> [[String: Any]] { (try await state()["requests"] as? [[String: Any]]) ?? [] }

    /// One mailbox's messages as the fake keeps them.
    func messages(of user: String) async throws -> [[String: Any]] {
        let users = try await state()["users"] as? [String: Any]
        return ((users?[user] as? [String: Any])?["messages"] as? [[String: Any]]) ?? []
    }

    /// Every request the discovery document does not allow, and every mistake at /auth or /token.
    func violations() async throws -> [[String: Any]] {
        let answer = try await control("GET", "/__violations")
        guard let violations = answer["violations"] as? [[String: Any]] else { throw HarnessError("/__violations answered \(answer)") }
        return violations
    }

    /// Records an issue at the caller when the server saw any contract violation.
    func expectNoViolations(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let violations = try await violations()
        #expect(violations.isEmpty, "contract violations: \(violations)", sourceLocation: sourceLocation)
    }
}
