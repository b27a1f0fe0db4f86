import Foundation
import Logging
import OutreachCore
import OutreachStore
import OutreachTransport
import Testing

/// Module 2 end to end: round 1, then replies of every kind arrive, then follow-ups decided from the synced index.
@Suite("Follow-ups against real servers", .timeLimit(.minutes(5)))
struct FollowUpTests {
    @Test("only prospects who did not answer get follow-ups, threaded under round 1; --force adds the reminder; plan explains each skip")
    func replyAwareFollowUps() async throws {
        let sender = (email: "sales@example.test", password: "sales-pw")
        let prospects = (1...8).map { (email: "p\($0)@example.test", password: "pw\($0)") }
        let servers = try MailServers(users: [sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: sender, servers: servers)
        let csv = "email,first\n" + prospects.map { "\($0.email),P" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: cli.directory + "/l.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try "Subject:\n\nJust following up, {first}.\n".write(toFile: cli.directory + "/next.md", atomically: true, encoding: .utf8)
        try #require(cli.run(["campaign", "import", "T", cli.directory + "/l.csv", "--account", sender.email]).status == 0)
        try #require(cli.run(["send", "T", "--template", cli.directory + "/first.md"]).status == 0)

        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let campaign = try #require(try await database.campaigns.campaign(named: "T"))
        let round1 = try await database.deliveries.deliveries(campaignID: campaign.id!, round: 1)
        var ids: [String] = []
        for row in 1...8 {
            let prospect = try #require(try await database.campaigns.prospect(campaignID: campaign.id!, row: row))
            ids.append(try #require(round1[prospect.id!]?.messageID))
        }

        func message(from: String, to: String, id: String, subject: String = "Re: Hello P", headers: String = "", body: String = "Sounds good.") -> String {
            "From: \(from)\r\nTo: \(to)\r\nSubject: \(subject)\r\nMessage-ID: <\(id)>\r\n\(headers)Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\n\(body)\r\n"
        }
        let p = prospects.map(\.email)
        // p1 replies with References, p2 with only In-Reply-To, p3 with no threading headers at all.
        try servers.deliver(message(from: p[0], to: sender.email, id: "r1@x.test", headers: "In-Reply-To: <\(ids[0])>\r\nReferences: <\(ids[0])>\r\n"), from: p[0], to: sender.email)
        try servers.deliver(message(from: p[1], to: sender.email, id: "r2@x.test", headers: "In-Reply-To: <\(ids[1])>\r\n"), from: p[1], to: sender.email)
        try servers.deliver(message(from: p[2], to: sender.email, id: "r3@x.test"), from: p[2], to: sender.email)
        // p4 is away: an RFC 3834 auto-reply does not stop the sequence.
        try servers.deliver(message(
            from: p[3], to: sender.email, id: "auto4@x.test", subject: "Automatic reply: Hello P",
            headers: "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\nIn-Reply-To: <\(ids[3])>\r\n", body: "I am out of the office until Monday."
        ), from: p[3], to: sender.email)
        // p5 bounced: a DSN from the receiving MTA.
        let dsn = """
            From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r
            To: \(sender.email)\r
            Subject: Undelivered Mail Returned to Sender\r
            Message-ID: <bounce5@mx.example.test>\r
            Date: Mon, 30 Nov 2026 10:00:00 +0000\r
            Auto-Submitted: auto-replied\r
            MIME-Version: 1.0\r
            Content-Type: multipart/report; report-type=delivery-status; boundary="B5"\r
            \r
            --B5\r
            Content-Type: text/plain\r
            \r
            The mail system could not deliver your message to <\(p[4])>.\r
            --B5\r
            Content-Type: message/delivery-status\r
            \r
            Reporting-MTA: dns; mx.example.test\r
            \r
            Final-Recipient: rfc822; \(p[4])\r
            Action: failed\r
            Status: 5.1.1\r
            Diagnostic-Code: smtp; 550 5.1.1 <\(p[4])>: Recipient address rejected: User unknown\r
            \r
            --B5\r
            Content-Type: text/rfc822-headers\r
            \r
            Message-ID: <\(ids[4])>\r
            Subject: Hello P\r
            \r
            --B5--\r
            """
        try servers.deliver(dsn, from: "MAILER-DAEMON@mx.example.test", to: sender.email)
        // p6: the sender answered the thread by hand; p7: the reply landed in Junk; p8 never answers.
        let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapsURL, as: .imap), trust: TLSTrust(caFile: servers.caFile), logger: Logger(label: "test"))
        try await imap.connect()
        try await imap.login(username: sender.email, password: Secret(sender.password))
        try await imap.append(Array(message(from: sender.email, to: p[5], id: "manual6@example.test", headers: "In-Reply-To: <\(ids[5])>\r\nReferences: <\(ids[5])>\r\n", body: "Did you see my note?").utf8), to: "Sent", flags: [.seen])
        try await imap.append(Array(message(from: p[6], to: sender.email, id: "r7@x.test", headers: "In-Reply-To: <\(ids[6])>\r\n").utf8), to: "Junk", flags: [])
        await imap.logout()

        let plan = try cli.run(["plan", "T", "--round", "2"])
        #expect(plan.status == 0, "\(plan.output)")
        func line(_ row: Int) -> String { plan.stdout.split(separator: "\n").first { $0.hasPrefix("row \(row) ") }.map(String.init) ?? "" }
        #expect(line(1).contains("skip: replied"), "\(line(1))")
        #expect(line(2).contains("skip: replied"), "\(line(2))")
        #expect(line(3).contains("skip: replied") && line(3).contains("matched by subject"), "\(line(3))")
        #expect(line(4).contains("send: only an auto-reply"), "\(line(4))")
        #expect(line(5).contains("skip: bounced"), "\(line(5))")
        #expect(line(6).contains("skip: you wrote to them yourself"), "\(line(6))")
        #expect(line(7).contains("skip: replied"), "\(line(7))")
        #expect(line(8).contains("send: no reply"), "\(line(8))")

        // The sender throws p1's reply away after the sync saw it: it still counts (round 2 syncs again first).
        let inbox = URL(fileURLWithPath: "\(servers.state.dir)/mail/\(sender.email)/Maildir")
        var deleted = 0
        for folder in ["cur", "new"] {
            let directory = inbox.appendingPathComponent(folder)
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                let path = directory.appendingPathComponent(file).path
                if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("Message-ID: <r1@x.test>") {
                    try FileManager.default.removeItem(atPath: path)
                    deleted += 1
                }
            }
        }
        #expect(deleted == 1)

        let round2 = try cli.run(["followup", "T", "--round", "2", "--template", cli.directory + "/next.md"])
        #expect(round2.status == 0, "\(round2.output)")
        #expect(round2.stdout.contains(" 2 sent"), "\(round2.output)")
        let round3 = try cli.run(["followup", "T", "--round", "3", "--template", cli.directory + "/next.md", "--force"])
        #expect(round3.status == 0, "\(round3.output)")
        #expect(round3.stdout.contains(" 3 sent"), "\(round3.output)")

        let boxes = try servers.mailboxes(of: p)
        let expected = [1, 1, 1, 3, 0, 2, 1, 3]  // round 1 to all but p5 (its Dovecot box exists: LMTP accepted round 1 too)
        for (index, address) in p.enumerated() {
            let inbox = boxes[address]?["INBOX"] ?? []
            let want = index == 4 ? 1 : expected[index]
            #expect(inbox.count == want, "\(address) has \(inbox.count) messages, expected \(want)")
            #expect(inbox.allSatisfy { $0.defects.isEmpty })
            for followUp in inbox.filter({ $0.subject != "Hello P" }) {
                #expect(followUp.subject == "Re: Hello P", "\(followUp.subject ?? "")")
                #expect(followUp.text?.contains("Just following up") == true)
            }
        }
        // The follow-ups thread under round 1: In-Reply-To and References, read by Python's parser from the raw files.
        let raw = try CommandRunner.run("/bin/sh", ["-c", "cat \(servers.state.dir)/mail/\(p[7])/Maildir/*/*"]).stdout
        #expect(raw.contains("References: <\(ids[7])>"), "no References to round 1 in p8's mail")
        #expect(raw.components(separatedBy: "In-Reply-To: <").count - 1 == 2)
    }
}
