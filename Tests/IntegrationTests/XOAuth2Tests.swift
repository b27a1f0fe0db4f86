import Foundation
import Logging
import OutreachCore
import OutreachMail
import OutreachTransport
import Testing

/// OAuth access tokens as IMAP and SMTP credentials (SASL XOAUTH2), against the harness's Dovecot (oauth2 passdb) and
/// SMTP relay, both checking each token at the fake Google's `/tokeninfo` as Gmail's servers would.
@Suite("XOAUTH2 against real servers", .timeLimit(.minutes(5)))
struct XOAuth2Tests {
    let logger = Logger(label: "test")

    @Test("a live access token lists and opens the mailbox over IMAP and sends mail that arrives; password users still log in")
    func liveToken() async throws {
        let google = try GoogleOAuthFake()
        defer { google.stop() }
        let servers = try MailServers(oauthTokenInfoURL: google.tokenInfoURL)
        defer { servers.stop() }
        let trust = TLSTrust(caFile: servers.caFile)
        let token = try google.accessToken(for: servers.alice.email)

        let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapsURL, as: .imap), trust: trust, logger: logger)
        try await imap.connect()
        try await imap.authenticate(username: servers.alice.email, credential: .bearer(Secret(token)))
        let names = try await imap.listMailboxes().map(\.name)
        #expect(names.contains("INBOX") && names.contains("Sent"), "\(names)")
        let inbox = try await imap.examine("INBOX")
        #expect(inbox.uidValidity > 0)
        await imap.logout()

        let alice = try EmailAddress(parsing: servers.alice.email)
        let bob = try EmailAddress(parsing: servers.bob.email)
        let subject = "Token-sent \(UUID().uuidString.prefix(8))"
        let message = OutgoingMessage(from: Mailbox(alice, name: "Alice"), to: [Mailbox(bob, name: "Bob")], subject: subject, textBody: "Sent with an OAuth token.")
        let smtp = SMTPConnection(
            endpoint: try ServerEndpoint(parsing: servers.smtpURL, as: .smtp), username: servers.alice.email, credential: .bearer(Secret(token)),
            trust: trust, logger: logger
        )
        let reply = try await smtp.send(from: alice, to: [bob], message: Array(try message.rendered().utf8))
        #expect(reply.code == 250)
        await smtp.close()
        let delivered = try servers.mailboxes(of: [servers.bob.email])[servers.bob.email]?["INBOX"] ?? []
        #expect(delivered.map(\.subject) == [subject])
        // The relay also lists OAUTHBEARER (as Gmail does) and refuses it: only a forced XOAUTH2 gets this far.
        #expect(servers.relayLog.contains("AUTH XOAUTH2 ok for 'alice@example.test'"), "\(servers.relayLog)")

        let bobIMAP = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapURL, as: .imap), trust: trust, logger: logger)
        try await bobIMAP.connect()
        try await bobIMAP.authenticate(username: servers.bob.email, credential: .password(Secret(servers.bob.password)))
        #expect(try await bobIMAP.examine("INBOX").messageCount == 1)
        await bobIMAP.logout()
        let bobSMTP = SMTPConnection(
            endpoint: try ServerEndpoint(parsing: servers.smtpsURL, as: .smtp), username: servers.bob.email, credential: .password(Secret(servers.bob.password)),
            trust: trust, logger: logger
        )
        #expect(try await bobSMTP.verifyLogin().code == 250)
        await bobSMTP.close()

        #expect(try google.violationCount() == 0)
    }

    @Test("a revoked, garbage or someone else's token is refused by IMAP and SMTP as an authentication failure that names the token")
    func refusedTokens() async throws {
        let google = try GoogleOAuthFake()
        defer { google.stop() }
        let servers = try MailServers(oauthTokenInfoURL: google.tokenInfoURL)
        defer { servers.stop() }
        let trust = TLSTrust(caFile: servers.caFile)
        let alice = try EmailAddress(parsing: servers.alice.email)
        let bob = try EmailAddress(parsing: servers.bob.email)

        let revoked = try google.accessToken(for: servers.alice.email)
        try google.revoke(revoked)
        let tokens = [
            ("revoked", revoked), ("garbage", "ya29.not-a-token-the-provider-ever-issued"),
            ("bob's", try google.accessToken(for: servers.bob.email)),
        ]
        for (what, token) in tokens {
            let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapURL, as: .imap), trust: trust, logger: logger)
            try await imap.connect()
            let imapError = await transportError { try await imap.authenticate(username: servers.alice.email, credential: .bearer(Secret(token))) }
            await imap.logout()
            #expect(imapError?.kind == .authentication, "IMAP, \(what) token: \(String(describing: imapError))")
            #expect(imapError?.detail.contains("refused the OAuth access token") == true, "\(String(describing: imapError))")

            let smtp = SMTPConnection(
                endpoint: try ServerEndpoint(parsing: servers.smtpsURL, as: .smtp), username: servers.alice.email, credential: .bearer(Secret(token)),
                trust: trust, logger: logger
            )
            let message = OutgoingMessage(from: Mailbox(alice, name: nil), to: [Mailbox(bob, name: nil)], subject: "must not arrive", textBody: "x")
            let smtpError = await transportError { _ = try await smtp.send(from: alice, to: [bob], message: Array(try message.rendered().utf8)) }
            await smtp.close()
            #expect(smtpError?.kind == .authentication, "SMTP, \(what) token: \(String(describing: smtpError))")
            #expect(smtpError?.detail.contains("refused the OAuth access token") == true, "\(String(describing: smtpError))")
            #expect(smtpError.map { !$0.description.contains(token) } ?? true, "the token leaked into the error")
        }
        #expect((try servers.mailboxes(of: [servers.bob.email])[servers.bob.email]?["INBOX"] ?? []).isEmpty)
        // Refusals are the provider's normal answer, not client mistakes.
        #expect(try google.violationCount() == 0)
    }

    @Test("when the server cannot reach its token service, the login fails as try-again-later, not as a refused token")
    func tokenServiceDown() async throws {
        let google = try GoogleOAuthFake()
        defer { google.stop() }
        let servers = try MailServers(oauthTokenInfoURL: google.tokenInfoURL)
        defer { servers.stop() }
        let trust = TLSTrust(caFile: servers.caFile)
        let token = MailCredential.bearer(Secret(try google.accessToken(for: servers.alice.email)))
        google.stop()

        let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapsURL, as: .imap), trust: trust, logger: logger)
        try await imap.connect()
        let imapError = await transportError { try await imap.authenticate(username: servers.alice.email, credential: token) }
        await imap.logout()
        #expect(imapError?.kind == .rejectedTemporarily, "\(String(describing: imapError))")

        let smtp = SMTPConnection(
            endpoint: try ServerEndpoint(parsing: servers.smtpURL, as: .smtp), username: servers.alice.email, credential: token, trust: trust, logger: logger
        )
        let smtpError = await transportError { try await smtp.verifyLogin() }
        #expect(smtpError?.kind == .rejectedTemporarily, "\(String(describing: smtpError))")
    }

    @Test("servers that take no OAuth tokens say so instead of a generic login failure")
    func serverWithoutXOAuth2() async throws {
        let servers = try MailServers()
        defer { servers.stop() }
        let trust = TLSTrust(caFile: servers.caFile)
        let token = MailCredential.bearer(Secret("ya29.any-token"))

        let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapsURL, as: .imap), trust: trust, logger: logger)
        try await imap.connect()
        let imapError = await transportError { try await imap.authenticate(username: servers.alice.email, credential: token) }
        await imap.logout()
        #expect(imapError?.kind == .authentication)
        #expect(imapError?.detail.contains("does not take OAuth access tokens (no AUTH=XOAUTH2") == true, "\(String(describing: imapError))")

        let smtp = SMTPConnection(
            endpoint: try ServerEndpoint(parsing: servers.smtpURL, as: .smtp), username: servers.alice.email, credential: token, trust: trust, logger: logger
        )
        let smtpError = await transportError { try await smtp.verifyLogin() }
        #expect(smtpError?.kind == .authentication)
        #expect(smtpError?.detail.contains("does not take OAuth access tokens (no XOAUTH2 in its AUTH LOGIN PLAIN)") == true, "\(String(describing: smtpError))")
    }

    private func transportError(_ body: () async throws -> Void) async -> TransportError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? TransportError
        }
    }
}

/// The fake Google OAuth server (`Fixtures/gmail/fake_gmail.py`) as the token issuer: consent, revocation and the
/// `/tokeninfo` the mail servers check tokens at.
private final class GoogleOAuthFake: Sendable {
    let directory: String
    let apiBase: String
    var tokenInfoURL: String { apiBase + "/tokeninfo" }

    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-google-\(UUID().uuidString.prefix(8))").path
        let result = try CommandRunner.run("/usr/bin/python3", [Self.fixtures + "/gmail/fake_gmail.py", "start", directory], timeout: 60)
        guard result.status == 0 else {
            _ = try? CommandRunner.run("/usr/bin/python3", [Self.fixtures + "/gmail/fake_gmail.py", "stop", directory], timeout: 30)
            throw HarnessError("the fake Google OAuth server did not start (exit \(result.status)):\n\(result.stderr)")
        }
        struct State: Decodable { let apiBase: String }
        apiBase = try JSONDecoder().decode(State.self, from: Data(result.stdout.utf8)).apiBase
    }

    /// A fresh access token for `user` with the `https://mail.google.com/` scope, from a PKCE consent.
    func accessToken(for user: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/python3", [Self.fixtures + "/oauth_token.py", directory, "--user", user], timeout: 60)
        guard result.status == 0 else { throw HarnessError("oauth_token.py failed: \(result.stderr)") }
        struct Token: Decodable { let access_token: String }
        return try JSONDecoder().decode(Token.self, from: Data(result.stdout.utf8)).access_token
    }

    func revoke(_ token: String) throws {
        let (status, body) = try http("POST", "/revoke", form: "token=" + token)
        guard status == 200 else { throw HarnessError("revoking failed: \(status) \(body)") }
    }

    func violationCount() throws -> Int {
        let (status, body) = try http("GET", "/__violations")
        struct Violations: Decodable { let count: Int }
        guard status == 200 else { throw HarnessError("/__violations answered \(status): \(body)") }
        let count = try JSONDecoder().decode(Violations.self, from: Data(body.utf8)).count
        if count > 0 { Issue.record("fake Google recorded violations: \(body)") }
        return count
    }

    /// One request through Python's urllib (the form goes on stdin, so no token appears in a command line).
    private func http(_ method: String, _ path: String, form: String? = nil) throws -> (Int, String) {
        let script = """
            import sys, urllib.request, urllib.error
            data = sys.stdin.buffer.read() if sys.argv[1] == "POST" else None
            req = urllib.request.Request(sys.argv[2], data=data, method=sys.argv[1])
            if data is not None: req.add_header("Content-Type", "application/x-www-form-urlencoded")
            try:
                r = urllib.request.urlopen(req, timeout=30); status, body = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            print(status); sys.stdout.write(body.decode("utf-8", "replace"))
            """
        let result = try CommandRunner.run("/usr/bin/python3", ["-c", script, method, apiBase + path], stdin: form ?? "", timeout: 30)
        guard result.status == 0 else { throw HarnessError("HTTP \(method) \(path) failed: \(result.stderr)") }
        let lines = result.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return (Int(lines.first ?? "") ?? 0, lines.count > 1 ? String(lines[1]) : "")
    }

    func stop() {
        _ = try? CommandRunner.run("/usr/bin/python3", [Self.fixtures + "/gmail/fake_gmail.py", "stop", directory], timeout: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
