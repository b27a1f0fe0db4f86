import OutreachCore
import Testing

/// The classifier's decisions on hand-made facts: what the parser would hand it, without any parsing.
struct MessageClassifierTests {
    // MARK: - Builders

    func facts(
        from address: String = "anna@example.org", name: String? = "Anna Schmidt", subject: String? = "Re: Quick question",
        _ configure: (inout MessageFacts) -> Void = { _ in }
    ) -> MessageFacts {
        var facts = MessageFacts()
        facts.from = [MessageFacts.Sender(address: address, displayName: name)]
        facts.subject = subject
        configure(&facts)
        return facts
    }

    func body(_ text: String, _ configure: (inout BodyFacts) -> Void = { _ in }) -> BodyFacts {
        var body = BodyFacts()
        body.noticeText = text
        configure(&body)
        return body
    }

    func dsn(_ recipients: DeliveryStatusReport.Recipient...) -> MessageFacts {
        facts(from: "MAILER-DAEMON@mx.example.net", name: "Mail Delivery System", subject: "Undelivered Mail Returned to Sender") {
            $0.contentType = "multipart/report"
            $0.reportType = "delivery-status"
            $0.body = self.body("I'm sorry to have to inform you that your message could not be delivered.") {
                $0.deliveryStatus = DeliveryStatusReport(reportingMTA: "mx.example.net", recipients: recipients)
                $0.originalMessageID = "round1.abc@sales.example.com"
            }
        }
    }

    func bounce(_ classification: MessageClassification, sourceLocation: SourceLocation = #_sourceLocation) -> BounceDetails? {
        guard case .bounce(let details) = classification else {
            Issue.record("expected a bounce, got \(classification)", sourceLocation: sourceLocation)
            return nil
        }
        return details
    }

    // MARK: - People

    @Test("a person's reply is human, and only that counts as a reply")
    func personalReply() {
        let classification = MessageClassifier.classify(facts { $0.body = self.body("Sounds good — let's talk on Monday.") })
        #expect(classification == .human)
        #expect(classification.countsAsReply)
        #expect(classification.kind == "human")
    }

    @Test("a person who writes about bounces and out-of-office notes is still a person")
    func personTalkingAboutBounces() {
        let text = """
            Hi, sorry — your first mail bounced ("Delivery to the following recipient failed permanently", \
            550 5.1.1 user unknown) because IT renamed my mailbox. I was also out of office last week.
            """
        #expect(MessageClassifier.classify(facts(subject: "Re: Undeliverable: Quick question") { $0.body = self.body(text) }) == .human)
        #expect(MessageClassifier.classify(facts(subject: "RE: Out of office until Monday") { $0.body = self.body(text) }) == .human)
        // The prefixes of ReplySubject, behind a gateway's tag, in French typography or with a full-width colon.
        #expect(MessageClassifier.classify(facts(subject: "[EXT] AW: Unzustellbar: Quick question") { $0.body = self.body(text) }) == .human)
        #expect(MessageClassifier.classify(facts(subject: "TR : Non remis : Quick question") { $0.body = self.body(text) }) == .human)
        #expect(MessageClassifier.classify(facts(subject: "回复：Undeliverable: Quick question") { $0.body = self.body(text) }) == .human)
    }

    @Test("quoted text does not make a reply automatic")
    func quotedBounceInReply() {
        let text = """
            Resending from my new address, thanks!

            On Mon, 3 Jun 2024 at 10:00, Mail Delivery Subsystem <mailer-daemon@googlemail.com> wrote:
            > Delivery to the following recipient failed permanently:
            > 550 5.1.1 The email account that you tried to reach does not exist.
            """
        #expect(MessageClassifier.classify(facts(subject: "Fwd: Delivery Status Notification (Failure)") { $0.body = self.body(text) }) == .human)
    }

    // MARK: - Auto-replies

    @Test(arguments: [
        ("auto-replied", "Auto-Submitted: auto-replied"), ("auto-generated; owner-email=x@example.org", "Auto-Submitted: auto-generated"),
    ])
    func autoSubmitted(value: String, reason: String) {
        #expect(MessageClassifier.classify(facts { $0.autoSubmitted = value }) == .autoReply(reason: reason))
    }

    @Test("Auto-Submitted: no is what a person's client may send")
    func autoSubmittedNo() {
        #expect(MessageClassifier.classify(facts { $0.autoSubmitted = "no" }) == .human)
    }

    @Test("the older vendor marks and Precedence")
    func vendorMarks() {
        #expect(MessageClassifier.classify(facts { $0.xAutoreply = "yes" }).kind == "auto-reply")
        #expect(MessageClassifier.classify(facts { $0.xAutorespond = "" }).kind == "auto-reply")
        #expect(MessageClassifier.classify(facts { $0.precedence = "bulk" }).kind == "auto-reply")
        #expect(MessageClassifier.classify(facts { $0.precedence = "junk" }).kind == "auto-reply")
        #expect(MessageClassifier.classify(facts { $0.precedence = "first-class" }) == .human)
        #expect(MessageClassifier.classify(facts { $0.automationFields["x-autogenerated"] = "Reply" }).kind == "auto-reply")
        #expect(MessageClassifier.classify(facts { $0.automationFields["x-apple-action"] = "VACATION" }).kind == "auto-reply")
    }

    @Test(
        "responder subjects, matched at the start only",
        arguments: ["Automatic reply: Quick question", "Auto: Quick question", "Out of Office: Quick question", "Abwesenheitsnotiz: Frage",
                    "Réponse automatique : Question", "自動応答: ご質問"]
    )
    func responderSubjects(subject: String) {
        #expect(MessageClassifier.classify(facts(subject: subject)).kind == "auto-reply")
    }

    @Test("no-reply and list-manager senders are not people")
    func automatedSenders() {
        #expect(MessageClassifier.classify(facts(from: "no-reply@service.example", name: nil, subject: "Your ticket #42")).kind == "auto-reply")
        #expect(MessageClassifier.classify(facts(from: "sales-owner@lists.example", name: nil, subject: "Moderation")).kind == "auto-reply")
    }

    @Test("a From that could not be read says nothing about the author")
    func missingFrom() {
        var message = facts()
        message.from = []
        #expect(MessageClassifier.classify(message) == .human)
    }

    // MARK: - Delivery status reports

    @Test("a permanent failure is a hard bounce with recipient, status, diagnostic and original Message-ID")
    func permanentFailure() throws {
        let facts = dsn(.init(finalRecipient: "Anna@Example.org", action: "failed", status: "5.1.1", diagnosticCode: "550 5.1.1 <anna@example.org>: User unknown"))
        let details = try #require(bounce(MessageClassifier.classify(facts)))
        #expect(details.severity == .hard)
        #expect(details.reason == .userUnknown)
        #expect(details.failedRecipients == ["anna@example.org"])
        #expect(details.status == "5.1.1")
        #expect(details.diagnostic == "550 5.1.1 <anna@example.org>: User unknown")
        #expect(details.originalMessageID == "round1.abc@sales.example.com")
        #expect(details.evidence == .deliveryStatus)
        #expect(details.detailsKnown)
    }

    @Test("the address we mailed (Original-Recipient) wins over the one an alias expanded to")
    func originalRecipient() throws {
        let facts = dsn(.init(finalRecipient: "anna.schmidt@mailhost.example.org", originalRecipient: "anna@example.org", action: "failed", status: "5.1.1"))
        #expect(try #require(bounce(MessageClassifier.classify(facts))).failedRecipients == ["anna@example.org"])
    }

    @Test(
        "without wording the Status decides the reason and the reason hard, soft or sender; transient failures are never hard",
        arguments: [
            ("failed", "5.1.1", BounceDetails.Severity.hard, BounceReason.userUnknown), ("failed", "5.1.2", .hard, .hostUnknown),
            ("failed", "5.1.10", .hard, .notAccepting), ("failed", "4.1.1", .soft, .userUnknown), ("delayed", "4.4.7", .soft, .expired),
            ("failed", "4.4.7 (expired)", .soft, .expired), ("failed", "5.2.2", .soft, .mailboxFull), ("failed", "5.2.1", .soft, .suspended),
            ("failed", "5.7.1", .sender, .policy), ("failed", "5.7.23", .sender, .security), ("failed", "5.3.4", .sender, .messageTooBig),
            ("failed", "5.0.0 (permanent failure)", .soft, .undefined), ("failed", "", .soft, .undefined), ("delayed", "", .soft, .delayed),
        ]
    )
    func severity(action: String, status: String, expected: BounceDetails.Severity, reason: BounceReason) throws {
        var facts = dsn(.init(finalRecipient: "anna@example.org", action: action, status: status.isEmpty ? nil : status))
        facts.body?.noticeText = ""
        let details = try #require(bounce(MessageClassifier.classify(facts)))
        #expect(details.severity == expected)
        #expect(details.reason == reason)
    }

    @Test(
        "the receiver's wording decides the reason over a generic status; refusals of the sender are never hard",
        arguments: [
            ("5.7.1", "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", BounceDetails.Severity.sender, BounceReason.blocked),
            ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", .sender, .spam),
            ("5.7.26", "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy", .sender, .security),
            ("4.7.0", "421 4.7.0 Try again later, closing connection. (RL) too many messages", .sender, .rateLimited),
            ("5.0.0", "550 5.0.0 <anna@example.org>... User unknown", .hard, .userUnknown),
            ("5.0.0", "552 5.0.0 Mailbox quota exceeded", .soft, .mailboxFull),
            ("5.0.0", "550 Host unknown (Name server: example.org: host not found)", .hard, .hostUnknown),
            ("5.0.0", "550 This account has been suspended", .soft, .suspended),
            ("5.1.3", "501 5.1.3 Bad recipient address syntax", .hard, .syntaxError),
        ]
    )
    func reasonFromWording(status: String, diagnostic: String, expected: BounceDetails.Severity, reason: BounceReason) throws {
        let facts = dsn(.init(finalRecipient: "anna@example.org", action: "failed", status: status, diagnosticCode: diagnostic))
        let details = try #require(bounce(MessageClassifier.classify(facts)))
        #expect(details.severity == expected)
        #expect(details.reason == reason)
    }

    @Test("one permanent failure among delays makes the bounce hard, and names only the address that failed that way")
    func mixedRecipients() throws {
        let facts = dsn(
            .init(finalRecipient: "a@example.org", action: "delayed", status: "4.4.1"),
            .init(finalRecipient: "b@example.org", action: "failed", status: "5.1.1"),
            .init(finalRecipient: "c@example.org", action: "delivered", status: "2.0.0")
        )
        let details = try #require(bounce(MessageClassifier.classify(facts)))
        #expect(details.severity == .hard)
        // a@ is only delayed: naming it in a hard bounce would stop its follow-ups as if its address were bad.
        #expect(details.failedRecipients == ["b@example.org"])
        #expect(details.status == "5.1.1")
        #expect(details.reason == .userUnknown)
    }

    @Test(
        "a success report (delivered, relayed, expanded, deliverable, or a 2.x.x status) is its own class: not a bounce, not a reply",
        arguments: [("delivered", "2.0.0"), ("relayed", "2.0.0"), ("expanded", "2.1.5"), ("deliverable", "2.1.5"), ("Deliverable", "2.0.0"), ("", "2.6.0")]
    )
    func deliveredReport(action: String, status: String) {
        let facts = dsn(.init(finalRecipient: "Anna@example.org", action: action.isEmpty ? nil : action, status: status))
        let classification = MessageClassifier.classify(facts)
        #expect(classification == .delivered(recipients: ["anna@example.org"], originalMessageID: "round1.abc@sales.example.com"))
        #expect(classification.kind == "delivered")
        #expect(!classification.countsAsReply)
    }

    // MARK: - Bounces without DSN fields

    func notice(_ text: String, from: String = "MAILER-DAEMON@mx.example.net", subject: String = "failure notice", _ configure: (inout MessageFacts) -> Void = { _ in }) -> MessageFacts {
        facts(from: from, name: nil, subject: subject) {
            $0.body = self.body(text) { $0.textFailedRecipients = ["anna@example.org"] }
            configure(&$0)
        }
    }

    @Test("qmail-style notice: recipient from the text, hard from the 5.x.x code")
    func qmailNotice() throws {
        let text = """
            Hi. This is the qmail-send program at mx.example.net.
            I'm afraid I wasn't able to deliver your message to the following addresses.
            <anna@example.org>:
            Remote host said: 550 5.1.1 <anna@example.org>: Recipient address rejected: User unknown
            """
        let details = try #require(bounce(MessageClassifier.classify(notice(text))))
        #expect(details.severity == .hard)
        #expect(details.failedRecipients == ["anna@example.org"])
        #expect(details.status == "5.1.1")
        #expect(details.diagnostic == "Remote host said: 550 5.1.1 <anna@example.org>: Recipient address rejected: User unknown")
        #expect(details.evidence == .noticeText)
    }

    @Test(
        "severity from the text: the reason from the wording or the code; transient codes or delay wording are soft",
        arguments: [
            ("Remote host said: 550 5.1.1 user unknown", BounceDetails.Severity.hard),
            ("Remote host said: 554 5.7.1 Service unavailable; Client host blocked using bl.spamcop.net", .sender),
            ("malformed recipient address: anna@", .hard),
            ("Remote host said: 452 4.2.2 mailbox full", .soft),
            ("552 5.2.2 Mailbox full", .soft),
            ("550 Requested action not taken: mailbox full", .soft),
            ("The user's quota has been exceeded.", .soft),
            ("550 no such user here", .hard),
            ("421 Service not available, closing transmission channel", .soft),
            ("Delivery to the following recipient has been delayed.", .soft),
            ("The recipient name is not recognized", .hard),
            ("Remote host said: 550 5.1.1 unknown\nRemote host said: 552 5.2.2 Mailbox full", .hard),
        ]
    )
    func noticeSeverity(text: String, expected: BounceDetails.Severity) throws {
        let details = try #require(bounce(MessageClassifier.classify(notice("Your message could not be delivered.\n" + text))))
        #expect(details.severity == expected)
    }

    @Test("X-Failed-Recipients alone makes a bounce, whoever sent it, and names the recipients")
    func failedRecipientsHeader() throws {
        let facts = facts(from: "someone@example.net", subject: "Hello") {
            $0.xFailedRecipients = ["Anna@example.org"]
            $0.body = self.body("mailbox is full: retry timeout exceeded")
        }
        let details = try #require(bounce(MessageClassifier.classify(facts)))
        #expect(details.failedRecipients == ["anna@example.org"])
        #expect(details.severity == .soft)
    }

    @Test("Exchange marks its non-delivery reports")
    func exchangeNDR() {
        let facts = facts(from: "postmaster@contoso.example", subject: "Undeliverable: Quick question") {
            $0.automationFields["x-ms-exchange-message-is-ndr"] = ""
            $0.body = self.body("Delivery has failed to these recipients or groups:\nanna@example.org")
        }
        #expect(MessageClassifier.classify(facts).kind == "bounce")
    }

    @Test("a notice that calls itself an auto-reply and shows no status code is taken at its word")
    func selfDeclaredAutoReply() {
        let text = "Your message was rejected and discarded because it wasn't possible to save it (i.e. mailbox full)."
        let declared = notice(text, from: "postmaster@example.de", subject: "email bounce notification") { $0.autoSubmitted = "auto-replied" }
        #expect(MessageClassifier.classify(declared).kind == "auto-reply")
        let withCode = notice(text + "\n552 5.2.2 mailbox full", from: "postmaster@example.de") { $0.autoSubmitted = "auto-replied" }
        #expect(MessageClassifier.classify(withCode).kind == "bounce")
    }

    @Test("bounce wording from a person needs a bounce subject too")
    func personWithBounceWording() {
        let text = "Message could not be delivered to mobile.\nError: No valid recipients for this MM"
        #expect(MessageClassifier.classify(facts(from: "sysadmin@mms.example", name: nil, subject: "Undeliverable Message") { $0.body = self.body(text) }).kind == "bounce")
        #expect(MessageClassifier.classify(facts(from: "sysadmin@mms.example", name: nil, subject: "Question") { $0.body = self.body(text) }) == .human)
    }

    @Test("a mail-system message without any failure is automatic, not a bounce")
    func mailSystemNotice() {
        let facts = facts(from: "postmaster@example.net", name: nil, subject: "Your mailbox settings") { $0.body = self.body("Your quota settings were updated.") }
        #expect(MessageClassifier.classify(facts).kind == "auto-reply")
    }

    // MARK: - Complaints

    @Test("a feedback report is a complaint about the recipient, with the original Message-ID")
    func complaint() {
        let facts = facts(from: "fbl@isp.example", subject: "Abuse Report") {
            $0.contentType = "multipart/report"
            $0.reportType = "feedback-report"
            $0.body = self.body("This is an email abuse report") {
                $0.feedbackReport = FeedbackReport(feedbackType: "abuse", recipients: ["Anna@example.org"])
                $0.originalMessageID = "round1.abc@sales.example.com"
            }
        }
        #expect(MessageClassifier.classify(facts) == .complaint(recipient: "anna@example.org", originalMessageID: "round1.abc@sales.example.com"))
    }

    @Test("a redacted complaint falls back to the one recipient of the reported message")
    func redactedComplaint() {
        let facts = facts(from: "fbl@isp.example", subject: "Abuse Report") {
            $0.body = self.body("") {
                $0.feedbackReport = FeedbackReport(feedbackType: "abuse")
                $0.originalRecipients = ["anna@example.org"]
            }
        }
        #expect(MessageClassifier.classify(facts) == .complaint(recipient: "anna@example.org", originalMessageID: nil))
    }

    // MARK: - Header only

    @Test("from the header alone: a bounce whose details are unknown, and a request for the whole message")
    func headerOnlyBounce() throws {
        let header = facts(from: "MAILER-DAEMON@mx.example.net", name: "Mail Delivery System", subject: "Undelivered Mail Returned to Sender")
        let details = try #require(bounce(MessageClassifier.classify(header)))
        #expect(details.evidence == .headersOnly)
        #expect(!details.detailsKnown)
        #expect(details.failedRecipients.isEmpty)
        #expect(MessageClassifier.needsFullMessage(header))
    }

    @Test("from the header alone: report types decide")
    func headerOnlyReports() {
        let delivery = facts(from: "anything@example.net", subject: "Report") {
            $0.contentType = "multipart/report"
            $0.reportType = "delivery-status"
        }
        #expect(MessageClassifier.classify(delivery).kind == "bounce")
        let feedback = facts(from: "anything@example.net", subject: "Report") {
            $0.contentType = "multipart/report"
            $0.reportType = "feedback-report"
        }
        #expect(MessageClassifier.classify(feedback) == .complaint(recipient: nil, originalMessageID: nil))
        let receipt = facts(subject: "Read: Quick question") {
            $0.contentType = "multipart/report"
            $0.reportType = "disposition-notification"
        }
        #expect(MessageClassifier.classify(receipt).kind == "auto-reply")
    }

    @Test("from the header alone: a person's mail needs no second fetch, a bounce-like subject does")
    func needsFullMessage() {
        #expect(!MessageClassifier.needsFullMessage(facts()))
        #expect(!MessageClassifier.needsFullMessage(facts { $0.autoSubmitted = "auto-replied" }))
        #expect(MessageClassifier.needsFullMessage(facts(subject: "Undeliverable: Quick question")))
        #expect(!MessageClassifier.needsFullMessage(facts { $0.body = BodyFacts() }))
        #expect(!MessageClassifier.needsFullMessage(facts(from: "no-reply@shop.example", name: nil, subject: "Your order has shipped")))
        #expect(MessageClassifier.needsFullMessage(facts(from: "no-reply@shop.example", name: nil, subject: "Mail delivery failed")))
        #expect(MessageClassifier.needsFullMessage(facts(from: "postmaster@example.net", name: nil, subject: "Notice")))
    }

    @Test("the header fields to fetch include every field the classifier reads")
    func headerFieldNames() {
        let fetched = Set(MessageFacts.headerFieldNames.map { $0.lowercased() })
        #expect(fetched.isSuperset(of: MessageFacts.automationFieldNames))
        #expect(fetched.isSuperset(of: ["from", "subject", "auto-submitted", "x-autoreply", "x-autorespond", "precedence", "x-failed-recipients", "content-type"]))
        #expect(!fetched.contains("x-auto-response-suppress"))
    }

    // MARK: - Status codes

    @Test("enhanced status codes stand alone: not versions, addresses or dates with more parts")
    func statusCodes() {
        #expect(DeliveryStatusCode(parsing: "5.0.0 (permanent failure)")?.description == "5.0.0")
        #expect(DeliveryStatusCode(parsing: " 4.4.7") == DeliveryStatusCode(statusClass: 4, subject: 4, detail: 7))
        #expect(DeliveryStatusCode(parsing: "permanent") == nil)
        let found = DeliveryStatusCode.codes(in: "550-5.7.26 DMARC (#5.1.1) 4.16.55.1 version 4.8.3.54 via 192.0.2.25 and 5.1.10")
        #expect(found.map(\.description) == ["5.7.26", "5.1.1", "5.1.10"])
    }
}
