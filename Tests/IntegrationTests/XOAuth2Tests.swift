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
        let google = try FakeGmailServer()
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

        try await google.expectNoViolations()
    }

    @Test("a revoked, garbage or someone else's token is refused by IMAP and SMTP as an authentication failure that names the token")
    func refusedTokens() async throws {
        let google = try FakeGmailServer()
        defer { google.stop() }
        let servers = try MailServers(oauthTokenInfoURL: google.tokenInfoURL)
        defer { servers.stop() }
        let trust = TLSTrust(caFile: servers.caFile)
        let alice = try EmailAddress(parsing: servers.alice.email)
        let bob = try EmailAddress(parsing: servers.bob.email)

        let revoked = try google.accessToken(for: servers.alice.email)
        try await google.revoke(revoked)
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
        try await google.expectNoViolations()
    }

    @Test("when the server cannot reach its token service, the login fails as try-again-later, not as a refused token")
    func tokenServiceDown() async throws {
        let google = try FakeGmailServer()
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
