import Foundation
import Logging
import OutreachCore
import OutreachStore
import OutreachTransport
import Testing

/// Module 2 end to end: round 1 to 44 prospects; then answers of every kind arrive the way real clients and mail
/// systems write them; then a follow-up round without and one with `--force`, decided from the synced index.
@Suite("Follow-ups against real servers", .timeLimit(.minutes(5)))
struct FollowUpTests {
    /// What happens in a prospect's thread between round 1 and the follow-ups.
    enum Scenario: String, CaseIterable {
        case repliedWithReferences, repliedInReplyToOnly, repliedSubjectOnly, autoReply, hardBounce, manualSenderReply, replyInJunk
        case deletedAfterSync, noAnswer
        /// A colleague at the prospect's domain answers for them: a reply only with `--domain-replies`.
        case colleagueReply
    }

    /// What a scenario must lead to; `{email}` stands for the prospect's address.
    struct Expectation {
        /// How the row's `plan --round 2` line starts after "row N address: ", what else it must say, and what not.
        let plan: String
        let says: [String]
        let never: [String]
        /// How the row's `plan --round 3 --force` line starts.
        let forcedPlan: String
        /// Whether round 2 (force off) and round 3 (force on) send the row a follow-up.
        let round2: Bool
        let round3: Bool
        /// How the row's `plan --round 2 --domain-replies` line starts (nil: as without the flag) and what it must say.
        var domainPlan: String? = nil
        var domainSays: [String] = []
    }

    static let expectations: [Scenario: Expectation] = [
        .repliedWithReferences: .init(plan: "skip: replied", says: ["from {email}"], never: ["matched by subject"], forcedPlan: "skip: replied", round2: false, round3: false),
        .repliedInReplyToOnly: .init(plan: "skip: replied", says: ["from {email}"], never: ["matched by subject"], forcedPlan: "skip: replied", round2: false, round3: false),
        .repliedSubjectOnly: .init(plan: "skip: replied", says: ["from {email}", "matched by subject"], never: [], forcedPlan: "skip: replied", round2: false, round3: false),
        .autoReply: .init(plan: "send: only an auto-reply", says: [], never: [], forcedPlan: "send: only an auto-reply", round2: true, round3: true),
        .hardBounce: .init(plan: "skip: bounced", says: ["for {email}"], never: [], forcedPlan: "skip: bounced", round2: false, round3: false),
        .manualSenderReply: .init(plan: "skip: you wrote to them yourself", says: ["--force"], never: [], forcedPlan: "send: reminder: you wrote", round2: false, round3: true),
        .replyInJunk: .init(plan: "skip: replied", says: ["from {email}"], never: [], forcedPlan: "skip: replied", round2: false, round3: false),
        .deletedAfterSync: .init(plan: "skip: replied", says: ["from {email}"], never: [], forcedPlan: "skip: replied", round2: false, round3: false),
        .noAnswer: .init(plan: "send: no reply", says: [], never: [], forcedPlan: "send: no reply", round2: true, round3: true),
        .colleagueReply: .init(
            plan: "send: no reply", says: [], never: [], forcedPlan: "send: no reply", round2: true, round3: true, domainPlan: "skip: replied",
            domainSays: ["from colleague", "(same domain as the prospect"]
        ),
    ]

    /// How many prospects each scenario gets; each of them answers differently (see `arrivals(for:)`).
    static let counts: [(Scenario, Int)] = [
        (.repliedWithReferences, 5), (.repliedInReplyToOnly, 4), (.repliedSubjectOnly, 6), (.autoReply, 4), (.hardBounce, 5),
        (.manualSenderReply, 4), (.replyInJunk, 3), (.deletedAfterSync, 3), (.noAnswer, 8), (.colleagueReply, 2),
    ]

    struct Prospect {
        let row: Int
        let first: String
        let scenario: Scenario
        /// Which of the scenario's variations: another client, header style, encoding or mail system.
        let variant: Int
        var email: String { "p\(row)@example.test" }
        var subject: String { "Hello \(first)" }
    }

    /// The scenarios dealt out in turn, so neighbouring rows differ.
    static let prospects: [Prospect] = {
        let names = [
            "Ann", "Bruno", "Chloé", "Dmitri", "Elif", "Farid", "Grace", "Hiro", "Inès", "Jürgen", "Kofi", "Lena", "Mateo", "Noor",
            "Olga", "Pavel", "Quinn", "Rosa", "Søren", "Tomás", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë", "Amara", "Björn",
            "Carmen", "Dev", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Jana", "Kai", "Łukasz", "Maren", "Nils", "Ólafur", "Priya",
            "Renée", "Sven",
        ]
        var dealt: [(Scenario, Int)] = []
        for turn in 0..<(counts.map(\.1).max() ?? 0) {
            for (scenario, count) in counts where turn < count { dealt.append((scenario, turn)) }
        }
        return dealt.enumerated().map { Prospect(row: $0.offset + 1, first: names[$0.offset], scenario: $0.element.0, variant: $0.element.1) }
    }()

    static let sender = (email: "sales@example.test", password: "sales-pw")

    @Test("44 prospects: only those who did not answer get follow-ups, threaded under round 1; --force adds reminders; plan explains each skip; flags stay")
    func replyAwareFollowUps() async throws {
        let sender = Self.sender
        let prospects = Self.prospects
        #expect(prospects.count == 44)
        let servers = try MailServers(users: [sender] + prospects.map { (email: $0.email, password: "pw\($0.row)") })
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: sender, servers: servers)
        let csv = "email,first\n" + prospects.map { "\($0.email),\($0.first)" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: cli.directory + "/l.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try "Subject:\n\nJust following up, {first}.\n".write(toFile: cli.directory + "/next.md", atomically: true, encoding: .utf8)
        try #require(cli.run(["campaign", "import", "T", cli.directory + "/l.csv", "--account", sender.email]).status == 0)
        let round1 = try cli.run(["send", "T", "--template", cli.directory + "/first.md", "--wait"])
        try #require(round1.status == 0 && round1.stdout.contains(" \(prospects.count) sent"), "\(round1.output)")
        let answersFrom = Date()

        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let campaign = try #require(try await database.campaigns.campaign(named: "T"))
        let ledger1 = try await database.deliveries.deliveries(campaignID: campaign.id!, round: 1)
        var prospectIDs: [Int: Int64] = [:]
        var roots: [Int: String] = [:]
        for prospect in prospects {
            let stored = try #require(try await database.campaigns.prospect(campaignID: campaign.id!, row: prospect.row))
            prospectIDs[prospect.row] = stored.id!
            roots[prospect.row] = try #require(ledger1[stored.id!]?.messageID)
        }

        // Everything that arrives after round 1. Mail from others comes in over LMTP; the sender's own client APPENDs
        // to Sent; the spam filter's verdict is a move into Junk, as Sieve's fileinto leaves it.
        var arrivals: [Arrival] = []
        for prospect in prospects {
            arrivals += Self.arrivals(for: prospect, root: roots[prospect.row]!, answeredAt: answersFrom.addingTimeInterval(Double(1 + prospect.row % 9)))
        }
        arrivals.append(Self.newsletter(at: answersFrom))
        let imap = IMAPConnection(endpoint: try ServerEndpoint(parsing: servers.imapsURL, as: .imap), trust: TLSTrust(caFile: servers.caFile), logger: Logger(label: "test"))
        try await imap.connect()
        try await imap.login(username: sender.email, password: Secret(sender.password))
        _ = try await imap.examine("Junk")  // Dovecot creates the folder (auto = subscribe) on first use
        for arrival in arrivals where arrival.route == .sent || arrival.route == .sentAndInbox {
            try await imap.append(Array(arrival.raw.utf8), to: "Sent", flags: [.seen])
        }
        await imap.logout()
        let maildir = Maildir(root: URL(fileURLWithPath: "\(servers.state.dir)/mail/\(sender.email)/Maildir"))
        for arrival in arrivals where arrival.route != .sent {
            try servers.deliver(arrival.raw, from: arrival.envelopeFrom, to: sender.email)
            if arrival.route == .junk { try maildir.move(arrival.messageID, from: "INBOX", to: "Junk") }
            if let flags = arrival.flags { try maildir.setFlags(flags, on: arrival.messageID, in: arrival.route == .junk ? "Junk" : "INBOX") }
        }

        // What the sender's mailbox holds before Outreach ever syncs it, flags included.
        let before = try Self.flagsByMessage(servers.mailboxes(of: [sender.email])[sender.email] ?? [:])
        #expect(before.count == prospects.count + arrivals.count + arrivals.filter { $0.route == .sentAndInbox }.count, "\(before.keys.sorted())")
        #expect(before.values.filter { !$0.contains("S") }.count >= 20, "the mailbox should hold unread mail for the \\Seen check to mean something")

        func planLines(_ output: String) -> [Int: String] {
            var lines: [Int: String] = [:]
            for prospect in prospects {
                let head = "row \(prospect.row) \(prospect.email): "
                lines[prospect.row] = output.split(separator: "\n").first { $0.hasPrefix(head) }.map { String($0.dropFirst(head.count)) }
            }
            return lines
        }
        func expectation(_ prospect: Prospect) -> Expectation { Self.expectations[prospect.scenario]! }
        func label(_ prospect: Prospect) -> String { "row \(prospect.row) (\(prospect.scenario) #\(prospect.variant))" }
        let sends2 = prospects.filter { expectation($0).round2 }.count
        let sends3 = prospects.filter { expectation($0).round3 }.count

        let plan = try cli.run(["plan", "T", "--round", "2"])
        #expect(plan.status == 0, "\(plan.output)")
        #expect(plan.stdout.contains("Round 2 of T: \(sends2) to send, \(prospects.count - sends2) to skip."), "\(plan.stdout)")
        let lines = planLines(plan.stdout)
        for prospect in prospects {
            let line = lines[prospect.row] ?? "(no line)"
            let want = expectation(prospect)
            #expect(line.hasPrefix(want.plan), "\(label(prospect)): \(line)")
            for phrase in want.says.map({ $0.replacingOccurrences(of: "{email}", with: prospect.email) }) {
                #expect(line.contains(phrase), "\(label(prospect)) should say \"\(phrase)\": \(line)")
            }
            for phrase in want.never { #expect(!line.contains(phrase), "\(label(prospect)) should not say \"\(phrase)\": \(line)") }
        }

        // Counting replies from the prospect's domain turns the colleagues' answers into replies and changes nothing else,
        // though every prospect (and the sender) is at example.test.
        let domainPlan = try cli.run(["plan", "T", "--round", "2", "--no-sync", "--domain-replies"])
        #expect(domainPlan.status == 0, "\(domainPlan.output)")
        let domainLines = planLines(domainPlan.stdout)
        for prospect in prospects {
            let line = domainLines[prospect.row] ?? "(no line)"
            let want = expectation(prospect)
            #expect(line.hasPrefix(want.domainPlan ?? want.plan), "\(label(prospect)), --domain-replies: \(line)")
            for phrase in want.domainSays { #expect(line.contains(phrase), "\(label(prospect)), --domain-replies, should say \"\(phrase)\": \(line)") }
        }

        // The sender throws replies away after the sync saw them: they still count (round 2 syncs again first).
        for arrival in arrivals where arrival.deleteAfterSync { try maildir.delete(arrival.messageID, in: "INBOX") }

        let round2 = try cli.run(["followup", "T", "--round", "2", "--template", cli.directory + "/next.md", "--wait"])
        #expect(round2.status == 0, "\(round2.output)")
        #expect(round2.stdout.contains("\(prospects.count) rows, \(sends2) sent, 0 drafted, \(prospects.count - sends2) skipped, 0 held, 0 failed"), "\(round2.output)")
        let forcedPlan = try cli.run(["plan", "T", "--round", "3", "--force"])
        #expect(forcedPlan.status == 0, "\(forcedPlan.output)")
        let forcedLines = planLines(forcedPlan.stdout)
        for prospect in prospects {
            let line = forcedLines[prospect.row] ?? "(no line)"
            #expect(line.hasPrefix(expectation(prospect).forcedPlan), "\(label(prospect)), forced: \(line)")
        }
        let round3 = try cli.run(["followup", "T", "--round", "3", "--template", cli.directory + "/next.md", "--force", "--wait"])
        #expect(round3.status == 0, "\(round3.output)")
        #expect(round3.stdout.contains("\(prospects.count) rows, \(sends3) sent, 0 drafted, \(prospects.count - sends3) skipped, 0 held, 0 failed"), "\(round3.output)")

        // Exactly the expected rows got follow-ups, by the ledger and by what each prospect's INBOX holds, threaded under
        // round 1 as Python's parser reads the stored files.
        var ledger: [Int: [Int64: Delivery]] = [:]
        for round in [2, 3] { ledger[round] = try await database.deliveries.deliveries(campaignID: campaign.id!, round: round) }
        let boxes = try servers.mailboxes(of: prospects.map(\.email))
        for prospect in prospects {
            let want = expectation(prospect)
            let root = roots[prospect.row]!
            var followUps: [String] = []
            for (round, expected) in [(2, want.round2), (3, want.round3)] {
                let delivery = ledger[round]?[prospectIDs[prospect.row]!]
                #expect((delivery?.state == .sent) == expected, "\(label(prospect)), round \(round): \(delivery.map { "\($0.state)" } ?? "no ledger row")")
                if expected, let id = delivery?.messageID { followUps.append(id) }
            }
            let inbox = boxes[prospect.email]?["INBOX"] ?? []
            #expect(Set(inbox.compactMap(\.messageId)) == Set(([root] + followUps).map { "<\($0)>" }), "\(label(prospect)): \(inbox.map { $0.messageId ?? "?" })")
            #expect(inbox.allSatisfy { $0.defects.isEmpty }, "\(label(prospect)): \(inbox.flatMap(\.defects))")
            // The thread as we knew it when each follow-up went out: round 1, the sender's own reply, earlier follow-ups.
            var ours = [root] + arrivals.filter { $0.prospectRow == prospect.row && $0.isSenders }.map(\.messageID)
            for id in followUps {
                guard let message = inbox.first(where: { $0.messageId == "<\(id)>" }) else { continue }
                let inReplyTo = Self.messageIDs(in: message.inReplyTo)
                let references = Self.messageIDs(in: message.references)
                #expect(inReplyTo == [ours.last!], "\(label(prospect)) <\(id)> In-Reply-To: \(message.inReplyTo ?? "none"), expected <\(ours.last!)>")
                #expect(references.contains(root), "\(label(prospect)) <\(id)> References: \(message.references ?? "none")")
                #expect(references.last == ours.last, "\(label(prospect)) <\(id)> References must end with the parent: \(message.references ?? "none")")
                #expect(message.subject == "Re: \(prospect.subject)", "\(label(prospect)): \(message.subject ?? "none")")
                #expect(message.text?.contains("Just following up, \(prospect.first).") == true, "\(label(prospect)): \(message.text ?? "no text")")
                ours.append(id)
            }
        }

        // Syncing (three times) changed no flag and marked nothing read; only the Sent copies of the follow-ups are new.
        let after = try Self.flagsByMessage(servers.mailboxes(of: [sender.email])[sender.email] ?? [:])
        let deleted = Set(arrivals.filter(\.deleteAfterSync).map { "INBOX <\($0.messageID)>" })
        for (key, flags) in before where !deleted.contains(key) {
            #expect(after[key] == flags, "\(key): flags \(flags.isEmpty ? "none" : flags) before the sync, \(after[key].map { $0.isEmpty ? "none" : $0 } ?? "gone") after")
            if !flags.contains("S") { #expect(after[key]?.contains("S") != true, "\(key) was marked \\Seen") }
        }
        for key in deleted { #expect(after[key] == nil, "\(key) should be gone") }
        let added = Set(after.keys).subtracting(before.keys)
        #expect(added.count == sends2 + sends3 && added.allSatisfy { $0.hasPrefix("Sent ") }, "\(added.sorted())")
    }

    // MARK: - What arrives after round 1

    /// A message that lands in the sender's mailbox after round 1.
    struct Arrival {
        enum Route {
            /// Over LMTP into INBOX.
            case inbox
            /// Over LMTP, then filed in Junk.
            case junk
            /// APPENDed to Sent by the sender's own client.
            case sent
            /// Saved to Sent by the sender's client and Bcc'd to the sender, so it also arrives in INBOX.
            case sentAndInbox
        }

        var prospectRow: Int?
        var route: Route = .inbox
        var envelopeFrom: String
        var messageID: String
        var raw: String
        /// Maildir flags the sender's client set before the first sync (R answered, F flagged, S seen); nil leaves them.
        var flags: String?
        var deleteAfterSync = false
        var isSenders: Bool { route == .sent || route == .sentAndInbox || envelopeFrom == FollowUpTests.sender.email }
    }

    static func arrivals(for prospect: Prospect, root: String, answeredAt: Date) -> [Arrival] {
        let (row, name, email, subject) = (prospect.row, prospect.first, prospect.email, prospect.subject)
        let sales = sender.email
        func reply(_ id: String, _ text: String, flags: String? = nil) -> Arrival {
            Arrival(prospectRow: row, envelopeFrom: email, messageID: id, raw: Mail.crlf(text), flags: flags)
        }
        func date(_ zone: String) -> String { Mail.date(answeredAt, zone: zone) }

        switch (prospect.scenario, prospect.variant) {
        case (.repliedWithReferences, 0):  // Thunderbird
            let id = "r\(row).tb@mail.example.test"
            return [reply(id, """
                Message-ID: <\(id)>
                Date: \(date("+0100"))
                MIME-Version: 1.0
                User-Agent: Mozilla Thunderbird
                Subject: \(Mail.encoded("Re: \(subject)"))
                To: Sales <\(sales)>
                References: <\(root)>
                Content-Language: en-GB
                From: \(Mail.encoded(name)) <\(email)>
                In-Reply-To: <\(root)>
                Content-Type: text/plain; charset=UTF-8; format=flowed
                Content-Transfer-Encoding: 8bit

                Thanks, that sounds interesting. Could we talk on Thursday?

                On 30/11/2026 02:17, sales@example.test wrote:
                > Hi \(name).

                """, flags: "RS")]
        case (.repliedWithReferences, 1):  // Gmail: multipart/alternative, quoted-printable
            let id = "CAFkG\(row)xQ=j+Bp_Zt9mB@mail.gmail.com"
            return [reply(id, """
                MIME-Version: 1.0
                References: <\(root)>
                In-Reply-To: <\(root)>
                From: \(Mail.encoded(name)) <\(email)>
                Date: \(date("-0800"))
                Message-ID: <\(id)>
                Subject: \(Mail.encoded("Re: \(subject)"))
                To: \(sales)
                Content-Type: multipart/alternative; boundary="000000000000a8c5f2060b\(row)"

                --000000000000a8c5f2060b\(row)
                Content-Type: text/plain; charset="UTF-8"
                Content-Transfer-Encoding: quoted-printable

                Happy to hear more. Does next week work for a call? Our team meets on Tue=
                sdays, so Wednesday or Thursday would be best.

                --000000000000a8c5f2060b\(row)
                Content-Type: text/html; charset="UTF-8"
                Content-Transfer-Encoding: quoted-printable

                <div dir=3D"ltr">Happy to hear more. Does next week work for a call? Our t=
                eam meets on Tuesdays, so Wednesday or Thursday would be best.</div>

                --000000000000a8c5f2060b\(row)--
                """)]
        case (.repliedWithReferences, 2):  // Outlook: RE:, Thread-Index, quoted-printable
            let id = "AM9PR07MB71\(row)4E5C2B9F8A1D3@AM9PR07MB71\(row).eurprd07.prod.outlook.com"
            return [reply(id, """
                From: \(Mail.encoded(name)) <\(email)>
                To: "\(sales)" <\(sales)>
                Subject: \(Mail.encoded("RE: \(subject)"))
                Thread-Topic: \(Mail.encoded(subject))
                Thread-Index: AQHbQ2\(row)kq7ZtWm0iH4U6Zr1Q2lYx7bNvKpA
                Date: \(date("+0000"))
                Message-ID: <\(id)>
                References: <\(root)>
                In-Reply-To: <\(root)>
                Accept-Language: en-US
                Content-Language: en-US
                X-MS-Has-Attach:
                X-MS-TNEF-Correlator:
                Content-Type: text/plain; charset="us-ascii"
                Content-Transfer-Encoding: quoted-printable
                MIME-Version: 1.0

                Yes, please send me the price list. Our budget for this quarter is still o=
                pen, so the timing is good. Margin target: 30%, i.e. price =3D cost / 0.7.

                -----Original Message-----
                From: sales@example.test <sales@example.test>=20
                Sent: Monday, November 30, 2026 2:17 AM

                """, flags: "FS")]
        case (.repliedWithReferences, 3):  // German Outlook: AW:, base64 subject and body
            let id = "DB8PR03MB58\(row)A0C7E@DB8PR03MB58\(row).eurprd03.prod.outlook.com"
            return [reply(id, """
                From: \(Mail.encoded(name)) <\(email)>
                To: \(sales)
                Subject: =?utf-8?B?\(Data("AW: \(subject)".utf8).base64EncodedString())?=
                Thread-Topic: \(Mail.encoded(subject))
                Thread-Index: AQHbQ3\(row)Zp0mW8xHkU2Lr9aQ1bCdE
                Date: \(date("+0100"))
                Message-ID: <\(id)>
                References: <\(root)>
                In-Reply-To: <\(root)>
                Content-Language: de-DE
                Content-Type: text/plain; charset="utf-8"
                Content-Transfer-Encoding: base64
                MIME-Version: 1.0

                \(Mail.base64Lines("Gerne, rufen Sie mich nächste Woche an.\r\n\r\nViele Grüße\r\n\(name)\r\n"))
                """)]
        case (.repliedWithReferences, _):  // Apple Mail, answering a colleague's forward: folded References, upper-case From
            let id = "B7F1C0\(row)E-2D4A-4C1B-9E77-0A5D3C2F1E\(row)@example.test"
            return [reply(id, """
                From: \(Mail.encoded(name)) <\(email.uppercased())>
                Content-Type: text/plain;
                \tcharset=us-ascii
                Content-Transfer-Encoding: 7bit
                Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
                Subject: \(Mail.encoded("Re: Fwd: \(subject)"))
                Date: \(date("+0530"))
                References: <\(root)>
                 <fwd\(row).colleague@example.test>
                 <c\(row).colleague@example.test>
                To: \(sales)
                Cc: Colleague <colleague\(row)@example.test>
                In-Reply-To: <c\(row).colleague@example.test>
                Message-Id: <\(id)>
                X-Mailer: Apple Mail (2.3774.600.62)

                My colleague forwarded your note; yes, let's set up a call.

                """)]

        case (.repliedInReplyToOnly, 0):  // an old client: In-Reply-To, no References
            let id = "OF4A\(row)B2C1.D5E6F7A8-ON00258A1B@notes.example.test"
            return [reply(id, """
                Subject: \(Mail.encoded("Re: \(subject)"))
                To: \(sales)
                From: \(email)
                Message-ID: <\(id)>
                In-Reply-To: <\(root)>
                Date: \(date("+0200"))
                X-Mailer: Lotus Notes Release 9.0.1FP10

                Please call me tomorrow.
                """)]
        case (.repliedInReplyToOnly, 1):  // In-Reply-To folded onto its own line
            let id = "folded\(row)@webmail.example.test"
            return [reply(id, """
                From: \(Mail.encoded(name)) <\(email)>
                To: \(sales)
                Subject: \(Mail.encoded("Re: \(subject)"))
                Date: \(date("-0500"))
                Message-ID: <\(id)>
                In-Reply-To:
                 <\(root)>
                MIME-Version: 1.0
                Content-Type: text/plain; charset=us-ascii

                Interested, tell me more.
                """, flags: "F")]
        case (.repliedInReplyToOnly, 2):  // a lower-case field name and a subject of their own
            let id = "lc\(row)@mx.example.test"
            return [reply(id, """
                from: \(email)
                to: \(sales)
                subject: Quick question about pricing
                date: \(date("+0900"))
                Message-ID: <\(id)>
                in-reply-to: <\(root)>

                What does it cost for a team of ten?
                """)]
        case (.repliedInReplyToOnly, _):  // RFC 822's phrase before the id (obs-in-reply-to)
            let id = "mh\(row)@host.example.test"
            return [reply(id, """
                From: \(email)
                To: \(sales)
                Subject: \(Mail.encoded("Re: \(subject)"))
                Date: \(date("+0000"))
                Message-ID: <\(id)>
                In-Reply-To: Your message of "Mon, 30 Nov 2026 02:17:41 +0000."
                \t<\(root)>

                Not now, maybe next year.
                """)]

        case (.repliedSubjectOnly, 0):
            let id = "plain\(row)@example.test"
            return [reply(id, """
                From: \(email)
                To: \(sales)
                Subject: \(Mail.encoded("Re: \(subject)"))
                Date: \(date("+0000"))
                Message-ID: <\(id)>

                Yes, send me details.
                """, flags: "RS")]
        case (.repliedSubjectOnly, 1):  // Outlook that kept only its own Thread-Index
            let id = "VI1PR08MB\(row)C3D2@VI1PR08MB\(row).eurprd08.prod.outlook.com"
            return [reply(id, """
                From: \(Mail.encoded(name)) <\(email)>
                To: \(sales)
                Subject: \(Mail.encoded("RE: \(subject)"))
                Thread-Topic: \(Mail.encoded(subject))
                Thread-Index: AdnQ4\(row)bM3xK1pZr9TwmYh2A==
                Date: \(date("-0700"))
                Message-ID: <\(id)>
                MIME-Version: 1.0
                Content-Type: text/plain; charset="us-ascii"

                We already have a supplier, thanks.
                """)]
        case (.repliedSubjectOnly, 2):  // a gateway tag in front of the reply prefix
            let id = "ext\(row)@gateway.example.test"
            return [reply(id, """
                From: \(email)
                To: \(sales)
                Subject: \(Mail.encoded("[EXT] Re: \(subject)"))
                Date: \(date("+1000"))
                Message-ID: <\(id)>

                Let's talk.
                """)]
        case (.repliedSubjectOnly, 3):  // Scandinavian prefix, ISO-8859-1 quoted-printable encoded-word
            let id = "sv\(row)@example.test"
            return [reply(id, """
                From: \(email)
                To: \(sales)
                Subject: \(Mail.qEncoded("SV: \(subject)"))
                Date: \(date("+0100"))
                Message-ID: <\(id)>

                Tack, vi hors av.
                """)]
        case (.repliedSubjectOnly, 4):  // the subject folded into two encoded-words, as clients split long ones
            let id = "split\(row)@example.test"
            return [reply(id, """
                From: \(email)
                To: \(sales)
                Subject: =?UTF-8?Q?Re=3A_Hello_?=
                 =?UTF-8?B?\(Data(name.utf8).base64EncodedString())?=
                Date: \(date("-0300"))
                Message-ID: <\(id)>
                MIME-Version: 1.0
                Content-Type: text/plain; charset=UTF-8

                Call me on Friday.
                """)]
        case (.repliedSubjectOnly, _):  // French Outlook: "RE : ", a space before the colon
            let id = "PR1P264MB\(row)F0E1@PR1P264MB\(row).FRAP264.PROD.OUTLOOK.COM"
            return [reply(id, """
                From: \(Mail.encoded(name)) <\(email)>
                To: \(sales)
                Subject: \(Mail.encoded("RE : \(subject)"))
                Date: \(date("+0100"))
                Message-ID: <\(id)>
                Content-Language: fr-FR
                MIME-Version: 1.0
                Content-Type: text/plain; charset="iso-8859-1"
                Content-Transfer-Encoding: quoted-printable

                Bonjour, volontiers. Appelez-moi jeudi.
                """)]

        case (.autoReply, 0):  // RFC 3834
            let id = "auto\(row)@example.test"
            return [reply(id, """
                From: \(email)
                To: \(sales)
                Subject: \(Mail.encoded("Auto: \(subject)"))
                Date: \(date("+0000"))
                Message-ID: <\(id)>
                Auto-Submitted: auto-replied
                In-Reply-To: <\(root)>
                References: <\(root)>

                I am out of the office until Monday.
                """, flags: "S")]
        case (.autoReply, 1):  // Exchange
            let id = "oof\(row)@AM0PR02MB\(row).eurprd02.prod.outlook.com"
            return [reply(id, """
                From: \(Mail.encoded(name)) <\(email)>
                To: \(sales)
                Subject: \(Mail.encoded("Automatic reply: \(subject)"))
                Thread-Topic: \(Mail.encoded(subject))
                Thread-Index: AQHbQ5\(row)oofZr1Q2lYx7b
                Date: \(date("+0100"))
                Message-ID: <\(id)>
                References: <\(root)>
                In-Reply-To: <\(root)>
                Auto-Submitted: auto-generated
                X-Auto-Response-Suppress: All
                X-MS-Exchange-Inbox-Rules-Loop: \(email)
                Content-Type: text/plain; charset="us-ascii"
                MIME-Version: 1.0

                I am on leave and will return on 7 December.
                """)]
        case (.autoReply, 2):  // Gmail's vacation responder: its own subject
            let id = "CAvac\(row)+Y=q@mail.gmail.com"
            return [reply(id, """
                MIME-Version: 1.0
                From: \(email)
                Date: \(date("-0800"))
                Message-ID: <\(id)>
                Subject: Out of office until 7 December
                To: \(sales)
                In-Reply-To: <\(root)>
                References: <\(root)>
                Auto-Submitted: auto-replied
                Content-Type: text/plain; charset="UTF-8"

                Thanks for your mail, I will answer when I am back.
                """)]
        case (.autoReply, _):  // an older responder: X-Autoreply and Precedence, German subject, In-Reply-To only
            let id = "abw\(row)@example.test"
            return [reply(id, """
                From: \(email)
                To: \(sales)
                Subject: \(Mail.encoded("Abwesenheitsnotiz: \(subject)"))
                Date: \(date("+0100"))
                Message-ID: <\(id)>
                In-Reply-To: <\(root)>
                X-Autoreply: yes
                Precedence: auto_reply

                Ich bin bis 4. Dezember nicht im Buero.
                """)]

        case (.hardBounce, 0):  // Postfix DSN, returned headers only
            let id = "bounce\(row)@mx.example.test"
            return [Arrival(prospectRow: row, envelopeFrom: "", messageID: id, raw: Mail.crlf("""
                From: Mail Delivery System <MAILER-DAEMON@mx.example.test>
                To: \(sales)
                Subject: Undelivered Mail Returned to Sender
                Message-ID: <\(id)>
                Date: \(date("+0000"))
                Auto-Submitted: auto-replied
                MIME-Version: 1.0
                Content-Type: multipart/report; report-type=delivery-status; boundary="B\(row)"

                --B\(row)
                Content-Type: text/plain

                The mail system could not deliver your message to <\(email)>.
                --B\(row)
                Content-Type: message/delivery-status

                Reporting-MTA: dns; mx.example.test

                Final-Recipient: rfc822; \(email)
                Action: failed
                Status: 5.1.1
                Diagnostic-Code: smtp; 550 5.1.1 <\(email)>: Recipient address rejected: User unknown

                --B\(row)
                Content-Type: text/rfc822-headers

                Message-ID: <\(root)>
                Subject: \(Mail.encoded(subject))

                --B\(row)--
                """), flags: "S")]
        case (.hardBounce, 1):  // sendmail, the address an alias of two others: neither final recipient is the prospect
            let id = "dsn\(row).sm@relay.example.test"
            return [Arrival(prospectRow: row, envelopeFrom: "", messageID: id, raw: Mail.crlf("""
                From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.test>
                To: <\(sales)>
                Subject: Returned mail: see transcript for details
                Message-ID: <\(id)>
                Date: \(date("-0600"))
                Auto-Submitted: auto-generated (failure)
                MIME-Version: 1.0
                Content-Type: multipart/report; report-type=delivery-status;
                \tboundary="\(row).1796000000/relay.example.test"

                This is a MIME-encapsulated message

                --\(row).1796000000/relay.example.test
                Content-Type: text/plain

                   ----- The following addresses had permanent fatal errors -----
                <\(email)>
                    (reason: 550 5.1.1 User unknown)
                    (expanded from: <\(email)>)

                --\(row).1796000000/relay.example.test
                Content-Type: message/delivery-status

                Reporting-MTA: dns; relay.example.test
                Received-From-MTA: DNS; localhost

                Original-Recipient: rfc822; \(email)
                Final-Recipient: RFC822; p\(row).old@legacy.example.test
                Action: failed
                Status: 5.1.1
                Remote-MTA: DNS; mx.legacy.example.test
                Diagnostic-Code: SMTP; 550 5.1.1 <p\(row).old@legacy.example.test>... User unknown

                Original-Recipient: rfc822; \(email)
                Final-Recipient: RFC822; p\(row).assistant@other.example.test
                Action: failed
                Status: 5.2.1
                Diagnostic-Code: SMTP; 550 5.2.1 Mailbox disabled

                --\(row).1796000000/relay.example.test
                Content-Type: message/rfc822

                Return-Path: <\(sales)>
                Message-ID: <\(root)>
                From: \(sales)
                To: \(email)
                Subject: \(Mail.encoded(subject))
                MIME-Version: 1.0
                Content-Type: text/plain; charset=us-ascii

                Hi.

                --\(row).1796000000/relay.example.test--
                """))]
        case (.hardBounce, 2):  // Exchange NDR
            let id = "ndr\(row)@AM0PR02MB\(row).eurprd02.prod.outlook.com"
            return [Arrival(prospectRow: row, envelopeFrom: "", messageID: id, raw: Mail.crlf("""
                From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.test>
                To: <\(sales)>
                Date: \(date("+0000"))
                Content-Type: multipart/report; report-type=delivery-status;
                \tboundary="ndr_\(row)_boundary"
                X-MS-Exchange-Message-Is-Ndr:
                Content-Language: en-US
                Message-ID: <\(id)>
                In-Reply-To: <\(root)>
                References: <\(root)>
                Subject: \(Mail.encoded("Undeliverable: \(subject)"))
                Auto-Submitted: auto-replied
                MIME-Version: 1.0

                --ndr_\(row)_boundary
                Content-Type: text/plain; charset="us-ascii"

                Delivery has failed to these recipients or groups:

                \(email)
                The email address you entered couldn't be found.

                --ndr_\(row)_boundary
                Content-Type: message/delivery-status

                Reporting-MTA: dns;AM0PR02MB\(row).eurprd02.prod.outlook.com
                Received-From-MTA: dns;relay.example.test

                Final-Recipient: rfc822;\(email)
                Action: failed
                Status: 5.1.10
                Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

                --ndr_\(row)_boundary
                Content-Type: text/rfc822-headers

                From: \(sales)
                To: \(email)
                Subject: \(Mail.encoded(subject))
                Message-ID: <\(root)>

                --ndr_\(row)_boundary--
                """))]
        case (.hardBounce, 3):  // qmail: no report, the notice and the returned message in plain text
            let id = "qmail\(row)@mx.example.test"
            return [Arrival(prospectRow: row, envelopeFrom: "", messageID: id, raw: Mail.crlf("""
                From: MAILER-DAEMON@mx.example.test
                To: \(sales)
                Subject: failure notice
                Date: \(date("+0000"))
                Message-ID: <\(id)>

                Hi. This is the qmail-send program at mx.example.test.
                I'm afraid I wasn't able to deliver your message to the following addresses.
                This is a permanent error; I've given up. Sorry it didn't work out.

                <\(email)>:
                Sorry, no mailbox here by that name. (#5.1.1)

                --- Below this line is a copy of the message.

                Return-Path: <\(sales)>
                Message-ID: <\(root)>
                From: \(sales)
                To: \(email)
                Subject: \(Mail.encoded(subject))

                Hi.
                """))]

        case (.hardBounce, _):  // a DSN naming someone else first and the prospect second, without the returned headers
            let id = "two\(row)@mx2.example.test"
            let other = "office\(row)@elsewhere.example.test"
            return [Arrival(prospectRow: row, envelopeFrom: "", messageID: id, raw: Mail.crlf("""
                From: Mail Delivery System <MAILER-DAEMON@mx2.example.test>
                To: \(sales)
                Subject: Undelivered Mail Returned to Sender
                Message-ID: <\(id)>
                Date: \(date("+0000"))
                Auto-Submitted: auto-replied
                MIME-Version: 1.0
                Content-Type: multipart/report; report-type=delivery-status; boundary="T\(row)"

                --T\(row)
                Content-Type: text/plain

                The mail system could not deliver your message to these recipients:

                <\(other)>: host mx.elsewhere.example.test said: 550 5.1.1 User unknown
                <\(email)>: host mx.example.test said: 550 5.1.1 User unknown
                --T\(row)
                Content-Type: message/delivery-status

                Reporting-MTA: dns; mx2.example.test

                Final-Recipient: rfc822; \(other)
                Action: failed
                Status: 5.1.1
                Diagnostic-Code: smtp; 550 5.1.1 <\(other)>: Recipient address rejected: User unknown

                Final-Recipient: rfc822; \(email)
                Action: failed
                Status: 5.1.1
                Diagnostic-Code: smtp; 550 5.1.1 <\(email)>: Recipient address rejected: User unknown

                --T\(row)--
                """))]

        case (.manualSenderReply, let variant):
            let id = "manual\(row)@example.test"
            let threading = [
                "In-Reply-To: <\(root)>\nReferences: <\(root)>", "References: <\(root)>", "In-Reply-To: <\(root)>\nReferences: <\(root)>",
                "In-Reply-To: <\(root)>",
            ][variant]
            let from = ["\(sales)", "Sales Team <\(sales)>", "Sales <\(sales)>", sales.uppercased()][variant]
            let route: Arrival.Route = [.sent, .sent, .sentAndInbox, .inbox][variant]
            return [Arrival(prospectRow: row, route: route, envelopeFrom: sales, messageID: id, raw: Mail.crlf("""
                From: \(from)
                To: \(Mail.encoded(name)) <\(email)>
                \(variant == 1 ? "Cc: colleague@example.test\n" : "")Subject: \(Mail.encoded("Re: \(subject)"))
                Message-ID: <\(id)>
                \(threading)
                Date: \(date("+0000"))

                Did you see my note?
                """))]

        case (.replyInJunk, let variant):
            let id = "junk\(row)@example.test"
            let threading = ["In-Reply-To: <\(root)>\nReferences: <\(root)>\n", "In-Reply-To: <\(root)>\n", ""][variant]
            let subjectLine = variant == 1 ? "[SPAM] Re: \(subject)" : "Re: \(subject)"
            return [Arrival(prospectRow: row, route: .junk, envelopeFrom: email, messageID: id, raw: Mail.crlf("""
                From: \(email)
                To: \(sales)
                Subject: \(Mail.encoded(subjectLine))
                Message-ID: <\(id)>
                \(threading)Date: \(date("+0000"))
                X-Spam-Flag: YES
                X-Spam-Status: Yes, score=6.2 required=5.0

                Sure, call me.
                """))]

        case (.deletedAfterSync, let variant):
            let id = "gone\(row)@example.test"
            let threading = ["In-Reply-To: <\(root)>\nReferences: <\(root)>\n", "In-Reply-To: <\(root)>\n", ""][variant]
            var arrival = reply(id, """
                From: \(email)
                To: \(sales)
                Subject: \(Mail.encoded("Re: \(subject)"))
                Message-ID: <\(id)>
                \(threading)Date: \(date("+0000"))

                Sounds good.
                """, flags: variant == 0 ? "S" : nil)
            arrival.deleteAfterSync = true
            return [arrival]

        case (.noAnswer, _):
            return []

        case (.colleagueReply, 0):  // Outlook: the prospect forwarded round 1 to a colleague, who answers in the thread
            let id = "AS8PR04MB\(row)C0L@AS8PR04MB\(row).eurprd04.prod.outlook.com"
            let forward = "AS8PR04MB\(row)FW0@AS8PR04MB\(row).eurprd04.prod.outlook.com"
            return [Arrival(prospectRow: row, envelopeFrom: "colleague\(row)@example.test", messageID: id, raw: Mail.crlf("""
                From: Dana Weiss <colleague\(row)@example.test>
                To: \(sales)
                Cc: \(Mail.encoded(name)) <\(email)>
                Subject: \(Mail.encoded("RE: FW: \(subject)"))
                Thread-Topic: \(Mail.encoded(subject))
                Date: \(date("+0100"))
                Message-ID: <\(id)>
                References: <\(root)> <\(forward)>
                In-Reply-To: <\(forward)>
                MIME-Version: 1.0
                Content-Type: text/plain; charset="utf-8"
                Content-Transfer-Encoding: 8bit

                \(name) passed your note on to me; I look after purchasing here. Let's talk next week.
                """))]
        case (.colleagueReply, _):  // a colleague's webmail that kept only the subject, German prefixes
            let id = "col\(row)@webmail.example.test"
            return [Arrival(prospectRow: row, envelopeFrom: "colleague\(row)@example.test", messageID: id, raw: Mail.crlf("""
                From: colleague\(row)@example.test
                To: \(sales)
                Subject: \(Mail.encoded("AW: WG: \(subject)"))
                Date: \(date("+0100"))
                Message-ID: <\(id)>

                Ich antworte in Vertretung: bitte rufen Sie mich an.
                """))]
        }
    }

    /// Unrelated mail in the same INBOX, read by the sender.
    static func newsletter(at date: Date) -> Arrival {
        Arrival(envelopeFrom: "news@vendor.example.test", messageID: "news1@vendor.example.test", raw: Mail.crlf("""
            From: Vendor News <news@vendor.example.test>
            To: \(sender.email)
            Subject: Our November product update
            Message-ID: <news1@vendor.example.test>
            Date: \(Mail.date(date, zone: "+0000"))
            Precedence: bulk
            List-Unsubscribe: <mailto:unsubscribe@vendor.example.test>

            What is new this month.
            """), flags: "S")
    }

    /// "<a@x> <b@y>" → ["a@x", "b@y"], whatever whitespace or phrases surround them.
    static func messageIDs(in header: String?) -> [String] {
        guard let header else { return [] }
        var ids: [String] = []
        var rest = Substring(header)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            ids.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return ids
    }

    /// "Folder <message-id>" → the message's maildir flags.
    static func flagsByMessage(_ folders: [String: [MaildirMessage]]) throws -> [String: String] {
        var flags: [String: String] = [:]
        for (folder, messages) in folders {
            for message in messages {
                let id = try #require(message.messageId, "a message in \(folder) without Message-ID: \(message.defects)")
                #expect(flags.updateValue(message.flags ?? "", forKey: "\(folder) \(id)") == nil, "\(folder) \(id) is there twice")
            }
        }
        return flags
    }

    /// Writing messages as clients do.
    enum Mail {
        /// Source text with "\n" line ends (as Swift literals have them) to CRLF.
        static func crlf(_ text: String) -> String {
            text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"
        }

        /// Unstructured text as is when it is ASCII, else one RFC 2047 encoded-word (UTF-8, base64).
        static func encoded(_ text: String) -> String {
            text.unicodeScalars.allSatisfy(\.isASCII) ? text : "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
        }

        /// One RFC 2047 "Q" encoded-word, in ISO-8859-1 when the text fits, else UTF-8.
        static func qEncoded(_ text: String) -> String {
            let (charset, bytes) = text.data(using: .isoLatin1).map { ("ISO-8859-1", [UInt8]($0)) } ?? ("UTF-8", Array(text.utf8))
            let encoded = bytes.map { byte -> String in
                switch byte {
                case 0x20: "_"
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: String(UnicodeScalar(byte))
                default: String(format: "=%02X", byte)
                }
            }.joined()
            return "=?\(charset)?Q?\(encoded)?="
        }

        static func base64Lines(_ text: String) -> String {
            Data(text.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        }

        /// An RFC 5322 date in the zone a client in that place writes, e.g. "+0530".
        static func date(_ date: Date, zone: String) -> String {
            let sign = zone.hasPrefix("-") ? -1 : 1
            let digits = Int(zone.dropFirst())!
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(secondsFromGMT: sign * ((digits / 100) * 3600 + (digits % 100) * 60))
            formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
            return formatter.string(from: date)
        }
    }

    /// The sender's Maildir as the test Dovecot keeps it (INBOX at the top, other folders as ".Name"), changed the way
    /// a mail client or filter on the server would: flags set, a message filed elsewhere, a message deleted.
    struct Maildir {
        let root: URL

        func directory(_ folder: String) -> URL { folder == "INBOX" ? root : root.appendingPathComponent("." + folder) }

        func file(of messageID: String, in folder: String) throws -> URL {
            for sub in ["new", "cur"] {
                let directory = directory(folder).appendingPathComponent(sub)
                for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                    let url = directory.appendingPathComponent(name)
                    let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
                    if text.range(of: "message-id: <\(messageID)>", options: .caseInsensitive) != nil { return url }
                }
            }
            throw HarnessError("<\(messageID)> is not in \(folder)")
        }

        /// Maildir info: "cur/BASE:2,FLAGS", flags in ASCII order.
        func setFlags(_ flags: String, on messageID: String, in folder: String) throws {
            let url = try file(of: messageID, in: folder)
            let base = url.lastPathComponent.components(separatedBy: ":2,")[0]
            let target = directory(folder).appendingPathComponent("cur/\(base):2,\(String(flags.sorted()))")
            try FileManager.default.moveItem(at: url, to: target)
        }

        func move(_ messageID: String, from folder: String, to other: String) throws {
            let url = try file(of: messageID, in: folder)
            let sub = url.deletingLastPathComponent().lastPathComponent
            let target = directory(other).appendingPathComponent(sub)
            guard FileManager.default.fileExists(atPath: target.path) else { throw HarnessError("\(other) has no maildir at \(target.path)") }
            try FileManager.default.moveItem(at: url, to: target.appendingPathComponent(url.lastPathComponent))
        }

        func delete(_ messageID: String, in folder: String) throws {
            try FileManager.default.removeItem(at: try file(of: messageID, in: folder))
        }
    }
}
