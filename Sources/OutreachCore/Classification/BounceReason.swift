/// Why a delivery failed, in a vocabulary close to Sisimai's (the reference bounce parser), with readable names.
/// Each reason says whose problem the failure is (``kind``): the address's (hard: stop mailing it), the sender's (the
/// receiver refused *us* — reputation, policy, content, rate: brake the account, never suppress the prospect), or
/// nobody's for good (soft: the address may work later).
public enum BounceReason: String, Sendable, Codable, CaseIterable {
    // The address is bad.
    case userUnknown = "user-unknown"
    case hostUnknown = "host-unknown"
    case moved
    case notAccepting = "not-accepting"
    case syntaxError = "syntax-error"
    // The receiver refused the sender: its IP, domain, authentication, content or sending rate.
    case blocked
    case senderRejected = "sender-rejected"
    case filtered
    case policy
    case spam
    case virus
    case content
    case messageTooBig = "message-too-big"
    case rateLimited = "rate-limited"
    case security
    // Nobody's fault for good: the address may work later.
    case mailboxFull = "mailbox-full"
    case exceededLimit = "exceeded-limit"
    case suspended
    case expired
    case delayed
    case systemError = "system-error"
    case systemFull = "system-full"
    case networkError = "network-error"
    case relayDenied = "relay-denied"
    case onHold = "on-hold"
    case undefined

    /// What the reason says about the address, for a permanent failure. A transient failure (4.x.x, `Action:
    /// delayed`) is never hard: a temporary "user unknown" proves nothing yet.
    public var kind: BounceDetails.Severity {
        switch self {
        case .userUnknown, .hostUnknown, .moved, .notAccepting, .syntaxError:
            .hard
        case .blocked, .senderRejected, .filtered, .policy, .spam, .virus, .content, .messageTooBig, .rateLimited, .security:
            .sender
        case .mailboxFull, .exceededLimit, .suspended, .expired, .delayed, .systemError, .systemFull, .networkError, .relayDenied,
            .onHold, .undefined:
            .soft
        }
    }

    /// Words for `outreach plan` and `classify`: "user unknown".
    public var summary: String {
        switch self {
        case .userUnknown: "user unknown"
        case .hostUnknown: "host unknown"
        case .moved: "mailbox moved"
        case .notAccepting: "domain accepts no mail"
        case .syntaxError: "malformed address"
        case .blocked: "sender blocked (IP or domain reputation)"
        case .senderRejected: "sender address rejected"
        case .filtered: "filtered by the receiver"
        case .policy: "refused by the receiver's policy"
        case .spam: "rejected as spam"
        case .virus: "rejected as a virus"
        case .content: "content rejected"
        case .messageTooBig: "message too big"
        case .rateLimited: "rate limited"
        case .security: "authentication (SPF, DKIM, DMARC, TLS) failed"
        case .mailboxFull: "mailbox full"
        case .exceededLimit: "message exceeds the mailbox's limit"
        case .suspended: "mailbox suspended"
        case .expired: "gave up after retrying"
        case .delayed: "delayed, still retrying"
        case .systemError: "receiving system error"
        case .systemFull: "receiving system full"
        case .networkError: "network or routing error"
        case .relayDenied: "relaying denied"
        case .onHold: "on hold"
        case .undefined: "reason not stated"
        }
    }

    /// The reason for one failed delivery: the reporting MTA's wording first (`diagnostic` is the remote server's
    /// reply or the recipient's `Diagnostic-Code`, `notice` the bounce's own text, both lowercased), then the
    /// enhanced status code, then `undefined` (or `delayed`/`expired` for a transient failure).
    public static func reason(status: DeliveryStatusCode?, diagnostic: String?, notice: String?, delayed: Bool) -> BounceReason {
        if let diagnostic, let found = BounceReasonRules.reason(inLowercased: diagnostic) { return found }
        if let status, let found = BounceReasonRules.reason(for: status) { return found }
        if let notice, let found = BounceReasonRules.reason(inLowercased: notice) { return found }
        if delayed { return .delayed }
        return .undefined
    }

    /// Hard, soft or sender for a failure with this reason: transient failures are never hard.
    public func severity(transient: Bool) -> BounceDetails.Severity {
        transient && kind == .hard ? .soft : kind
    }
}
