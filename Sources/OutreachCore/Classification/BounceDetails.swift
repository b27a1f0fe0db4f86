/// What a bounce says about the failed delivery.
public struct BounceDetails: Sendable, Equatable {
    /// Hard: the address is bad (user or host unknown, domain accepts no mail, malformed address) — stop mailing
    /// it. Soft: the message did not arrive but the address may work later (delay, full mailbox, suspended mailbox,
    /// system or network error, gave up after retries, no stated reason). Sender: the receiver refused *us* — our
    /// IP or domain's reputation, authentication, content, sending rate or its policy — which says nothing about the
    /// address: it brakes the account, never the prospect.
    public enum Severity: String, Sendable, Codable {
        case hard
        case soft
        case sender
    }

    /// Where the details come from, most reliable first.
    public enum Evidence: String, Sendable, Codable {
        /// Per-recipient DSN fields (`Action`, `Status`), or a provider's structured notification.
        case deliveryStatus = "delivery-status"
        /// The readable text of a bounce that has no DSN fields (qmail, Exim, old Exchange, …).
        case noticeText = "notice-text"
        /// Only the header was available: recipients, status and severity are guesses or missing. Fetch the whole
        /// message and classify again for the details.
        case headersOnly = "headers-only"
    }

    public var severity: Severity
    /// Why it failed (``BounceReason``); decides ``severity`` together with whether the failure was transient.
    public var reason: BounceReason
    /// Lowercased addresses that failed; empty when the bounce does not say (or only the header was read).
    public var failedRecipients: [String]
    /// The enhanced status code, e.g. "5.1.1".
    public var status: String?
    /// The remote server's reply or the bounce's own explanation, one line.
    public var diagnostic: String?
    /// The Message-ID (without brackets) of the message that bounced, when the bounce includes it.
    public var originalMessageID: String?
    public var evidence: Evidence

    public init(
        severity: Severity, reason: BounceReason = .undefined, failedRecipients: [String] = [], status: String? = nil, diagnostic: String? = nil,
        originalMessageID: String? = nil, evidence: Evidence
    ) {
        self.severity = severity
        self.reason = reason
        self.failedRecipients = failedRecipients
        self.status = status
        self.diagnostic = diagnostic
        self.originalMessageID = originalMessageID
        self.evidence = evidence
    }

    /// False when only the header was read: the recipients, status and severity are not known yet.
    public var detailsKnown: Bool { evidence != .headersOnly }
}
