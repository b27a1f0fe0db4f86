import Foundation
import Logging
import OutreachCore
import OutreachStore
import OutreachTransport
import Testing

/// The drafts-only workflow: round 1 is drafted, the operator sends some of the drafts from their own mail client
/// (one after an edit that gave it a new Message-ID), and the next sync turns exactly those rows `sent`, so the
/// follow-ups answer the message that actually went out and still skip the drafts never sent.
@Suite("Drafts sent by hand", .serialized, .timeLimit(.minutes(5)))
struct DraftsSentByHandTests {
    struct Prospect {
        let row: Int
        var email: String { "p\(row)@example.test" }
        var first: String { "Pat\(row)" }
        var subject: String { "Hello \(first)" }
    }

    static let prospects = (1...6).map(Prospect.init(row:))
    static let firstTemplate = "Subject: Hello {first}\n\nHi {first}, a first note.\n"
    static let nextTemplate = "Subject:\n\nJust following up, {first}.\n"
    static let csv = "email,first\n" + prospects.map { "\($0.email),\($0.first)" }.joined(separator: "\n") + "\n"

    /// `plan`'s line for each prospect, after "row N email: ".
    static func planLines(_ output: String) -> [Int: String] {
        var lines: [Int: String] = [:]
        for prospect in prospects {
            let head = "row \(prospect.row) \(prospect.email): "
            lines[prospect.row] = output.split(separator: "\n").first { $0.hasPrefix(head) }.map { String($0.dropFirst(head.count)) }
        }
        return lines
    }

    /// The round-1 rows by prospect row.
    static func roundOne(_ cli: OutreachSandbox) async throws -> [Int: Delivery] {
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let campaign = try #require(try await database.campaigns.campaign(named: "D"))
        let rows = try await database.deliveries.deliveries(campaignID: campaign.id!, round: 1)
        var byRow: [Int: Delivery] = [:]
        for prospect in prospects {
            let stored = try #require(try await database.campaigns.prospect(campaignID: campaign.id!, row: prospect.row))
            byRow[prospect.row] = rows[stored.id!]
        }
        return byRow
    }

    /// What `plan --round 2` must say: rows 1-3 were sent by hand (row 3 under `newID`), rows 4-6 never were.
    static func expectPlan(_ output: String, newID: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = planLines(output)
        #expect(output.contains("3 to send, 3 to skip."), "\(output)", sourceLocation: sourceLocation)
        for row in [1, 2] {
            #expect(lines[row] == "send: no reply (round 1 was sent by hand from its draft)", "row \(row): \(lines[row] ?? "none")", sourceLocation: sourceLocation)
        }
        #expect(
            lines[3] == "send: no reply (round 1 was sent by hand from its draft (the client gave it a new Message-ID <\(newID)>))",
            "row 3: \(lines[3] ?? "none")", sourceLocation: sourceLocation
        )
        for row in 4...6 {
            #expect(lines[row] == "skip: no first email went out (round 1 is drafted)", "row \(row): \(lines[row] ?? "none")", sourceLocation: sourceLocation)
        }
    }

    static func rfcDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    /// The draft as a client sends it after an edit: a new Message-ID and Date, the rest as drafted.
    static func edited(_ draft: String, messageID: String, date: Date) -> String {
        var lines = draft.components(separatedBy: "\r\n")
        let end = lines.firstIndex(of: "") ?? lines.count
        for i in 0..<end {
            let name = lines[i].split(separator: ":", maxSplits: 1).first?.lowercased()
            if name == "message-id" { lines[i] = "Message-ID: <\(messageID)>" }
            if name == "date" { lines[i] = "Date: \(rfcDate(date))" }
        }
        lines.insert("User-Agent: Thunderbird/128.5", at: end)
        return lines.joined(separator: "\r\n")
    }

    @Test("IMAP: drafts APPENDed to Sent and delivered by the operator's client turn sent; the follow-ups answer what went out")
    func imap() async throws {
        let sender = (email: "sales@example.test", password: "sales-pw")
        let servers = try MailServers(users: [sender] + Self.prospects.map { (email: $0.email, password: "pw\($0.row)") })
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: sender, servers: servers)
        try Self.csv.write(toFile: cli.directory + "/l.csv", atomically: true, encoding: .utf8)
        try Self.firstTemplate.write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try Self.nextTemplate.write(toFile: cli.directory + "/next.md", atomically: true, encoding: .utf8)
        try cli.expectSuccess(["campaign", "import", "D", cli.directory + "/l.csv", "--account", sender.email])
        let round1 = try cli.expectSuccess(["send", "D", "--template", cli.directory + "/first.md", "--mode", "draft-all", "--wait"])
        #expect(round1.stdout.contains("6 rows, 0 sent, 6 drafted"), "\(round1.output)")
        try cli.expectSuccess(["sync"])
        let drafted = try await Self.roundOne(cli)
        #expect(drafted.values.allSatisfy { $0.state == .drafted }, "\(drafted.values.map(\.state))")

        // The operator's client: rows 1 and 2 sent as drafted, row 3 after an edit (a new Message-ID and Date); row 4
        // stays a draft that this client keeps in Sent, flagged \Draft; rows 5 and 6 are never touched.
        let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapsURL, as: .imap), trust: TLSTrust(caFile: servers.caFile), logger: Logger(label: "test"))
        try await imap.connect()
        try await imap.login(username: sender.email, password: Secret(sender.password))
        func draft(_ row: Int) async throws -> String {
            let id = try #require(drafted[row]?.messageID)
            let uids = try await imap.uidSearch(in: "Drafts", header: "Message-ID", contains: id)
            let uid = try #require(uids.first, "the draft <\(id)> is in Drafts")
            return String(decoding: try #require(try await imap.fetchMessages(uids: [uid])[uid]), as: UTF8.self)
        }
        let newID = "edited.\(UUID().uuidString)@client.example.test"
        let handSentAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        var sent: [Int: String] = [:]
        for row in [1, 2] { sent[row] = try await draft(row) }
        sent[3] = Self.edited(try await draft(3), messageID: newID, date: handSentAt)
        for row in [1, 2, 3] { try await imap.append(Array(sent[row]!.utf8), to: "Sent", flags: [.seen]) }
        try await imap.append(Array(try await draft(4).utf8), to: "Sent", flags: [.draft])
        await imap.logout()
        for row in [1, 2, 3] { try servers.deliver(sent[row]!, from: sender.email, to: Self.prospects[row - 1].email) }

        try cli.expectSuccess(["sync"])
        let after = try await Self.roundOne(cli)
        for row in [1, 2] {
            #expect(after[row]?.state == .sent && after[row]?.messageID == drafted[row]?.messageID, "row \(row): \(String(describing: after[row]))")
            // The message's Date, written when the draft was: seconds before the row was stored as drafted.
            let sentAt = try #require(after[row]?.sentAt)
            #expect(abs(sentAt.timeIntervalSince(drafted[row]!.updatedAt)) < 60, "row \(row) sent at \(sentAt)")
        }
        #expect(after[3]?.state == .sent && after[3]?.messageID == newID && after[3]?.threadKey == newID, "row 3: \(String(describing: after[3]))")
        #expect(after[3]?.sentAt.map { abs($0.timeIntervalSince(handSentAt)) < 1 } == true, "row 3 sent at \(String(describing: after[3]?.sentAt))")
        for row in 4...6 { #expect(after[row]?.state == .drafted, "row \(row): \(String(describing: after[row]?.state))") }

        let plan = try cli.expectSuccess(["plan", "D", "--round", "2"])
        Self.expectPlan(plan.stdout, newID: newID)
        let round2 = try cli.expectSuccess(["followup", "D", "--round", "2", "--template", cli.directory + "/next.md", "--wait"])
        #expect(round2.stdout.contains("6 rows, 3 sent, 0 drafted, 3 skipped, 0 held, 0 failed"), "\(round2.output)")

        // Each follow-up answers the message that went out, under its subject; the three never sent got nothing.
        let boxes = try servers.mailboxes(of: Self.prospects.map(\.email))
        for prospect in Self.prospects {
            let inbox = boxes[prospect.email]?["INBOX"] ?? []
            guard prospect.row <= 3 else {
                #expect(inbox.isEmpty, "row \(prospect.row) got \(inbox.compactMap(\.messageId))")
                continue
            }
            let root = try #require(after[prospect.row]?.messageID)
            #expect(inbox.count == 2, "row \(prospect.row): \(inbox.compactMap(\.messageId))")
            let followUp = try #require(inbox.first { $0.messageId != "<\(root)>" }, "row \(prospect.row) got a follow-up")
            #expect(followUp.inReplyTo == "<\(root)>", "row \(prospect.row) In-Reply-To: \(followUp.inReplyTo ?? "none")")
            #expect(followUp.references == "<\(root)>", "row \(prospect.row) References: \(followUp.references ?? "none")")
            #expect(followUp.subject == "Re: \(prospect.subject)", "row \(prospect.row): \(followUp.subject ?? "none")")
            #expect(followUp.text?.contains("Just following up, \(prospect.first).") == true)
        }
    }

    @Test("Gmail API: drafts sent from Gmail (one with new content) turn sent through the history; a deleted draft does not")
    func gmail() async throws {
        let sender = GmailEndToEndTests.sender
        let gmail = try FakeGmailServer()
        defer { gmail.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let environment = gmail.environment
        func expectSuccess(_ arguments: [String]) throws -> String { try cli.expectSuccess(arguments, environment: environment).stdout }
        _ = try expectSuccess(["init"])
        try await GmailEndToEndTests().connect(cli: cli, environment: environment, gmail: gmail)
        _ = try expectSuccess(["account", "set", sender, "--delay", "0", "--jitter", "0"])
        try Self.csv.write(toFile: cli.directory + "/l.csv", atomically: true, encoding: .utf8)
        try Self.firstTemplate.write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try Self.nextTemplate.write(toFile: cli.directory + "/next.md", atomically: true, encoding: .utf8)
        _ = try expectSuccess(["campaign", "import", "D", cli.directory + "/l.csv", "--account", sender])
        _ = try expectSuccess(["send", "D", "--template", cli.directory + "/first.md", "--mode", "draft-all", "--wait"])
        // The first sync lists the mailbox and keeps Gmail's history id; what follows is read from the history.
        _ = try expectSuccess(["sync"])
        let drafted = try await Self.roundOne(cli)
        #expect(drafted.values.allSatisfy { $0.state == .drafted && $0.gmailMessageID != nil })

        // The user, in Gmail: drafts 1 and 2 sent as they are, draft 3 sent after an edit (new content, a new
        // Message-ID), draft 4 deleted; 5 and 6 left alone.
        let users = try await gmail.state()["users"] as? [String: Any]
        let drafts = ((users?[sender] as? [String: Any])?["drafts"] as? [[String: Any]]) ?? []
        func draftID(_ row: Int) throws -> String {
            let messageID = try #require(drafted[row]?.gmailMessageID)
            return try #require(drafts.first { $0["messageId"] as? String == messageID }?["id"] as? String, "draft of row \(row)")
        }
        let token = try gmail.accessToken(for: sender)
        let http = HTTPClient(label: "the user's Gmail", logger: Logger(label: "test"))
        func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
            let response = try await http.send(HTTPRequest(
                method: method, url: gmail.apiBase + "/gmail/v1/users/me" + path,
                headers: [(name: "Authorization", value: "Bearer \(token)")] + (body == nil ? [] : [(name: "Content-Type", value: "application/json")]),
                body: try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) }
            ))
            guard (200..<300).contains(response.status) else {
                throw HarnessError("\(method) \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
            }
            return (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
        }
        var sentThread: [Int: String] = [:]
        for row in [1, 2] { sentThread[row] = try await call("POST", "/drafts/send", ["id": try draftID(row)])["threadId"] as? String }
        let newID = "edited.\(UUID().uuidString)@mail.gmail.com"
        let p3 = Self.prospects[2]
        let editedRaw = """
            From: \(sender)\r
            To: \(p3.email)\r
            Subject: \(p3.subject)\r
            Date: \(Self.rfcDate(Date()))\r
            Message-ID: <\(newID)>\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Hi \(p3.first), a first note, edited in Gmail.\r

            """
        let editedSend = try await call(
            "POST", "/drafts/send", ["id": try draftID(3), "message": ["raw": Data(editedRaw.utf8).base64EncodedString()]]
        )
        sentThread[3] = editedSend["threadId"] as? String
        #expect(editedSend["id"] as? String != drafted[3]?.gmailMessageID, "new content is a new Gmail message")
        _ = try await call("DELETE", "/drafts/\(try draftID(4))")
        await http.close()

        let sync = try expectSuccess(["sync"])
        #expect(sync.contains("Gmail (history)"), "\(sync)")
        let after = try await Self.roundOne(cli)
        for row in [1, 2] {
            #expect(after[row]?.state == .sent && after[row]?.messageID == drafted[row]?.messageID, "row \(row): \(String(describing: after[row]))")
        }
        #expect(after[3]?.state == .sent && after[3]?.messageID == newID && after[3]?.gmailThreadID == sentThread[3], "row 3: \(String(describing: after[3]))")
        for row in 4...6 { #expect(after[row]?.state == .drafted, "row \(row): \(String(describing: after[row]?.state))") }

        Self.expectPlan(try expectSuccess(["plan", "D", "--round", "2"]), newID: newID)
        let round2 = try expectSuccess(["followup", "D", "--round", "2", "--template", cli.directory + "/next.md", "--wait"])
        #expect(round2.contains("6 rows, 3 sent, 0 drafted, 3 skipped, 0 held, 0 failed"), "\(round2)")

        let sentMail = try await gmail.messages(of: sender).filter { GmailEndToEndTests.labels($0).contains("SENT") }
        for prospect in Self.prospects {
            let toProspect = sentMail.filter { GmailEndToEndTests.header($0, "To")?.contains(prospect.email) == true }
            guard prospect.row <= 3 else {
                #expect(toProspect.isEmpty, "row \(prospect.row) got \(toProspect.count) messages")
                continue
            }
            let root = try #require(after[prospect.row]?.messageID)
            #expect(toProspect.count == 2, "row \(prospect.row): round 1 and its follow-up")
            let followUp = try #require(toProspect.first { GmailEndToEndTests.header($0, "Message-ID").map(GmailEndToEndTests.bare) != root })
            #expect(GmailEndToEndTests.header(followUp, "In-Reply-To") == "<\(root)>", "row \(prospect.row): \(followUp)")
            #expect(GmailEndToEndTests.header(followUp, "References") == "<\(root)>", "row \(prospect.row): \(followUp)")
            #expect(followUp["threadId"] as? String == sentThread[prospect.row], "row \(prospect.row): the follow-up is in the sent message's thread")
            #expect(GmailEndToEndTests.header(followUp, "Subject") == "Re: \(prospect.subject)")
        }
        try await gmail.expectNoViolations()
    }
}
