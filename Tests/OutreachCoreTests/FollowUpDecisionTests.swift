import Foundation
import OutreachCore
import Testing

/// The decision table on hand-made evidence: what the thread index would hand it for one prospect.
struct FollowUpDecisionTests {
    // MARK: - Builders

    /// Round 1 went out on 2026-11-29 at noon UTC; answers come a day later.
    let sentAt = Date(timeIntervalSince1970: 1_795_953_600)
    var answeredAt: Date { sentAt.addingTimeInterval(86_400) }

    func message(
        _ id: String, from: String, subject: String = "RE: Hello Anna", date: Date? = nil, direction: IndexedMessage.Direction = .theirs,
        classification: String = "human", failedRecipients: [String] = []
    ) throws -> IndexedMessage {
        IndexedMessage(
            messageID: id, from: try EmailAddress(parsing: from), subject: subject, date: date ?? answeredAt, direction: direction, folder: "INBOX",
            classification: classification, failedRecipients: failedRecipients
        )
    }

    func evidence(
        prospect: String = "anna@acme.example", thread: [IndexedMessage] = [], bounces: [IndexedMessage] = [], unthreaded: [IndexedMessage] = []
    ) throws -> FollowUpDecision.Evidence {
        let root = try message("root@sales.example", from: "sales@sales.example", subject: "Hello Anna", date: sentAt, direction: .ours)
        return FollowUpDecision.Evidence(
            prospect: try EmailAddress(parsing: prospect), roundMessageIDs: [root.messageID], firstSentAt: sentAt, firstSubject: "Hello Anna",
            thread: [root] + thread, bounces: bounces, unthreaded: unthreaded
        )
    }

    // MARK: - Bounces

    @Test("a report naming several failed recipients blames the prospect's address, wherever it stands in the list")
    func bounceWithSeveralRecipients() throws {
        let bounce = try message(
            "dsn@mx.example", from: "mailer-daemon@mx.example", subject: "Undelivered Mail Returned to Sender", classification: "bounce_hard",
            failedRecipients: ["office@elsewhere.example", "anna@acme.example"]
        )
        let decision = FollowUpDecision.decide(try evidence(bounces: [bounce]), force: false)
        #expect(decision == .init(verdict: .skip, reason: "bounced 2026-11-30 for anna@acme.example"))

        // Found by the original Message-ID only (an alias expanded to other addresses): all of them are named.
        var expanded = bounce
        expanded.failedRecipients = ["anna.old@legacy.example", "assistant@acme.example"]
        #expect(FollowUpDecision.decide(try evidence(bounces: [expanded]), force: true).reason == "bounced 2026-11-30 for anna.old@legacy.example, assistant@acme.example")
    }

    @Test("the bounce reason is printed; a refusal of the sender or a success report never skips the prospect")
    func bounceReasons() throws {
        var hard = try message("dsn1@mx.example", from: "mailer-daemon@mx.example", classification: "bounce_hard", failedRecipients: ["anna@acme.example"])
        hard.bounceReason = "user-unknown"
        #expect(FollowUpDecision.decide(try evidence(bounces: [hard]), force: false)
            == .init(verdict: .skip, reason: "bounced 2026-11-30 (user unknown) for anna@acme.example"))

        var refused = try message("dsn2@mx.example", from: "mailer-daemon@mx.example", classification: "bounce_sender", failedRecipients: ["anna@acme.example"])
        refused.bounceReason = "blocked"
        #expect(FollowUpDecision.decide(try evidence(bounces: [refused]), force: false) == .init(
            verdict: .send, reason: "no reply; the receiver refused the sender on 2026-11-30 (sender blocked (IP or domain reputation)), not the address"
        ))

        var full = try message("dsn3@mx.example", from: "mailer-daemon@mx.example", classification: "bounce_soft", failedRecipients: ["anna@acme.example"])
        full.bounceReason = "mailbox-full"
        #expect(FollowUpDecision.decide(try evidence(bounces: [full]), force: false)
            == .init(verdict: .send, reason: "no reply; a temporary delivery failure on 2026-11-30 (mailbox full)"))

        let receipt = try message("ses@amazonses.example", from: "no-reply@sns.amazonaws.com", classification: "delivered")
        #expect(FollowUpDecision.decide(try evidence(thread: [receipt]), force: false) == .init(verdict: .send, reason: "no reply"))
    }

    // MARK: - Replies from the prospect

    @Test("a prospect at an internationalised domain is matched as mail carries the address (IDNA): their reply, their bounce, a colleague's reply")
    func internationalisedDomain() throws {
        let reply = try message("r@xn--bcher-kva.example", from: "Kim@XN--BCHER-KVA.example")
        #expect(FollowUpDecision.decide(try evidence(prospect: "kim@bücher.example", thread: [reply]), force: false)
            == .init(verdict: .skip, reason: "replied 2026-11-30 from kim@bücher.example"))
        let bounce = try message(
            "dsn@mx.example", from: "mailer-daemon@mx.example", subject: "Undelivered", classification: "bounce_hard", failedRecipients: ["kim@xn--bcher-kva.example"]
        )
        #expect(FollowUpDecision.decide(try evidence(prospect: "kim@bücher.example", bounces: [bounce]), force: false)
            == .init(verdict: .skip, reason: "bounced 2026-11-30 for kim@bücher.example"))
        let colleague = try message("c@xn--bcher-kva.example", from: "lee@xn--bcher-kva.example")
        #expect(FollowUpDecision.decide(try evidence(prospect: "kim@bücher.example", thread: [colleague]), force: false, countDomainReplies: true).verdict == .skip)
    }

    @Test("a reply without threading headers matches by its base subject, French Outlook's \"RE : \" included, and not before round 1")
    func subjectOnlyReply() throws {
        let french = try message("fr@acme.example", from: "Anna@Acme.example", subject: "RE : Hello Anna")
        let decision = FollowUpDecision.decide(try evidence(unthreaded: [french]), force: false)
        #expect(decision.verdict == .skip)
        #expect(decision.reason == "replied 2026-11-30 from anna@acme.example (matched by subject: the reply had no threading headers)")

        let earlier = try message("old@acme.example", from: "anna@acme.example", date: sentAt.addingTimeInterval(-60))
        let other = try message("q@acme.example", from: "anna@acme.example", subject: "Re: Invoice 42")
        #expect(FollowUpDecision.decide(try evidence(unthreaded: [earlier, other]), force: false) == .init(verdict: .send, reason: "no reply"))
    }

    // MARK: - Replies from the prospect's domain

    @Test("a colleague's reply in the thread counts only with --domain-replies, and even force does not send then")
    func colleagueInThread() throws {
        let colleague = try message("bob@acme.example", from: "Bob@ACME.example", subject: "RE: FW: Hello Anna")
        let facts = try evidence(thread: [colleague])
        #expect(FollowUpDecision.decide(facts, force: false) == .init(verdict: .send, reason: "no reply"))
        let counted = FollowUpDecision.init(verdict: .skip, reason: "replied 2026-11-30 from bob@acme.example (same domain as the prospect)")
        #expect(FollowUpDecision.decide(facts, force: false, countDomainReplies: true) == counted)
        #expect(FollowUpDecision.decide(facts, force: true, countDomainReplies: true) == counted)
    }

    @Test("the prospect's own reply is named before a colleague's")
    func prospectBeforeColleague() throws {
        let colleague = try message("bob@acme.example", from: "bob@acme.example", date: answeredAt)
        let prospect = try message("anna@acme.example", from: "anna@acme.example", date: answeredAt.addingTimeInterval(3_600))
        let decision = FollowUpDecision.decide(try evidence(thread: [colleague, prospect]), force: false, countDomainReplies: true)
        #expect(decision.reason == "replied 2026-11-30 from anna@acme.example")
    }

    @Test("a colleague's reply without threading headers matches by subject, through repeated prefixes of another language")
    func colleagueBySubject() throws {
        let colleague = try message("bob@acme.example", from: "bob@acme.example", subject: "AW: WG: Hello Anna")
        let decision = FollowUpDecision.decide(try evidence(unthreaded: [colleague]), force: false, countDomainReplies: true)
        #expect(decision.verdict == .skip)
        #expect(decision.reason == "replied 2026-11-30 from bob@acme.example (same domain as the prospect; matched by subject: the reply had no threading headers)")
        #expect(FollowUpDecision.decide(try evidence(unthreaded: [colleague]), force: false).verdict == .send)
    }

    @Test("what never counts as a colleague's reply: free mail, another domain, an auto-reply, our own message")
    func notColleagues() throws {
        let gmail = try message("x@gmail.com", from: "someone@gmail.com")
        #expect(FollowUpDecision.decide(try evidence(prospect: "anna@gmail.com", thread: [gmail]), force: false, countDomainReplies: true).verdict == .send)
        let partner = try message("p@partner.example", from: "carl@partner.example")
        #expect(FollowUpDecision.decide(try evidence(thread: [partner]), force: false, countDomainReplies: true).verdict == .send)
        let away = try message("oof@acme.example", from: "bob@acme.example", subject: "Automatic reply: Hello Anna", classification: "auto_reply")
        #expect(FollowUpDecision.decide(try evidence(thread: [away]), force: false, countDomainReplies: true).reason == "only an auto-reply on 2026-11-30")
        // What the account wrote is ours, never a colleague's reply, even when the account shares the prospect's domain.
        let ours = try message("ours@acme.example", from: "sales@acme.example", direction: .ours)
        let decision = FollowUpDecision.decide(try evidence(thread: [ours]), force: false, countDomainReplies: true)
        #expect(decision.reason.hasPrefix("you wrote to them yourself"))
    }
}
