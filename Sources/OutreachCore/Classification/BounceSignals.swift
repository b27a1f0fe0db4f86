/// What bounces look like when they carry no machine-readable report: who sends them, what their subjects and
/// texts say. Each signal alone is weak; the classifier asks for two of them together (see ``MessageClassifier``).
enum BounceSignals {
    enum SenderKind: Equatable {
        /// A person, or at least nothing says otherwise.
        case person
        /// A no-reply or mailing-list management address: never a person, sometimes a bounce.
        case automated
        /// MAILER-DAEMON, postmaster, "Mail Delivery System", or no address at all: the sender of bounces.
        case mailSystem
    }

    static func senderKind(of facts: MessageFacts) -> SenderKind {
        if facts.from.isEmpty { return .mailSystem }
        var kind = SenderKind.person
        for sender in facts.from {
            let address = sender.address.trimmingASCIIWhitespace().lowercased()
            let local = address.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let name = sender.displayName?.lowercased() ?? ""
            if address.isEmpty || mailSystemLocalParts.contains(local) || name.containsAnyPhrase(mailSystemNames) {
                return .mailSystem
            }
            if automatedLocalParts.contains(local) || automatedLocalPrefixes.contains(where: local.hasPrefix)
                || automatedLocalSuffixes.contains(where: local.hasSuffix)
            {
                kind = .automated
            }
        }
        return kind
    }

    static let mailSystemLocalParts: Set<String> = [
        "mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "maildaemon", "mdaemon", "postmaster",
        "post_master", "post-master", "mail.delivery.system", "mail-delivery-system", "maildeliverysystem",
        "mail-delivery-subsystem", "mailadmin", "mail-admin",
    ]
    static let mailSystemNames: [String] = [
        "mail delivery", "mailer-daemon", "mailer daemon", "mail system", "delivery subsystem", "postmaster",
        "ndr administrator", "delivery status notification",
    ]
    static let automatedLocalParts: Set<String> = [
        "no-reply", "noreply", "no_reply", "do-not-reply", "donotreply", "do_not_reply", "nobody", "bounce", "bounces",
        "notification", "notifications",
    ]
    /// Mailing-list managers write from owner-LIST, LIST-owner, LIST-admin, LIST-request, LIST-bounces.
    static let automatedLocalPrefixes: [String] = ["owner-", "bounce-", "bounces-", "no-reply-", "noreply-", "noreply+", "bounce+"]
    static let automatedLocalSuffixes: [String] = ["-owner", "-admin", "-request", "-bounces", "-errors", "-noreply", "-no-reply"]

    /// Subjects of bounces and delay warnings, lowercased, matched anywhere in a subject that is not a reply or a
    /// forward ("Re: Undeliverable: …" is a person talking about a bounce).
    static let subjectPhrases: [String] = [
        "undeliverable", "undelivered", "delivery status", "delivery failure", "delivery failed", "failed delivery",
        "delayed mail",
        "delivery has failed", "delivery problem", "delivery error", "delivery notification", "delivery delayed",
        "failure notice", "failure delivery", "returned mail", "returned to sender", "returning message to sender",
        "returned message", "could not be delivered", "not delivered", "nondeliverable", "non-deliverable", "non delivery",
        "non-delivery", "mail system error", "mail delivery", "mail failure", "mail failed", "error sending your mail",
        "warning: message", "message delayed", "loop alert", "mail loop", "unzustellbar", "nicht zustellbar",
        "non recapitabile", "no se puede entregar", "non remis", "échec de la remise", "onbestelbaar", "не доставлено",
        "配信できません", "配送できません", "送信できません", "配信エラー", "エラー通知", "退信", "无法投递", "未能送达",
    ]

    /// A subject with a reply or forward prefix (``ReplySubject``) is a person's, whatever it says after it.
    static func isBounceSubject(_ subject: String?) -> Bool {
        guard let subject, !ReplySubject.isReplyOrForward(subject) else { return false }
        return subject.lowercased().containsAnyPhrase(subjectPhrases)
    }

    /// Subjects of feedback-loop reports that are not ARF (Microsoft JMRP: "complaint about message from <IP>").
    static func isComplaintSubject(_ subject: String?) -> Bool {
        guard let subject, !ReplySubject.isReplyOrForward(subject) else { return false }
        return subject.lowercased().containsAnyPhrase(["complaint about message from", "abuse report", "feedback report", "feedback loop", "spam report"])
    }

    /// Sentences MTAs write in bounce notices (Postfix, Exim, qmail, Sendmail, Exchange, Gmail, Domino, …),
    /// lowercased.
    static let noticePhrases: [String] = [
        "could not be delivered", "couldn't be delivered", "could not deliver", "was not delivered", "were not delivered",
        "not yet been delivered", "wasn't able to deliver", "was unable to deliver", "were unable to deliver",
        "unable to deliver", "undeliverable", "undelivered", "delivery has failed", "delivery failed", "delivery to the following",
        "did not reach the following", "permanent error", "permanent fatal error", "following address(es) failed",
        "following addresses had", "following recipients", "mail delivery failed", "returned mail", "user unknown",
        "unknown user", "no such user", "mailbox is full", "mailbox full", "failed permanently", "delivery status notification",
        "recipient address rejected", "invalid recipient", "no valid recipients", "error occurred while trying to deliver",
        "error delivering your mail", "error has occurred while attempting to deliver", "trouble delivering your message",
        "has been delayed", "delivery attempts will continue", "mail loop", "loop detected", "hop count exceeded",
        "message was rejected", "your message was rejected",
    ] + refusalPhrases

    /// Notices that refuse a message outright without a status code: Exim's "malformed recipient address" notice
    /// and a mailing-list manager's members-only refusal. They are bounces even when they call themselves
    /// auto-replies (Exim writes `Auto-Submitted: auto-replied` on them).
    static let refusalPhrases: [String] = [
        "malformed recipient address", "incorrectly constructed", "you are not a member", "not a member of",
        "only members", "members only", "only subscribers", "non-member", "non member", "not subscribed",
    ]

    /// A delay warning or a temporary condition.
    static let delayPhrases: [String] = [
        "delayed", "not yet been delivered", "will be retried", "will retry", "delivery attempts will continue",
        "temporary failure", "temporarily", "deferred", "try again later", "warning message only",
    ]
}
