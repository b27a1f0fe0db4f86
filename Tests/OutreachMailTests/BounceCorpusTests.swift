import Foundation
import OutreachCore
import OutreachMail
import Testing

/// Runs every message of the shared bounce corpus (`shared/corpora/bounces`, real bounces, auto-replies and
/// complaints from the Sisimai project) through the parser and the classifier, and checks each lands in the
/// class its file-name prefix names (see the corpus README).
struct BounceCorpusTests {
    /// `<repo root>/../shared/corpora/bounces`: CI clones the repository beside `shared/`, as on the dev machine.
    static let corpusFolder: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/corpora/bounces").standardizedFileURL

    static let corpusFiles: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpusFolder.path)) ?? []
        return names.filter { $0.hasSuffix(".eml") }.sorted()
    }()

    enum Expected: String {
        case bounce, autoReply = "auto-reply", complaint, delivered, notBounce = "not a bounce"
    }

    /// The README's table: the file-name prefix says what produced the message.
    static func expected(for file: String) -> Expected? {
        if let exception = exceptions[file] { return exception.expected }
        if file.hasPrefix("lhost-") || file.hasPrefix("rhost-") || file.hasPrefix("rfc3464-") { return .bounce }
        if file.hasPrefix("rfc3834-") { return .autoReply }
        if file.hasPrefix("arf-") { return .complaint }
        if file.hasPrefix("is-not-bounce-") || file.hasPrefix("rb-issue-") { return .notBounce }
        return nil
    }

    /// Files whose prefix says "bounce" but whose content is something else. Each is still never a human reply.
    static let exceptions: [String: (expected: Expected, reason: String)] = [
        "lhost-amazonses-11.eml": (
            .complaint, "an Amazon SES notification of type Complaint (complainedRecipients), relayed by SNS: a spam complaint, not a bounce"
        ),
        "lhost-amazonses-13.eml": (
            .delivered, "an Amazon SES notification of type Delivery (smtpResponse 250): the message arrived, so it must not bounce the prospect"
        ),
    ]

    static func classify(_ file: String) throws -> (MessageFacts, MessageClassification) {
        let data = try Data(contentsOf: corpusFolder.appendingPathComponent(file))
        let facts = MessageReportParser.facts(message: [UInt8](data))
        return (facts, MessageClassifier.classify(facts))
    }

    @Test("the corpus folder is where the tests look for it")
    func corpusIsPresent() {
        #expect(
            Self.corpusFiles.count > 300,
            "expected the bounce corpus (300+ .eml files) at \(Self.corpusFolder.path); clone the repository beside shared/"
        )
    }

    @Test("every corpus message lands in the class its file name says", arguments: corpusFiles)
    func lands(in file: String) throws {
        let expected = try #require(Self.expected(for: file), "no expectation for \(file): add its prefix to the README table")
        let (_, classification) = try Self.classify(file)
        if expected != .notBounce { #expect(!classification.countsAsReply, "\(file) would count as a human reply") }
        switch expected {
        case .bounce:
            guard case .bounce = classification else {
                Issue.record("\(file): expected a bounce, got \(classification)")
                return
            }
        case .autoReply:
            guard case .autoReply = classification else {
                Issue.record("\(file): expected an auto-reply, got \(classification)")
                return
            }
        case .complaint:
            guard case .complaint = classification else {
                Issue.record("\(file): expected a complaint, got \(classification)")
                return
            }
        case .delivered:
            guard case .delivered = classification else {
                Issue.record("\(file): expected a success report, got \(classification)")
                return
            }
        case .notBounce:
            if case .bounce = classification { Issue.record("\(file): expected no bounce, got \(classification)") }
        }
    }

    /// Fixtures/bounce-corpus-expected.tsv: the expected class, severity and reason of every corpus file.
    static let expectedRows: [String: (class: String, severity: String, reason: String)] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bounce-corpus-expected.tsv")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        var rows: [String: (class: String, severity: String, reason: String)] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if columns.count >= 4 { rows[columns[0]] = (columns[1], columns[2], columns[3]) }
        }
        return rows
    }()

    @Test("every corpus message has its expected class, severity (hard, soft, sender) and bounce reason", arguments: corpusFiles)
    func reason(of file: String) throws {
        let expected = try #require(Self.expectedRows[file], "\(file) is missing from Fixtures/bounce-corpus-expected.tsv")
        let (_, classification) = try Self.classify(file)
        var got = (class: classification.kind, severity: "-", reason: "-")
        if case .bounce(let details) = classification {
            got.severity = details.severity.rawValue
            got.reason = details.reason.rawValue
        }
        #expect(got.class == expected.class && got.severity == expected.severity && got.reason == expected.reason, "\(file): \(got) instead of \(expected)")
    }

    @Test("no success report and no refusal of the sender is ever a hard bounce")
    func neverHard() throws {
        for file in Self.corpusFiles {
            let (_, classification) = try Self.classify(file)
            guard case .bounce(let details) = classification else { continue }
            #expect(details.reason.kind != .sender || details.severity == .sender, "\(file): \(details.reason) is \(details.severity)")
            if details.severity == .hard { #expect(details.reason.kind == .hard, "\(file)") }
        }
    }

    @Test("bounces name their failed recipients, the original Message-ID and a severity that agrees with the DSN")
    func bounceDetails() throws {
        var bounces = 0
        var withRecipient = 0
        var withMessageID = 0
        var missingRecipient: [String] = []
        var missingID: [String] = []
        for file in Self.corpusFiles where Self.expected(for: file) == .bounce {
            let (_, classification) = try Self.classify(file)
            guard case .bounce(let details) = classification else { continue }
            bounces += 1
            if details.failedRecipients.isEmpty { missingRecipient.append(file) } else { withRecipient += 1 }
            if details.originalMessageID != nil { withMessageID += 1 } else { missingID.append(file) }
        }
        print("""
            bounce corpus: \(bounces) bounces; failed recipient named in \(withRecipient) (\(percent(withRecipient, bounces))), \
            original Message-ID in \(withMessageID) (\(percent(withMessageID, bounces))); \

            no recipient: \(missingRecipient.joined(separator: " "))
            no Message-ID: \(missingID.joined(separator: " "))
            """)
        #expect(missingRecipient.isEmpty, "no failed recipient found in \(missingRecipient)")
    }

    @Test("from the header alone, nothing that is not a person reads as one without asking for the body")
    func headerOnly() throws {
        var recognised = 0
        var bounces = 0
        for file in Self.corpusFiles {
            let data = try Data(contentsOf: Self.corpusFolder.appendingPathComponent(file))
            let facts = MessageReportParser.facts(header: [UInt8](data))
            #expect(facts.body == nil)
            let classification = MessageClassifier.classify(facts)
            switch Self.expected(for: file) {
            case .bounce:
                bounces += 1
                if case .bounce(let details) = classification {
                    recognised += 1
                    #expect(details.evidence == .headersOnly, "\(file)")
                    #expect(MessageClassifier.needsFullMessage(facts), "\(file): a header-only bounce must ask for its details")
                } else {
                    #expect(!classification.countsAsReply || MessageClassifier.needsFullMessage(facts), "\(file) reads as human from its header")
                }
            case .complaint, .autoReply, .delivered:
                #expect(!classification.countsAsReply || MessageClassifier.needsFullMessage(facts), "\(file) reads as human from its header: \(classification)")
            case .notBounce, nil:
                break
            }
        }
        print("header only: \(recognised) of \(bounces) bounces recognised without the body")
    }

    @Test("CRLF line ends read the same as the corpus's LF", arguments: corpusFiles.filter { $0.hasPrefix("lhost-") || $0.hasPrefix("arf-") }.prefix(60))
    func crlf(file: String) throws {
        let data = try Data(contentsOf: Self.corpusFolder.appendingPathComponent(file))
        var crlf: [UInt8] = []
        for byte in data {
            if byte == 0x0A && crlf.last != 0x0D { crlf.append(0x0D) }
            crlf.append(byte)
        }
        let lf = try Self.classify(file).1
        #expect(MessageClassifier.classify(MessageReportParser.facts(message: crlf)) == lf)
    }

    // MARK: - Known answers

    func details(_ file: String) throws -> BounceDetails {
        let (_, classification) = try Self.classify(file)
        guard case .bounce(let details) = classification else { throw Failure("\(file) is not a bounce: \(classification)") }
        return details
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test("OpenSMTPD: one report of an unknown user and a full mailbox is hard for the unknown user only")
    func oneUnknownOneFull() throws {
        let bounce = try details("lhost-opensmtpd-17.eml")
        #expect(bounce.severity == .hard && bounce.reason == .userUnknown)
        #expect(bounce.failedRecipients == ["userunknown@libsisimai.net"], "the full mailbox's address must not be marked bad")
    }

    @Test("Postfix DSN: the recipient we mailed, before alias expansion")
    func postfix() throws {
        let bounce = try details("lhost-postfix-01.eml")
        #expect(bounce.severity == .hard)
        #expect(bounce.failedRecipients == ["kijitora@example.org"])
        #expect(bounce.status == "5.1.1")
        #expect(bounce.evidence == .deliveryStatus)
    }

    @Test("RFC 3464 example: three recipients, one delayed, folded Diagnostic-Code, indented boundary; the delayed one is not named in the hard bounce")
    func rfc3464() throws {
        let bounce = try details("rfc3464-35.eml")
        #expect(bounce.failedRecipients == ["kijitora@nyaan.example.com", "mikeneko@neko.example.or.jp"])
        #expect(bounce.severity == .hard)
        #expect(bounce.diagnostic == "550 'kijitora@nyaan.example.com' is not a registered gateway user")
    }

    @Test("qmail: recipients and codes from the text, the original from the pasted copy")
    func qmail() throws {
        let bounce = try details("lhost-qmail-17.eml")
        #expect(bounce.failedRecipients == ["userunknown@libsisimai.net", "mailboxfull@libsisimai.net"])
        #expect(bounce.severity == .hard)
        #expect(bounce.originalMessageID == "20240624090401.44656.qmail@nq.example.jp")
        #expect(bounce.evidence == .noticeText)
    }

    @Test("Exim: X-Failed-Recipients, a full mailbox is soft")
    func exim() throws {
        let bounce = try details("lhost-exim-07.eml")
        #expect(bounce.failedRecipients == ["shiba@example.com"])
        #expect(bounce.severity == .soft)
    }

    @Test("Office 365 NDR with a base64 or quoted-printable body")
    func office365() throws {
        let bounce = try details("lhost-office365-09.eml")
        #expect(bounce.failedRecipients == ["azumakuniyuki@example.ne.jp"])
        #expect(bounce.originalMessageID == "SLXP216MB0381A2BCD997D05F53CDB50BA9220@SLXP216MB0381.KORP216.PROD.OUTLOOK.COM")
    }

    @Test("a bounce relayed inside another bounce is read from the inner report")
    func relayedBounce() throws {
        let bounce = try details("lhost-postfix-49.eml")
        #expect(bounce.failedRecipients == ["toraneko@neko.example.co.jp"])
        // "server refused to talk to me: 421": the receiver refused our server, not the address.
        #expect(bounce.severity == .sender)
        #expect(bounce.reason == .blocked)
        #expect(bounce.originalMessageID == "1409050600.12984636501178305590.JavaMail.root@mz-cb000p.noc-kyoto2jo.ocn.ad.jp")
    }

    @Test("ARF: the complaining recipient from Original-Rcpt-To and the reported message's Message-ID")
    func arf() throws {
        let (_, classification) = try Self.classify("arf-17.eml")
        #expect(classification == .complaint(recipient: "kijitora@example.com", originalMessageID: "EEEEEEEE-0000-0000-0000-EEEEEEEE2222@example.net"))
    }

    // MARK: - People's replies stay human

    static let gmailReply = """
        Return-Path: <anna@example.org>
        From: Anna Schmidt <anna@example.org>
        To: Sales <sales@example.com>
        Subject: Re: Quick question about Q3
        Date: Mon, 3 Jun 2024 10:15:00 +0200
        Message-ID: <CAF=abc123@mail.gmail.com>
        In-Reply-To: <round1.abc@example.com>
        References: <round1.abc@example.com>
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary="000000000000abcdef"

        --000000000000abcdef
        Content-Type: text/plain; charset="UTF-8"
        Content-Transfer-Encoding: quoted-printable

        Hi, your first mail bounced on our side (delivery failed, our filter said =
        550 5.7.1) =E2=80=94 glad this one arrived. Let's talk Monday.

        On Fri, 31 May 2024 at 09:00, Mail Delivery Subsystem <mailer-daemon@googlemail.com> wrote:
        > Delivery to the following recipient failed permanently:
        >      anna@example.org
        > The response was: 550 5.1.1 The email account that you tried to reach does not exist.

        --000000000000abcdef
        Content-Type: text/html; charset="UTF-8"

        <div>Hi, your first mail bounced on our side</div>
        --000000000000abcdef--

        """

    static let outlookReply = """
        From: "Schmidt, Anna" <Anna.Schmidt@contoso.example>
        To: "sales@example.com" <sales@example.com>
        Subject: RE: Out of office? Quick question about Q3
        Thread-Topic: Quick question about Q3
        Thread-Index: AQHUK7SGyb2wc5IOhUuAQlATdAYRMQ==
        Date: Mon, 3 Jun 2024 08:15:00 +0000
        Message-ID: <AM0PR01MB1234@AM0PR01MB1234.eurprd01.prod.outlook.com>
        In-Reply-To: <round2.def@example.com>
        X-MS-Exchange-Organization-AuthAs: Internal
        X-Auto-Response-Suppress: All
        X-MS-Has-Attach:
        Content-Type: text/plain; charset="iso-8859-1"
        Content-Transfer-Encoding: quoted-printable
        MIME-Version: 1.0

        Hello, I was out of office last week, sorry. The automatic reply said "Undel=
        iverable" for my colleague, he left the company.

        Best regards
        Anna

        -----Original Message-----
        From: Sales <sales@example.com>
        Sent: Friday, May 31, 2024 9:00 AM
        To: Schmidt, Anna <Anna.Schmidt@contoso.example>
        Subject: Quick question about Q3

        Automatic reply: I am out of the office until June 3rd.

        """

    static let appleMailReply = """
        From: Anna Schmidt <anna@icloud.example>
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit
        Mime-Version: 1.0 (Mac OS X Mail 16.0)
        Subject: Re: Out of office until Monday
        Date: Mon, 3 Jun 2024 10:15:00 +0200
        References: <round1.abc@example.com>
        To: sales@example.com
        In-Reply-To: <round1.abc@example.com>
        Message-Id: <A1B2C3D4-0000-1111-2222-333344445555@icloud.example>
        X-Mailer: Apple Mail (2.3731.500.231)

        Back now — the mail delivery failed notice you got was our old server. Happy to chat.

        > On 31. May 2024, at 09:00, Sales <sales@example.com> wrote:
        >
        > I am out of the office. This message could not be delivered to one or more recipients.

        """

    @Test("Gmail, Outlook and Apple Mail replies that talk about bounces and out-of-office notes stay human",
          arguments: [("Gmail", gmailReply), ("Outlook", outlookReply), ("Apple Mail", appleMailReply)])
    func humanReplies(client: String, message: String) {
        let facts = MessageReportParser.facts(message: message)
        #expect(MessageClassifier.classify(facts) == .human, "\(client) reply")
        #expect(MessageClassifier.classify(MessageReportParser.facts(header: Array(message.utf8))) == .human, "\(client) reply, header only")
        #expect(!MessageClassifier.needsFullMessage(MessageReportParser.facts(header: Array(message.utf8))), "\(client) reply")
    }

    @Test("a person forwarding a bounce as an attachment is a person")
    func forwardedBounce() throws {
        let bounce = try String(contentsOf: Self.corpusFolder.appendingPathComponent("lhost-postfix-01.eml"), encoding: .utf8)
        let message = """
            From: Anna Schmidt <anna@example.org>
            To: sales@example.com
            Subject: Fwd: Undelivered Mail Returned to Sender
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="fwd"

            --fwd
            Content-Type: text/plain

            This came back when I wrote to my colleague, FYI.

            --fwd
            Content-Type: message/rfc822

            \(bounce)
            --fwd--

            """
        #expect(MessageClassifier.classify(MessageReportParser.facts(message: message)) == .human)
    }

    // MARK: - Notices without DSN fields

    static let eximMalformed = """
        Return-path: <>
        From: Mail Delivery System <Mailer-Daemon@mx.example.net>
        To: sales@example.com
        Subject: Mail failure - malformed recipient address
        Auto-Submitted: auto-replied
        Message-Id: <E1abcde-0001@mx.example.net>
        Date: Mon, 03 Jun 2024 10:15:00 +0200

        A message that you sent contained one or more recipient addresses that were
        incorrectly constructed:

          anna@example..org: malformed address: .org may not follow anna@example.

        This address has been ignored. There were no other addresses in your
        message, and so no attempt at delivery was possible.

        ------ This is a copy of your message, including all the headers. ------

        From: Sales <sales@example.com>
        To: anna@example..org
        Subject: Quick question about Q3
        Message-ID: <round1.abc@example.com>

        Hi Anna,

        """

    static let listNotMember = """
        From: sales-team-owner@lists.example.org
        To: sales@example.com
        Subject: Your message to Sales-team was rejected
        Precedence: bulk
        Auto-Submitted: auto-replied
        X-List-Administrivia: yes
        Message-ID: <mailman.1.1717402500.123.sales-team@lists.example.org>
        Date: Mon, 03 Jun 2024 10:15:00 +0200
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="===1=="

        --===1==
        Content-Type: text/plain; charset="us-ascii"

        You are not allowed to post to this mailing list, and your message has
        been automatically rejected.  If you think that your messages are
        being rejected in error, contact the mailing list owner at
        sales-team-owner@lists.example.org.  Reason: you are not a member of
        the list sales-team@lists.example.org.

        --===1==
        Content-Type: message/rfc822

        From: Sales <sales@example.com>
        To: sales-team@lists.example.org
        Subject: Quick question about Q3
        Message-ID: <round1.def@example.com>

        Hi,

        --===1==--

        """

    @Test("Exim's \"malformed recipient address\" notice is a hard bounce for a malformed address, not an auto-reply")
    func eximMalformedAddress() throws {
        let classification = MessageClassifier.classify(MessageReportParser.facts(message: Self.eximMalformed))
        guard case .bounce(let details) = classification else {
            Issue.record("expected a bounce, got \(classification)")
            return
        }
        #expect(details.severity == .hard)
        #expect(details.reason == .syntaxError)
        #expect(details.originalMessageID == "round1.abc@example.com")
    }

    @Test("a list manager's \"you are not a member\" refusal is a hard bounce: that address accepts no mail from us")
    func listMembersOnly() throws {
        let classification = MessageClassifier.classify(MessageReportParser.facts(message: Self.listNotMember))
        guard case .bounce(let details) = classification else {
            Issue.record("expected a bounce, got \(classification)")
            return
        }
        #expect(details.severity == .hard)
        #expect(details.reason == .notAccepting)
        #expect(details.failedRecipients == ["sales-team@lists.example.org"])
        #expect(details.originalMessageID == "round1.def@example.com")
    }

    @Test("damaged input is read without crashing")
    func damagedInput() {
        var nested = "Content-Type: multipart/mixed; boundary=b0\n\n"
        for level in 1...40 { nested += "--b\(level - 1)\nContent-Type: multipart/mixed; boundary=b\(level)\n\n" }
        var random = SystemRandomNumberGenerator()
        let inputs: [[UInt8]] = [
            [], Array("\n\n\n".utf8), Array("From: <>\n".utf8), (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) },
            Array("Content-Type: multipart/report; report-type=delivery-status\n\nno delimiters at all\n".utf8),
            Array("Content-Type: message/delivery-status\n\nFinal-Recipient: rfc822;\nAction:\nStatus: 9.9.9.9\n".utf8),
            Array(nested.utf8),
        ]
        for input in inputs {
            let facts = MessageReportParser.facts(message: input)
            _ = MessageClassifier.classify(facts)
            _ = MessageClassifier.classify(MessageReportParser.facts(header: input))
        }
    }

    private func percent(_ part: Int, _ whole: Int) -> String {
        whole == 0 ? "-" : String(format: "%.1f%%", Double(part) * 100 / Double(whole))
    }
}
