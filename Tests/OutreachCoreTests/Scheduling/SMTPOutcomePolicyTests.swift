import OutreachCore
import Testing

struct SMTPOutcomePolicyTests {
    typealias Consequence = SMTPOutcomePolicy.Consequence

    enum Kind: String, CustomStringConvertible {
        case retry, failRow, pause, failJob
        var description: String { rawValue }
    }

    private func kind(_ consequence: Consequence) -> Kind {
        switch consequence {
        case .retryRowLater: .retry
        case .failRow: .failRow
        case .pauseJob: .pause
        case .failJob: .failJob
        }
    }

    private func reasonText(_ consequence: Consequence) -> String? {
        switch consequence {
        case .pauseJob(let reason), .failJob(let reason): reason
        case .retryRowLater, .failRow: nil
        }
    }

    /// Replies as providers send them (Gmail's table at support.google.com/a/answer/3726730, Exchange Online's NDR
    /// table, Postfix), with the enhanced code passed separately as the transport reports it.
    @Test(arguments: [
        // Recipient-level, permanent: the row fails, the job goes on.
        (550, "5.1.1", "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address", Kind.failRow),
        (550, "5.2.1", "The email account that you tried to reach is disabled.", .failRow),
        (553, "5.1.3", "The recipient address <bob@> is not a valid RFC 5321 address.", .failRow),
        (552, "5.2.3", "Your message exceeded Google's message size limits.", .failRow),
        (550, "5.7.1", "Unauthenticated email from example.com is not accepted due to domain's DMARC policy.", .failRow),
        (554, "5.7.1", "Message rejected as spam by Content Filtering.", .failRow),
        (550, nil, "Requested action not taken: mailbox unavailable", .failRow),

        // Recipient-level, passing: back off and try the row again.
        (450, "4.2.1", "The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.", .retry),
        (550, "5.2.1", "The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.", .retry),
        (452, "4.2.2", "The email account that you tried to reach is over quota.", .retry),
        (552, "5.2.2", "The email account that you tried to reach is over quota.", .retry),
        (451, "4.3.0", "Mail server temporarily rejected message.", .retry),
        (451, "4.7.1", "Greylisting in action, please come back later", .retry),
        (452, "4.5.3", "Your message has too many recipients.", .retry),
        (552, "5.5.3", "Too many recipients", .retry),
        (450, nil, "Requested mail action not taken: mailbox busy", .retry),

        // The account is over a limit or throttled: pause, keep every row.
        (550, "5.4.5", "Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852", .pause),
        (550, "5.4.5", "Daily SMTP relay limit exceeded for user.", .pause),
        (550, "5.7.1", "Daily user sending quota exceeded.", .pause),
        (554, "5.7.1", "Rate limit exceeded, try again later", .pause),
        (450, "4.2.1", "Peak SMTP relay limit exceeded for customer. This is a temporary error.", .pause),
        (421, "4.7.0", "Try again later, closing connection.", .pause),
        (421, "4.7.28", "Our system has detected an unusual rate of unsolicited mail originating from your IP address.", .pause),
        (421, nil, "Too many messages in this connection", .pause),
        (454, "4.7.0", "Too many login attempts, please try again later.", .pause),
        (451, "4.7.500", "Server busy. Please try again later.", .pause),
        (451, "4.7.0", "Temporary server error, rate limiting in effect", .pause),
        (554, "5.2.0", "STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception", .pause),
        (550, "5.7.705", "Access denied, tenant has exceeded threshold", .pause),
        (550, "5.7.501", "Access denied, spam abatement mode", .pause),

        // The account's settings are wrong: fail the job, tell the operator what to change.
        (535, "5.7.8", "Username and Password not accepted. Learn more at https://support.google.com/mail/?p=BadCredentials", .failJob),
        (534, "5.7.9", "Application-specific password required. Learn more at https://support.google.com/mail/?p=InvalidSecondFactor", .failJob),
        (534, "5.7.14", "Please log in via your web browser and then try again.", .failJob),
        (535, "5.7.3", "Authentication unsuccessful", .failJob),
        (535, "5.7.139", "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", .failJob),
        (530, "5.7.0", "Authentication Required.", .failJob),
        (530, "5.7.0", "Must issue a STARTTLS command first.", .failJob),
        (530, "5.7.57", "Client not authenticated to send mail.", .failJob),
        (550, "5.7.60", "SMTP; Client does not have permissions to send as this sender", .failJob),
        (554, "5.2.252", "SendAsDenied; anna@outlook.com not allowed to send as boss@example.com", .failJob),
        (553, "5.7.1", "<boss@example.com>: Sender address rejected: not owned by user anna@example.com", .failJob),
    ] as [(Int, String?, String, Kind)])
    func realReplies(code: Int, status: String?, text: String, expected: Kind) {
        let consequence = SMTPOutcomePolicy.consequence(replyCode: code, enhancedStatus: status, serverText: text)
        #expect(kind(consequence) == expected, "\(code) \(status ?? "-") \(text)")
    }

    @Test("550 5.1.1 fails one row while 550 5.4.5 pauses the whole job and says why")
    func rowVersusAccount() throws {
        #expect(SMTPOutcomePolicy.consequence(replyCode: 550, enhancedStatus: "5.1.1", serverText: "User unknown") == .failRow)
        let paused = SMTPOutcomePolicy.consequence(replyCode: 550, enhancedStatus: "5.4.5", serverText: "Daily user sending limit exceeded.")
        let reason = try #require(reasonText(paused))
        #expect(kind(paused) == .pause)
        #expect(reason.contains("sending limit"))
        #expect(reason.contains("550 5.4.5 Daily user sending limit exceeded."))
    }

    @Test("the enhanced code is found in the text when the transport did not split it off")
    func statusInText() {
        let consequence = SMTPOutcomePolicy.consequence(replyCode: 550, enhancedStatus: nil, serverText: "5.4.5 Daily user sending limit exceeded.")
        #expect(kind(consequence) == .pause)
        let auth = SMTPOutcomePolicy.consequence(
            replyCode: 535, enhancedStatus: nil,
            serverText: "535-5.7.8 Username and Password not accepted. Learn more at\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials")
        #expect(kind(auth) == .failJob)
        #expect(reasonText(auth)?.contains("\n") == false)
    }

    @Test("a rejected login tells the operator to check the password or app password, with the server's words")
    func authReasons() throws {
        let bad = try #require(reasonText(SMTPOutcomePolicy.consequence(replyCode: 535, enhancedStatus: "5.7.8", serverText: "Username and Password not accepted.")))
        #expect(bad.contains("password"))
        #expect(bad.contains("app password"))
        #expect(bad.contains("Username and Password not accepted."))

        let appPassword = try #require(reasonText(SMTPOutcomePolicy.consequence(replyCode: 534, enhancedStatus: "5.7.9", serverText: "Application-specific password required.")))
        #expect(appPassword.contains("app password"))

        let tls = try #require(reasonText(SMTPOutcomePolicy.consequence(replyCode: 530, enhancedStatus: "5.7.0", serverText: "Must issue a STARTTLS command first.")))
        #expect(tls.contains("SMTP URL"))

        let disabled = try #require(reasonText(SMTPOutcomePolicy.consequence(replyCode: 535, enhancedStatus: "5.7.139", serverText: "SmtpClientAuthentication is disabled for the Tenant.")))
        #expect(disabled.contains("SMTP AUTH"))
    }

    @Test("no reply at all (connection lost) is tried again")
    func noReply() {
        #expect(SMTPOutcomePolicy.consequence(replyCode: nil, enhancedStatus: nil, serverText: "") == .retryRowLater)
        #expect(SMTPOutcomePolicy.consequence(replyCode: nil, enhancedStatus: "5.1.1", serverText: "") == .failRow)
    }

    @Test("a very long reply is shortened in the reason")
    func longReply() throws {
        let text = "Daily user sending limit exceeded. " + String(repeating: "x", count: 2000)
        let reason = try #require(reasonText(SMTPOutcomePolicy.consequence(replyCode: 550, enhancedStatus: "5.4.5", serverText: text)))
        #expect(reason.count < 700)
    }
}
