import Foundation
import Logging
import OutreachCore
import OutreachMail
import OutreachTransport
import Testing

@Suite("C bridges against real servers", .timeLimit(.minutes(5)))
struct MessageRoundTripTests {
    @Test("a message sent through the SMTP bridge arrives in Dovecot and reads back with its threading headers intact")
    func sendAndReadBack() async throws {
        let servers = try MailServers()
        defer { servers.stop() }
        let logger = Logger(label: "test")
        let trust = TLSTrust(caFile: servers.caFile)
        let alice = try EmailAddress(parsing: servers.alice.email)
        let bob = try EmailAddress(parsing: servers.bob.email)

        let original = "first.\(UUID().uuidString)@example.test"
        let earlier = "root.\(UUID().uuidString)@example.test"
        var message = OutgoingMessage(
            from: Mailbox(alice, name: "Alice Müller"), to: [Mailbox(bob, name: "Bob")], subject: "Re: Quarterly plan — naïve question",
            inReplyTo: original, references: [earlier, original], textBody: "Following up.\n.\nA line with only a dot above.",
            htmlBody: "<p>Following up.</p>"
        )
        message.extraHeaders = [(name: "X-Outreach-Test", value: "round-trip")]

        let smtp = SMTPConnection(
            endpoint: try ServerEndpoint(parsing: servers.smtpURL, as: .smtp), username: servers.alice.email,
            password: Secret(servers.alice.password), trust: trust, logger: logger
        )
        let reply = try await smtp.send(from: alice, to: [bob], message: Array(try message.rendered().utf8))
        #expect(reply.code == 250)
        await smtp.close()

        let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapsURL, as: .imap), trust: trust, logger: logger)
        try await imap.connect()
        try await imap.login(username: servers.bob.email, password: Secret(servers.bob.password))
        let status = try await imap.examine("INBOX")
        #expect(status.messageCount == 1)
        #expect(status.uidValidity > 0)
        let fetched = try await imap.fetchHeaderFields(
            ["Message-ID", "In-Reply-To", "References", "From", "To", "Subject", "Date", "X-Outreach-Test"], uids: nil, from: 1
        )
        await imap.logout()

        let headers = HeaderParser.parse(try #require(fetched.first).headerBytes)
        #expect(headers.messageID == message.messageID)
        #expect(headers.inReplyTo == [original])
        #expect(headers.references == [earlier, original])
        #expect(headers.subject == "Re: Quarterly plan — naïve question")
        #expect(headers.from.first?.address == alice)
        #expect(headers.from.first?.name == "Alice Müller")
        #expect(headers.to.first?.address == bob)
        #expect(headers[field: "X-Outreach-Test"] == "round-trip")
        #expect(abs((headers.date ?? .distantPast).timeIntervalSince(message.date)) < 2)
    }

    @Test("fetching from a UID past the last message returns nothing, though IMAP's n:* always answers with the last one")
    func fetchPastTheEnd() async throws {
        let servers = try MailServers()
        defer { servers.stop() }
        try servers.deliver("Message-ID: <only@example.test>\r\nSubject: one\r\n\r\nbody\r\n", from: "x@example.test", to: servers.bob.email)
        let imap = IMAPConnection(
            endpoint: try ServerEndpoint(parsing: servers.imapURL, as: .imap), trust: TLSTrust(caFile: servers.caFile), logger: Logger(label: "test")
        )
        try await imap.connect()
        try await imap.login(username: servers.bob.email, password: Secret(servers.bob.password))
        let status = try await imap.examine("INBOX")
        let all = try await imap.fetchHeaderFields(["Message-ID"], uids: nil, from: 1)
        let none = try await imap.fetchHeaderFields(["Message-ID"], uids: nil, from: status.uidNext)
        await imap.logout()
        #expect(all.map { HeaderParser.parse($0.headerBytes).messageID } == ["only@example.test"])
        #expect(none.isEmpty)
    }
}
