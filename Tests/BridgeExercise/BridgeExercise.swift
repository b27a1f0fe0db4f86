import Foundation
import Logging
import OutreachCore
import OutreachMail
import OutreachTransport

// Drives every C-bridge path once — IMAP connect/login/list/examine/fetch/logout, two SMTP sends on one connection,
// and the failure paths (wrong password, untrusted certificate) — so the integration tests can run it under valgrind.
// Usage: BridgeExercise STATE_JSON   (the state.json written by Tests/IntegrationTests/Fixtures/mailservers.py)
//
// main is synchronous on purpose: valgrind 3.19 (Debian 12) crashes on the main thread that an async main parks in
// dispatch_main's sigsuspend. A plain main thread waiting on a semaphore runs fine under it.

struct State: Decodable {
    struct User: Decodable {
        let email: String
        let password: String
    }
    let caFile: String
    let otherCAFile: String
    let imapsPort: Int
    let imapPort: Int
    let smtpPort: Int
    let smtpsPort: Int
    let users: [User]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("BridgeExercise: \(message)\n".utf8))
    exit(1)
}

@main
enum BridgeExercise {
    static func main() {
        guard CommandLine.arguments.count == 2, let data = FileManager.default.contents(atPath: CommandLine.arguments[1]),
            let state = try? JSONDecoder().decode(State.self, from: data)
        else { fail("usage: BridgeExercise STATE_JSON") }

        let logger: Logger = {
            var logger = Logger(label: "bridge-exercise")
            logger.logLevel = .error
            return logger
        }()
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await exercise(state: state, logger: logger)
                print("bridge exercise complete")
            } catch {
                fail("\(error)")
            }
            finished.signal()
        }
        finished.wait()
    }

    /// A delivery report with a Latin-1 quoted-printable part: the report parser's libetpan paths (charset
    /// conversion, address lists) run under valgrind too.
    static let deliveryReport = """
        From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r
        To: alice@example.test\r
        Subject: Undelivered Mail Returned to Sender\r
        MIME-Version: 1.0\r
        Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r
        \r
        --b\r
        Content-Type: text/plain; charset=iso-8859-1\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        Zustellung f=FCr <bob@example.test> gescheitert.\r
        --b\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.test\r
        \r
        Final-Recipient: rfc822; bob@example.test\r
        Action: failed\r
        Status: 5.1.1\r
        \r
        --b\r
        Content-Type: text/rfc822-headers\r
        \r
        Message-ID: <original@example.test>\r
        From: Alice <alice@example.test>, "Second, Sender" <second@example.test>\r
        \r
        --b--\r

        """

    static func exercise(state: State, logger: Logger) async throws {
        guard case .bounce(let details) = MessageClassifier.classify(MessageReportParser.facts(message: Array(deliveryReport.utf8))),
            details.originalMessageID == "original@example.test", details.failedRecipients == ["bob@example.test"]
        else { fail("the delivery report was not read as a hard bounce for bob@example.test") }

        let trusted = TLSTrust(caFile: state.caFile)
        let untrusted = TLSTrust(caFile: state.otherCAFile)
        let alice = state.users[0]
        let bob = state.users[1]
        let smtp = ServerEndpoint(service: .smtp, security: .startTLS, host: "127.0.0.1", port: state.smtpPort)
        let smtps = ServerEndpoint(service: .smtp, security: .implicitTLS, host: "127.0.0.1", port: state.smtpsPort)
        let imaps = ServerEndpoint(service: .imap, security: .implicitTLS, host: "127.0.0.1", port: state.imapsPort)
        let imap = ServerEndpoint(service: .imap, security: .startTLS, host: "127.0.0.1", port: state.imapPort)

        // SMTP: two messages on one connection, then the failure paths.
        let sender = SMTPConnection(endpoint: smtp, username: alice.email, password: Secret(alice.password), trust: trusted, logger: logger)
        for n in 1...2 {
            let message = OutgoingMessage(
                from: Mailbox(try EmailAddress(parsing: alice.email), name: "Alice Exercise"), to: [Mailbox(try EmailAddress(parsing: bob.email))],
                subject: "Bridge exercise \(n) — ünïcode", references: ["root@example.test"], textBody: "Hello \(n)", htmlBody: "<p>Hello \(n)</p>"
            )
            _ = try await sender.send(from: message.from.address, to: message.to.map(\.address), message: Array(try message.rendered().utf8))
        }
        await sender.close()
        let wrongPassword = SMTPConnection(endpoint: smtps, username: alice.email, password: Secret("wrong"), trust: trusted, logger: logger)
        do { try await wrongPassword.verifyLogin(); fail("SMTP accepted a wrong password") } catch { guard error.kind == .authentication else { fail("\(error)") } }
        let badCert = SMTPConnection(endpoint: smtp, username: alice.email, password: Secret(alice.password), trust: untrusted, logger: logger)
        do { try await badCert.verifyLogin(); fail("SMTP trusted an unknown CA") } catch { guard error.kind == .certificate else { fail("\(error)") } }

        // IMAP: the full read cycle over implicit TLS and over STARTTLS, then the failure paths.
        for endpoint in [imaps, imap] {
            let reader = IMAPConnection(endpoint: endpoint, trust: trusted, logger: logger)
            try await reader.connect()
            try await reader.login(username: bob.email, password: Secret(bob.password))
            _ = try await reader.listMailboxes()
            let status = try await reader.examine("INBOX")
            let fetched = try await reader.fetchHeaderFields(["Message-ID", "In-Reply-To", "References", "From", "To", "Subject", "Date"], uids: nil, from: 1)
            guard fetched.count >= 2, status.messageCount >= 2 else { fail("expected the two messages in bob's INBOX, found \(fetched.count)") }
            for message in fetched { _ = HeaderParser.parse(message.headerBytes) }
            await reader.logout()
        }
        let wrongLogin = IMAPConnection(endpoint: imaps, trust: trusted, logger: logger)
        try await wrongLogin.connect()
        do { try await wrongLogin.login(username: bob.email, password: Secret("wrong")); fail("IMAP accepted a wrong password") } catch {
            guard error.kind == .authentication else { fail("\(error)") }
        }
        await wrongLogin.logout()
        let untrustedIMAP = IMAPConnection(endpoint: imaps, trust: untrusted, logger: logger)
        do { try await untrustedIMAP.connect(); fail("IMAP trusted an unknown CA") } catch { guard error.kind == .certificate else { fail("\(error)") } }
    }
}
