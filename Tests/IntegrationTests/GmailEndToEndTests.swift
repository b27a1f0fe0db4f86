import Foundation
import OutreachCore
import OutreachStore
import Testing

/// A Gmail API account end to end, against the loopback fake of Gmail and Google's OAuth (every request checked
/// against Google's discovery document): connect with the loopback flow, round 1 to 20 prospects through the API
/// (two 429s on the way), answers of each kind added to the fake's threads, sync through history (and a full
/// resync when the history id has expired), a follow-up round in the right Gmail threads that skips exactly those
/// who answered, and a revoked grant that pauses the next job with "needs reconnecting".
@Suite("Gmail API end to end", .serialized, .timeLimit(.minutes(5)))
struct GmailEndToEndTests {
    static let sender = "alice@example.test"

    struct Prospect {
        let row: Int
        var email: String { "p\(row)@acme\(row).test" }
        var first: String { "Pat\(row)" }
        var subject: String { "Hello \(first)" }
    }

    static let prospects = (1...20).map(Prospect.init(row:))

    @Test("connect, send, sync through history, follow up in the threads, pause on invalid_grant")
    func gmailAccountEndToEnd() async throws {
        let gmail = try FakeGmailServer()
        defer { gmail.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        // Backoff is Retry-After (1 s at the fake) or more; the base only matters where no Retry-After comes.
        let environment = gmail.environment.merging(["OUTREACH_GMAIL_RETRY_BASE": "0.2"]) { $1 }
        func run(_ arguments: [String]) throws -> CommandRunner.Result { try cli.run(arguments, extraEnvironment: environment) }
        func expectSuccess(_ arguments: [String]) throws -> String {
            let result = try run(arguments)
            guard result.status == 0 else { throw HarnessError("outreach \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.output)") }
            return result.stdout
        }
        _ = try expectSuccess(["init"])

        // 1. Connect: the test plays the browser on the consent URL the command prints.
        try await connect(cli: cli, environment: environment, gmail: gmail)
        let accounts = try JSONSerialization.jsonObject(with: Data(try expectSuccess(["account", "list", "--json"]).utf8)) as? [[String: Any]]
        #expect(accounts?.first?["provider"] as? String == "gmail-api")
        #expect(accounts?.first?["auth"] as? String == "oauth")
        let tokenCalls = try await gmail.requests().filter { ($0["path"] as? String) == "/token" }
        #expect(tokenCalls.contains { ($0["status"] as? Int) == 200 }, "the code was exchanged with its PKCE verifier")
        _ = try expectSuccess(["account", "set", Self.sender, "--delay", "0", "--jitter", "0"])
        #expect(try expectSuccess(["account", "test", Self.sender]).contains("Gmail API: OK — mailbox \(Self.sender)"))

        // 2. Round 1 through messages.send; Gmail rate-limits the first two calls.
        let csv = "email,first\n" + Self.prospects.map { "\($0.email),\($0.first)" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: cli.directory + "/list.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}, a first note.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try "Subject:\n\nJust following up, {first}.\n".write(toFile: cli.directory + "/next.md", atomically: true, encoding: .utf8)
        _ = try expectSuccess(["campaign", "import", "G", cli.directory + "/list.csv", "--account", Self.sender])
        try await gmail.faults(["rateLimit": 2, "retryAfter": 1])
        _ = try expectSuccess(["send", "G", "--template", cli.directory + "/first.md", "--wait"])

        let requests = try await gmail.requests()
        let limited = requests.indices.filter { (requests[$0]["status"] as? Int) == 429 }
        #expect(limited.count == 2, "both 429 answers were seen")
        for index in limited {
            let next = requests[(index + 1)...].first { ($0["path"] as? String)?.hasPrefix("/gmail/") == true }
            let waited = ((next?["t"] as? Double) ?? 0) - ((requests[index]["t"] as? Double) ?? 0)
            #expect(waited >= 0.95, "the call after a 429 waited for Retry-After (waited \(waited) s)")
        }
        var sentMail = try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("SENT") }
        #expect(sentMail.count == 20, "20 messages went out through messages.send")
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let campaign = try #require(try await database.campaigns.campaign(named: "G"))
        let round1 = try await database.deliveries.deliveries(campaignID: campaign.id!, round: 1)
        #expect(round1.values.filter { $0.state == .sent }.count == 20)
        var rootThread: [String: (threadID: String, messageID: String)] = [:]
        for prospect in Self.prospects {
            let message = try #require(sentMail.first { Self.header($0, "To")?.contains(prospect.email) == true }, "round 1 to \(prospect.email)")
            let threadID = try #require(message["threadId"] as? String)
            let messageID = Self.bare(try #require(Self.header(message, "Message-ID")))
            rootThread[prospect.email] = (threadID, messageID)
            let row = round1.values.first { $0.messageID == messageID }
            #expect(row?.gmailThreadID == threadID && row?.gmailMessageID == message["id"] as? String, "the ledger keeps Gmail's ids for \(prospect.email)")
        }

        // 3. The first sync lists the mailbox; answers arrive; the next sync reads only the history.
        #expect(try expectSuccess(["sync", "--account", Self.sender]).contains("Gmail (all mail"))
        let p = Self.prospects
        func root(_ i: Int) -> (threadID: String, messageID: String) { rootThread[p[i].email]! }
        try await gmail.deliver(to: Self.sender, raw: Self.reply(from: p[0], subject: "Re: \(p[0].subject)", inReplyTo: root(0).messageID, references: true))
        try await gmail.deliver(to: Self.sender, raw: Self.reply(from: p[1], subject: "RE: \(p[1].subject)", inReplyTo: root(1).messageID, references: false))
        // A client that dropped both threading headers: only Gmail's thread says it is a reply.
        try await gmail.deliver(to: Self.sender, raw: Self.reply(from: p[2], subject: "Re: \(p[2].subject)", inReplyTo: nil, references: false), threadID: root(2).threadID)
        try await gmail.deliver(to: Self.sender, raw: Self.autoReply(from: p[3], inReplyTo: root(3).messageID))
        // Gmail files its own bounce in the thread of the message that bounced.
        try await gmail.deliver(to: Self.sender, raw: Self.bounce(of: p[4], originalMessageID: root(4).messageID), threadID: root(4).threadID)
        let historySync = try expectSuccess(["sync", "--account", Self.sender])
        #expect(historySync.contains("Gmail (history)"), "the second sync read the history: \(historySync)")
        let historyCalls = try await gmail.requests().filter { ($0["methodId"] as? String) == "gmail.users.history.list" }
        #expect(!historyCalls.isEmpty)

        // 4. The stored history id expires; a late reply is found by the full resync that follows.
        try await gmail.faults(["expireHistoryBefore": "now"])
        try await gmail.deliver(to: Self.sender, raw: Self.reply(from: p[5], subject: "Re: \(p[5].subject)", inReplyTo: root(5).messageID, references: true))
        let resync = try expectSuccess(["sync", "--account", Self.sender])
        #expect(resync.contains("Gmail (all mail"), "an expired history id led to a full resync: \(resync)")

        // 5. The plan: exactly those who answered are skipped; the auto-reply is not an answer.
        let plan = try expectSuccess(["plan", "G", "--round", "2"])
        let lines = Dictionary(uniqueKeysWithValues: plan.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let prospect = p.first(where: { line.contains($0.email + ":") }) else { return nil }
            return (prospect.email, String(line))
        })
        for (i, expected) in [(0, "skip: replied"), (1, "skip: replied"), (2, "skip: replied"), (3, "send: only an auto-reply"), (4, "skip: bounced"), (5, "skip: replied")] {
            #expect(lines[p[i].email]?.contains(expected) == true, "\(p[i].email): \(lines[p[i].email] ?? "no plan line")")
        }
        for prospect in p[6...] { #expect(lines[prospect.email]?.contains("send: no reply") == true, "\(prospect.email): \(lines[prospect.email] ?? "none")") }

        // 6. The follow-up round goes into round 1's Gmail threads, answering round 1.
        _ = try expectSuccess(["followup", "G", "--round", "2", "--template", cli.directory + "/next.md", "--wait"])
        sentMail = try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("SENT") }
        #expect(sentMail.count == 20 + 15)
        let skipped = Set([0, 1, 2, 4, 5].map { p[$0].email })
        for prospect in p {
            let toProspect = sentMail.filter { Self.header($0, "To")?.contains(prospect.email) == true }
            if skipped.contains(prospect.email) {
                #expect(toProspect.count == 1, "\(prospect.email) answered and got no follow-up")
                continue
            }
            let followUp = try #require(toProspect.first { Self.bare(Self.header($0, "Message-ID") ?? "") != rootThread[prospect.email]!.messageID })
            #expect(followUp["threadId"] as? String == rootThread[prospect.email]!.threadID, "the follow-up to \(prospect.email) is in round 1's Gmail thread")
            #expect(Self.header(followUp, "In-Reply-To").map(Self.bare) == rootThread[prospect.email]!.messageID)
            #expect(Self.header(followUp, "Subject") == "Re: \(prospect.subject)")
        }

        // 7. Google revokes the grant: the next job pauses and says the account needs reconnecting.
        try await gmail.faults(["invalidGrant": true, "expireAccessTokens": true])
        let round3 = try run(["followup", "G", "--round", "3", "--template", cli.directory + "/next.md", "--force", "--wait"])
        #expect(round3.status != 0)
        #expect(round3.output.contains("needs reconnecting"), "\(round3.output)")
        let jobs = try JSONSerialization.jsonObject(with: Data(try expectSuccess(["jobs", "--all", "--json"]).utf8)) as? [[String: Any]] ?? []
        let paused = jobs.first { ($0["round"] as? Int) == 3 }
        #expect(paused?["state"] as? String == "paused", "\(String(describing: paused))")
        #expect((paused?["note"] as? String)?.contains("needs reconnecting") == true)
        #expect(try expectSuccess(["account", "list"]).contains("needs reconnecting"))
        #expect(try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("SENT") }.count == 35, "nothing went out on a revoked grant")

        // Connecting again clears it.
        try await connect(cli: cli, environment: environment, gmail: gmail)
        #expect(!(try expectSuccess(["account", "list"]).contains("needs reconnecting")))

        // 8. The draft modes store drafts through drafts.create; the sync leaves drafts out of the index.
        _ = try expectSuccess(["sync", "--account", Self.sender])
        let indexedBefore = try await database.threads.messageCount(accountID: campaign.accountID)
        try "email,first\nd1@drafts.test,Dee\nd2@drafts.test,Dan\n".write(toFile: cli.directory + "/drafts.csv", atomically: true, encoding: .utf8)
        _ = try expectSuccess(["campaign", "import", "D", cli.directory + "/drafts.csv", "--account", Self.sender])
        _ = try expectSuccess(["send", "D", "--template", cli.directory + "/first.md", "--mode", "draft-all", "--wait"])
        let drafts = try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("DRAFT") }
        #expect(Set(drafts.compactMap { Self.header($0, "To") }.map { $0.lowercased() }).count == 2, "two drafts in Gmail")
        let draftCampaign = try #require(try await database.campaigns.campaign(named: "D"))
        let draftRows = try await database.deliveries.deliveries(campaignID: draftCampaign.id!, round: 1).values
        #expect(draftRows.allSatisfy { $0.state == .drafted && $0.gmailMessageID != nil })
        #expect(try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("SENT") }.count == 35, "a draft is not sent")
        _ = try expectSuccess(["sync", "--account", Self.sender])
        #expect(try await database.threads.messageCount(accountID: campaign.accountID) == indexedBefore, "drafts are not indexed")

        // 9. An account that sends campaigns is not removed (and its grant stays); one without is, and its grant is
        //    withdrawn at Google too.
        let refused = try run(["account", "remove", Self.sender])
        #expect(refused.status != 0 && refused.output.contains("'D', 'G'"), "\(refused.output)")
        #expect(try await !gmail.requests().contains { ($0["path"] as? String) == "/revoke" })
        try await connect(cli: cli, environment: environment, gmail: gmail, arguments: ["account", "connect-gmail", "bob@example.test"])
        #expect(try expectSuccess(["account", "remove", "bob@example.test"]).contains("withdrew Outreach's access"))
        #expect(try await gmail.requests().contains { ($0["path"] as? String) == "/revoke" && ($0["status"] as? Int) == 200 })
        #expect(try expectSuccess(["account", "test", Self.sender]).contains("Gmail API: OK"), "alice's grant still works")

        #expect(try await gmail.violations().isEmpty, "every request matched Google's discovery document")
    }

    @Test("when Gmail replaces the Message-ID, the ledger keeps Gmail's, and replies and follow-ups use it")
    func replacedMessageID() async throws {
        let gmail = try FakeGmailServer()
        defer { gmail.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let environment = gmail.environment
        func expectSuccess(_ arguments: [String]) throws -> String {
            let result = try cli.run(arguments, extraEnvironment: environment)
            guard result.status == 0 else { throw HarnessError("outreach \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.output)") }
            return result.stdout
        }
        _ = try expectSuccess(["init"])
        try await connect(cli: cli, environment: environment, gmail: gmail)
        _ = try expectSuccess(["account", "set", Self.sender, "--delay", "0", "--jitter", "0"])
        let (answers, silent) = (Self.prospects[0], Self.prospects[1])
        try "email,first\n\(answers.email),\(answers.first)\n\(silent.email),\(silent.first)\n".write(
            toFile: cli.directory + "/list.csv", atomically: true, encoding: .utf8
        )
        try "Subject: Hello {first}\n\nHi {first}.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try "Subject:\n\nFollowing up, {first}.\n".write(toFile: cli.directory + "/next.md", atomically: true, encoding: .utf8)
        _ = try expectSuccess(["campaign", "import", "R", cli.directory + "/list.csv", "--account", Self.sender])
        try await gmail.faults(["replaceMessageId": true])
        _ = try expectSuccess(["send", "R", "--template", cli.directory + "/first.md", "--wait"])

        let sent = try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("SENT") }
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let campaign = try #require(try await database.campaigns.campaign(named: "R"))
        let rows = try await database.deliveries.deliveries(campaignID: campaign.id!, round: 1).values
        var kept: [String: String] = [:]
        for prospect in [answers, silent] {
            let message = try #require(sent.first { Self.header($0, "To")?.contains(prospect.email) == true })
            let id = Self.bare(try #require(Self.header(message, "Message-ID")))
            #expect(id.hasSuffix("@mail.gmail.com"), "Gmail generated its own Message-ID: \(id)")
            #expect(rows.contains { $0.messageID == id && $0.threadKey == id }, "the ledger keeps the id Gmail kept for \(prospect.email)")
            kept[prospect.email] = id
        }
        try await gmail.deliver(
            to: Self.sender, raw: Self.reply(from: answers, subject: "Re: \(answers.subject)", inReplyTo: kept[answers.email]!, references: true)
        )
        _ = try expectSuccess(["followup", "R", "--round", "2", "--template", cli.directory + "/next.md", "--wait"])
        let toSilent = try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("SENT") && Self.header($0, "To")?.contains(silent.email) == true }
        #expect(toSilent.count == 2)
        #expect(toSilent.contains { Self.header($0, "In-Reply-To").map(Self.bare) == kept[silent.email] }, "the follow-up answers the id Gmail kept")
        let toAnswers = try await gmail.messages(of: Self.sender).filter { Self.labels($0).contains("SENT") && Self.header($0, "To")?.contains(answers.email) == true }
        #expect(toAnswers.count == 1, "the reply citing Gmail's id was recognised")
        #expect(try await gmail.violations().isEmpty)
    }

    @Test("an IMAP/SMTP account connected with OAuth logs in with XOAUTH2: account test, a round, a sync")
    func xoauth2MailServerAccount() async throws {
        let gmail = try FakeGmailServer()
        defer { gmail.stop() }
        let servers = try MailServers(oauthTokenInfoURL: gmail.tokenInfoURL)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let environment = gmail.environment
        func expectSuccess(_ arguments: [String]) throws -> String {
            let result = try cli.run(arguments, extraEnvironment: environment)
            guard result.status == 0 else { throw HarnessError("outreach \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.output)") }
            return result.stdout
        }
        _ = try expectSuccess(["init"])
        try await connect(
            cli: cli, environment: environment, gmail: gmail,
            arguments: [
                "account", "connect-oauth", Self.sender, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile,
                "--scopes", "https://mail.google.com/",
            ]
        )
        let test = try expectSuccess(["account", "test", Self.sender])
        #expect(test.contains("SMTP \(servers.smtpURL): OK") && test.contains("IMAP \(servers.imapsURL): OK"), "\(test)")
        _ = try expectSuccess(["account", "set", Self.sender, "--delay", "0", "--jitter", "0"])
        try "email,first\n\(servers.bob.email),Bob\n".write(toFile: cli.directory + "/list.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        _ = try expectSuccess(["campaign", "import", "X", cli.directory + "/list.csv", "--account", Self.sender])
        _ = try expectSuccess(["send", "X", "--template", cli.directory + "/first.md", "--wait"])
        let inbox = try servers.mailboxes(of: [servers.bob.email])[servers.bob.email]?["INBOX"] ?? []
        #expect(inbox.map(\.subject) == ["Hello Bob"], "the round went out over SMTP with XOAUTH2")
        #expect(servers.relayLog.contains("AUTH XOAUTH2 ok for '\(Self.sender)'"))
        _ = try expectSuccess(["sync", "--account", Self.sender])
        #expect(try await gmail.violations().isEmpty)
    }

    /// `outreach account connect-gmail` (or `connect-oauth`), with the test as the browser: open the printed consent
    /// URL (the fake consents and redirects to the command's loopback listener).
    /// - Returns: what the command printed.
    @discardableResult
    func connect(
        cli: OutreachSandbox, environment: [String: String], gmail: FakeGmailServer,
        arguments: [String] = ["account", "connect-gmail", GmailEndToEndTests.sender]
    ) async throws -> String {
        var processEnvironment = ProcessInfo.processInfo.environment
        processEnvironment["OUTREACH_DB"] = nil
        processEnvironment["OUTREACH_MASTER_KEY"] = nil
        processEnvironment.merge(environment) { $1 }
        let command = try BackgroundProcess(
            cli.binary, arguments + ["--timeout", "170"], environment: processEnvironment, workingDirectory: cli.directory
        )
        defer { command.kill() }
        // The whole consent on a thread of its own, as BrowserTests.waitUntilListening explains: a hop back to the
        // cooperative pool between printing the URL and opening it could outlast the command's listener.
        let (consentURL, browser, status) = try await offThePool { () throws -> (String?, CommandRunner.Result?, Int32?) in
            let deadline = Date().addingTimeInterval(60)
            var url: String?
            while Date() < deadline, command.isRunning, url == nil {
                url = command.output.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { $0.hasPrefix("http") })
                if url == nil { usleep(50_000) }
            }
            guard let url else { return (nil, nil, nil) }
            let browser = try CommandRunner.run(
                "/usr/bin/python3", ["-c", "import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1]); print(r.status); print(r.read().decode())", url],
                timeout: 60
            )
            return (url, browser, command.waitForExit(timeout: 60))
        }
        let url = try #require(consentURL, "no consent URL printed:\n\(command.output)")
        #expect(url.hasPrefix(gmail.authURL) && url.contains("code_challenge_method=S256") && url.contains("state="))
        #expect(browser?.status == 0 && browser?.stdout.hasPrefix("200") == true, "the browser came back to the loopback listener:\n\(browser?.output ?? "")")
        #expect(status == 0, "connect-gmail ended: \(command.output)")
        #expect(command.output.contains("Connected \(arguments[2])"), "\(command.output)")
        return command.output
    }

    // MARK: - Messages as other mail systems write them

    static func reply(from prospect: Prospect, subject: String, inReplyTo: String?, references: Bool) -> String {
        var header = "From: \(prospect.first) <\(prospect.email)>\nTo: \(sender)\nSubject: \(subject)\nDate: \(rfcDate())\n"
        header += "Message-ID: <reply-\(prospect.row)-\(UUID().uuidString.prefix(8))@acme\(prospect.row).test>\n"
        if let inReplyTo {
            header += "In-Reply-To: <\(inReplyTo)>\n"
            if references { header += "References: <\(inReplyTo)>\n" }
        }
        return header + "Content-Type: text/plain; charset=utf-8\n\nSounds good, tell me more.\n"
    }

    static func autoReply(from prospect: Prospect, inReplyTo: String) -> String {
        """
        From: \(prospect.first) <\(prospect.email)>
        To: \(sender)
        Subject: Automatic reply: \(prospect.subject)
        Date: \(rfcDate())
        Message-ID: <auto-\(prospect.row)@acme\(prospect.row).test>
        In-Reply-To: <\(inReplyTo)>
        References: <\(inReplyTo)>
        Auto-Submitted: auto-replied
        X-Autoreply: yes
        Content-Type: text/plain; charset=utf-8

        I am out of the office until Monday.

        """
    }

    /// Gmail's own delivery failure notice, as its headers read (the body is out of reach under the metadata scope).
    static func bounce(of prospect: Prospect, originalMessageID: String) -> String {
        """
        From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
        To: \(sender)
        Subject: Delivery Status Notification (Failure)
        Date: \(rfcDate())
        Message-ID: <bounce-\(prospect.row)@mx.google.com>
        X-Failed-Recipients: \(prospect.email)
        Auto-Submitted: auto-replied
        Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

        --b1
        Content-Type: text/plain; charset=utf-8

        Address not found: your message wasn't delivered to \(prospect.email) because the address couldn't be found.

        --b1
        Content-Type: message/delivery-status

        Reporting-MTA: dns; googlemail.com

        Final-Recipient: rfc822; \(prospect.email)
        Action: failed
        Status: 5.1.1
        Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist.

        --b1
        Content-Type: text/rfc822-headers

        Message-ID: <\(originalMessageID)>
        To: \(prospect.email)
        Subject: \(prospect.subject)

        --b1--

        """
    }

    static func rfcDate() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: Date())
    }

    static func labels(_ message: [String: Any]) -> [String] { message["labelIds"] as? [String] ?? [] }

    static func header(_ message: [String: Any], _ name: String) -> String? { (message["headers"] as? [String: Any])?[name] as? String }

    static func bare(_ id: String) -> String { id.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) }
}
