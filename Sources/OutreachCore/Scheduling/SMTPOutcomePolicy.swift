import Foundation

/// What a failed SMTP attempt means for the job: try this row again later, give up on this row, or stop the whole
/// job because the account itself cannot send (a limit, a block, a wrong password) and every further row would
/// fail the same way — or, worse, count against the account's reputation.
///
/// The enhanced status code (RFC 3463) decides first where it names an account-level cause precisely (x.7.8 bad
/// credentials, 5.4.5 Gmail's daily limit, Exchange's 5.7.7xx tenant blocks); the reply code (RFC 5321) next
/// (421, 454, 530/534/535); the server's text then, for the generic codes (5.7.1, 4.2.1, 5.7.0) that providers
/// reuse for both "this recipient" and "your account" — Google's own table says to read code and text together
/// (https://support.google.com/a/answer/3726730). What is left concerns one recipient and goes by class: 4xx
/// retries the row, 5xx fails it (a full mailbox and "too many recipients" excepted: they pass).
public enum SMTPOutcomePolicy {
    public enum Consequence: Sendable, Equatable {
        /// A temporary problem with this message or recipient: back off and try the row again.
        case retryRowLater
        /// A permanent problem with this recipient or message: the row is done, the job goes on.
        case failRow
        /// The account may not send for now: stop the job, keep every remaining row, and let the operator resume.
        case pauseJob(reason: String)
        /// The account cannot send until the operator changes its settings: stop the job.
        case failJob(reason: String)
    }

    /// `replyCode` is nil when no reply came (connection lost, timeout); `enhancedStatus` is nil when the server
    /// did not send one separately, and is then looked for in `serverText`.
    public static func consequence(replyCode: Int?, enhancedStatus: String?, serverText: String) -> Consequence {
        let status = enhancedStatus.flatMap(DeliveryStatusCode.init(parsing:)) ?? DeliveryStatusCode.codes(in: serverText).first
        let text = serverText.lowercased()
        let said = quote(replyCode: replyCode, status: status, text: serverText)
        let statusClass = replyCode.map { $0 / 100 } ?? status?.statusClass
        let transient = statusClass == 4

        // 1. Enhanced codes that name an account-level cause.
        if let status {
            switch (status.subject, status.detail) {
            case (7, 8):
                return transient ? .pauseJob(reason: Cause.loginTemporarilyRefused.reason(said)) : .failJob(reason: Cause.badCredentials.reason(said))
            case (7, 9):
                return .failJob(reason: Cause.appPasswordRequired.reason(said))
            case (7, 14):
                return .failJob(reason: Cause.webLoginRequired.reason(said))
            case (7, 139):
                return .failJob(reason: Cause.smtpAuthDisabled.reason(said))
            case (7, 57):
                return .failJob(reason: Cause.loginRequired.reason(said))
            case (7, 60), (2, 252), (1, 7), (1, 8):
                return .failJob(reason: Cause.senderNotAllowed.reason(said))
            case (4, 5) where status.statusClass == 5:
                return .pauseJob(reason: Cause.sendingLimit.reason(said))
            // Exchange Online: 4.7.500-699 "access denied, please try again later", 5.7.700-749 "tenant has
            // exceeded threshold", 5.7.750 unregistered domains, 5.7.501-503/511 banned sender.
            case (7, 500...699) where status.statusClass == 4, (7, 700...750), (7, 501...503), (7, 511):
                return .pauseJob(reason: Cause.accountBlocked.reason(said))
            default:
                break
            }
        }

        // 2. Reply codes that are about the session or the account, whatever the enhanced code.
        switch replyCode {
        case 530, 534, 535:
            if tlsRequiredPhrases.contains(where: { text.contains($0) }) {
                return .failJob(reason: Cause.tlsRequired.reason(said))
            }
            return .failJob(reason: replyCode == 530 ? Cause.loginRequired.reason(said) : Cause.badCredentials.reason(said))
        case 454:
            return .pauseJob(reason: Cause.loginTemporarilyRefused.reason(said))
        case 421:
            return .pauseJob(reason: Cause.serviceClosing.reason(said))
        default:
            break
        }

        // 3. Texts that name an account limit, for the codes providers reuse (Gmail's 450 4.2.1 covers both
        // "recipient receiving too fast" and "peak SMTP relay limit exceeded").
        if accountLimitPhrases.contains(where: { text.contains($0) }) {
            return .pauseJob(reason: Cause.sendingLimit.reason(said))
        }
        // Postfix's wording when the login may not use the envelope sender ("553 5.7.1 <x>: Sender address
        // rejected: not owned by user"); every row would get the same.
        if statusClass == 5, text.contains("sender address rejected") || text.contains("not owned by user") {
            return .failJob(reason: Cause.senderNotAllowed.reason(said))
        }

        // 4. Recipient-level trouble that passes.
        if transient, text.contains("greylist") || text.contains("graylist") {
            return .retryRowLater
        }
        if let status, status.subject == 2, status.detail == 1, text.contains("too quickly") || text.contains("at a rate") {
            return .retryRowLater
        }
        if let status, status.isMailboxFull {
            return .retryRowLater
        }
        // RFC 5321 §4.5.3.1.10: "too many recipients" is to be treated as temporary, even as a 552.
        if replyCode == 552, status.map({ $0.subject == 5 && $0.detail == 3 }) == true || text.contains("too many recipients") {
            return .retryRowLater
        }

        // 5. A 451 with a security/policy code is the server throttling this sender, not this message.
        if replyCode == 451, status?.subject == 7 {
            return .pauseJob(reason: Cause.rateLimited.reason(said))
        }

        // 6. Everything else by class. No reply at all is a lost connection: worth another try.
        return statusClass == 5 ? .failRow : .retryRowLater
    }

    // MARK: - Operator-facing reasons

    private enum Cause {
        case badCredentials, appPasswordRequired, webLoginRequired, smtpAuthDisabled, loginRequired, tlsRequired
        case senderNotAllowed, loginTemporarilyRefused
        case sendingLimit, rateLimited, serviceClosing, accountBlocked

        func reason(_ said: String) -> String {
            "\(explanation) (server said: \(said))"
        }

        private var explanation: String {
            switch self {
            case .badCredentials:
                "the SMTP server rejected the account's login — check the username and password; Gmail and other "
                    + "accounts with 2-step verification need an app password, not the account password"
            case .appPasswordRequired:
                "the SMTP server requires an app password for this account — create one in the account's security "
                    + "settings and use it as the account's password"
            case .webLoginRequired:
                "the provider wants a sign-in in a web browser before it accepts this login — sign in to the account "
                    + "on the web, then check the password or app password"
            case .smtpAuthDisabled:
                "SMTP login is turned off for this mailbox or its organisation — an administrator must enable "
                    + "authenticated SMTP (SMTP AUTH) for it"
            case .loginRequired:
                "the SMTP server requires a login before it accepts mail — check that the account has a username "
                    + "and password"
            case .tlsRequired:
                "the SMTP server requires an encrypted connection before login — check the account's SMTP URL "
                    + "(smtps:// or smtp:// with STARTTLS)"
            case .senderNotAllowed:
                "the SMTP server does not let this account send as its From address — use the login's own address "
                    + "or an alias the provider allows"
            case .loginTemporarilyRefused:
                "the SMTP server refused the login or encryption for now; the job is paused — resume it later, "
                    + "and check the password if this repeats"
            case .sendingLimit:
                "the account has reached its provider's sending limit; the job is paused with every remaining "
                    + "recipient kept — resume it once the limit resets (usually within 24 hours), and lower the "
                    + "account's daily cap"
            case .rateLimited:
                "the SMTP server is throttling this account; the job is paused — resume it later, and consider a "
                    + "longer delay between messages"
            case .serviceClosing:
                "the SMTP server closed the connection (too many messages or connections, or a temporary block); "
                    + "the job is paused — resume it later"
            case .accountBlocked:
                "the provider has blocked sending from this account or its organisation (an exceeded threshold or "
                    + "suspected spam); the job is paused — resume it after the provider lifts the block"
            }
        }
    }

    /// Lowercased phrases that providers use for per-account sending limits. "quota exceeded" alone is left out:
    /// it is also what a full recipient mailbox says.
    private static let accountLimitPhrases = [
        "sending limit", "sending quota", "sending rate", "send limit", "relay limit", "daily limit", "daily quota",
        "hourly limit", "rate limit", "message limit", "too many messages", "submissionquota", "submission quota",
    ]

    /// As in "530 5.7.0 Must issue a STARTTLS command first".
    private static let tlsRequiredPhrases = ["starttls", "tls required", "requires tls", "encryption required"]

    /// The reply as the server sent it, on one line and shortened, with the codes in front when the text lacks them.
    private static func quote(replyCode: Int?, status: DeliveryStatusCode?, text: String) -> String {
        var line = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        if line.count > 300 { line = String(line.prefix(300)) + "…" }
        var prefix: [String] = []
        if let replyCode, !line.hasPrefix(String(replyCode)) { prefix.append(String(replyCode)) }
        if let status, !line.contains(status.description) { prefix.append(status.description) }
        let quoted = (prefix + (line.isEmpty ? [] : [line])).joined(separator: " ")
        return quoted.isEmpty ? "no reply" : "\"\(quoted)\""
    }
}
