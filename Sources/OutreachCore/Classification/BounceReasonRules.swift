/// The one table of bounce reasons: phrases MTAs and providers write (lowercased, matched as bytes anywhere in the
/// lowercased text — no regular expressions), tried in order, first match wins; then enhanced status codes. Order
/// matters where wordings overlap: rate limits and full mailboxes before "user unknown" (some say "over quota for
/// user …"), the address's own problems before the sender's, content and reputation before the generic "blocked".
enum BounceReasonRules {
    static let phrases: [(reason: BounceReason, phrases: [String])] = [
        // The sender's own address or domain refused: says nothing about the recipient, whatever else the reply says.
        (.senderRejected, ["domain of sender address", "sender address rejected", "sender domain must exist"]),
        // Listed on a DNS blocklist: before the spam wording, since the lists' names say "spam".
        (.blocked, ["blocked using", "spamhaus", "spamcop", "barracudacentral", "dnsbl", "blacklisted", "blocklisted"]),
        (.rateLimited, [
            "rate limit", "ratelimit", "rate-limit", "too many messages", "too many mails", "too many emails",
            "unusual rate of unsolicited", "sending rate", "exceeded the rate", "exceeded the maximum number of messages",
            "too much mail", "throttl", "too many recipients", "try again later (rl", "message rate", "too many connections",
            "too many concurrent", "connection limit", "concurrent connections", "too many simultaneous",
            "temporarily deferred due to user complaints", "receiving mail at a rate", "high volume", "too many errors",
            "please reduce", "ip frequency limited",
        ]),
        (.mailboxFull, [
            "mailbox full", "mailbox is full", "mailbox has exceeded", "mailbox exceeded", "mailbox size limit", "over quota",
            "overquota", "quota exceeded", "exceeded quota", "exceeds quota", "quota exceed", "exceeded storage", "insufficient storage",
            "storage allocation", "box full", "mailbox would exceed", "mail box full", "mailfolder is full", "disk quota",
            "user has exceeded", "has exceeded their", "not enough storage", "full mailbox", "mailbox is over",
            "exceed the quota", "maildir over", "is full", "recipient's quota", "mailbox quota",
        ]),
        (.exceededLimit, [
            "message length exceeds administrative limit", "exceeds the size limit of the mailbox",
            "message size exceeds the maximum allowed for the recipient",
        ]),
        (.messageTooBig, [
            "message too large", "message too big", "message is too big", "message is too large", "message size exceeds",
            "size exceeds", "exceeds size limit", "exceeded maximum message size", "message exceeds maximum", "message file too big",
            "larger than the current system limit", "size limit", "too big for system", "mail too large",
        ]),
        (.suspended, [
            "account disabled", "account has been disabled", "account is disabled", "mailbox disabled", "mailbox is disabled",
            "has been suspended", "account suspended", "is suspended", "suspended account", "mailbox inactive",
            "mailbox is inactive", "inactive account", "account is inactive", "not active", "recipient suspended",
            "mailbox currently suspended", "mailbox unavailable or not local", "account has been locked", "account is locked",
            "user suspended", "account expired", "deactivated", "temporarily disabled",
        ]),
        (.hostUnknown, [
            "host unknown", "unknown host", "host not found", "domain not found", "no such domain", "domain does not exist",
            "domain doesn't exist", "host or domain name not found", "name or service not known", "unrouteable mail domain",
            "unroutable mail domain", "no mx record", "domain is not valid", "invalid domain", "unknown domain",
            "domain name not found", "nxdomain", "no route to host", "unable to route", "couldn't find any host",
            "dns lookup failed", "host name lookup failure", "domain unknown", "all relevant mx records point",
            "host not reachable", "nonexistent domain", "non-existent domain", "domain is not reachable",
        ]),
        (.userUnknown, [
            "user unknown", "unknown user", "no such user", "no such mailbox", "no such recipient", "no such account",
            "user not found", "user doesn't exist", "user does not exist", "recipient not found", "recipient unknown",
            "unknown recipient", "invalid recipient", "recipient address rejected: user unknown", "recipient address rejected: undeliverable",
            "mailbox not found", "mailbox unavailable", "mailbox does not exist", "mailbox doesn't exist",
            "mailbox not available", "no mailbox here", "no mailbox by that name", "unknown local part", "unknown address",
            "address unknown", "address does not exist", "address doesn't exist", "does not exist", "doesn't exist", "not exist",
            "unrouteable address", "unroutable address", "not a valid mailbox", "no valid recipient", "invalid mailbox",
            "invalid address", "bad address", "address not found", "couldn't be found", "could not be found", "not listed in",
            "is not a registered", "not our customer", "no longer available", "no longer active", "recipient rejected",
            "delivery to the following recipient failed permanently", "sorry, no mailbox", "mailbox not found",
            "user not known", "unknown or illegal alias", "account does not exist", "email account that you tried to reach does not exist",
            "unknown mailbox", "invalid user", "no account by that name", "not a known user", "user invalid",
            "recipient is not valid", "undeliverable address", "that domain isn't in my list", "not our domain",
            "this user doesn't have a", "no mail box", "no mailbox", "user doesn't have", "addressee unknown",
            "vous n'avez pas de compte", "destinataire inconnu", "unbekannt", "utente inesistente", "nicht bekannt",
            "account is unavailable", "user is unknown", "name is not recognized", "not recognized",
        ]),
        (.notAccepting, [
            "you are not a member", "not a member of", "only members", "members only", "only subscribers", "non-member",
            "non member", "not subscribed", "null mx", "does not accept mail", "doesn't accept mail", "not accepting mail", "accepts no mail",
            "not accepting messages", "not accept any mail", "no mail accepted",
        ]),
        (.moved, ["has moved", "address has changed", "no forwarding address", "mailbox has been moved", "user has moved"]),
        (.syntaxError, [
            "malformed recipient address", "malformed address", "bad address syntax", "address syntax", "syntax error in address",
            "invalid address syntax", "illegal address", "bad destination mailbox address syntax", "syntax error in parameters",
            "syntactically invalid", "address contains", "missing domain", "invalid email address",
        ]),
        (.spam, ["rejected due to spam", "spam classification", "identified as spam", "detected as spam"]),
        // Authentication before spam and virus wording: Gmail explains its SPF and DMARC refusals with "to protect our
        // users from spam and phishing".
        (.security, [
            "spf", "dkim", "dmarc", "authentication", "not authenticated", "unauthenticated", "authenticat", "starttls", "tls required",
            "must use tls", "encryption required", "must be encrypted", "sender policy framework", "reverse dns", "ptr record",
            "reverse lookup", "no ptr", "rdns", "forged", "spoof", "cannot verify", "sender verify failed", "sender verification",
        ]),
        (.virus, ["virus", "malware", "infected", "trojan"]),
        (.spam, [
            "spam", "junk mail", "unsolicited", "bulk mail", "looks like junk", "classified as junk", "message content rejected",
            "suspicious", "detected as spam", "spam score", "rejected by the content filter",
        ]),
        (.blocked, [
            "blocked", "blacklist", "blocklist", "block list", "black list", "denylist", "spamhaus", "spamcop", "barracuda",
            "sorbs", "rbl", "dnsbl", "listed at", "listed on", "listed in", "ip reputation", "poor reputation", "bad reputation",
            "reputation", "banned", "client host rejected", "connection refused", "refused to talk", "access denied",
            "not allowed to send", "dynamic ip", "dial-up", "dialup", "residential", "your ip", "helo command rejected",
            "go away", "rejected due to", "host rejected", "your host", "your server", "your network", "poor sender",
            "temporarily rejected", "denied by", "550 denied",
        ]),
        (.senderRejected, [
            "sender address rejected", "sender rejected", "sender denied", "sender is not allowed", "mail from rejected",
            "domain of sender address", "sender domain", "bad sender", "invalid sender", "sender unknown", "envelope sender",
            "sender not allowed", "sender address not allowed", "return path",
        ]),
        (.relayDenied, [
            "relay access denied", "relaying denied", "relay denied", "relay not permitted", "not permitted to relay",
            "we do not relay", "unable to relay", "relaying not allowed", "relay not allowed", "not a gateway",
            "no relaying", "relaying to", "isn't allowed to relay", "not allowed to relay",
        ]),
        (.content, [
            "content", "attachment", "message header", "header size", "mime", "8bit", "8-bit", "invalid character",
            "line too long", "message contains", "bare lf", "bare line feed", "encoding",
        ]),
        (.policy, [
            "policy", "not authorized", "not permitted", "prohibited", "restricted", "administrative", "denied",
            "rejected by the recipient", "recipient has rejected", "not allowed",
            "has chosen to reject", "does not accept e-mail from", "not accepted from", "does not want",
        ]),
        (.filtered, ["filter", "refused by rule", "rule imposed", "message rejected", "not delivered due to", "rejected your message"]),
        (.systemFull, ["system full", "disk full", "out of disk", "no space", "insufficient system storage", "system storage"]),
        (.expired, [
            "retry timeout exceeded", "retry time not reached", "could not be delivered for", "delivery time expired",
            "message expired", "has expired", "expired", "giving up", "gave up", "timeout exceeded", "too long in queue",
            "in queue for", "was not delivered within", "queue for too long", "days without", "hours without",
            "timed out", "time out", "timeout",
        ]),
        (.networkError, [
            "loop", "hop count", "too many hops", "network", "connection reset", "connection timed out", "lost connection",
            "connection closed", "connection dropped", "unreachable", "could not connect", "unable to connect", "no answer",
            "dns", "routing",
        ]),
        (.systemError, [
            "system error", "internal error", "server error", "local error", "temporary failure", "try again", "service unavailable",
            "not available", "configuration error", "misconfigur", "mail system", "i/o error", "failed to", "unavailable",
            "system problem", "processing error", "temporarily unavailable", "temporary problem", "exceeded the maximum",
        ]),
        (.onHold, ["on hold", "held for review", "quarantin"]),
    ]

    static func reason(inLowercased text: String) -> BounceReason? {
        for (reason, phrases) in phrases where text.containsAnyPhrase(phrases) { return reason }
        return nil
    }

    /// RFC 3463 subject.detail → reason, after Sisimai's table, except: X.1.3 is a malformed address (Sisimai: user
    /// unknown), X.2.1 "mailbox disabled" is suspended (Sisimai: filtered), X.7.1 "delivery not authorized" is the
    /// receiver's policy (Sisimai: security error). Generic codes (X.0.0, X.1.0, X.2.0) decide nothing.
    static func reason(for code: DeliveryStatusCode) -> BounceReason? {
        switch (code.subject, code.detail) {
        case (1, 1): .userUnknown
        case (1, 2), (4, 4): .hostUnknown
        case (1, 3): .syntaxError
        case (1, 4), (2, 4): .filtered
        case (1, 6), (7, 17), (7, 18): .moved
        case (1, 7), (1, 8): .senderRejected
        case (1, 10), (3, 2), (7, 27): .notAccepting
        case (2, 1), (7, 13): .suspended
        case (2, 2): .mailboxFull
        case (2, 3): .exceededLimit
        case (3, 1): .systemFull
        case (3, 4), (7, 16): .messageTooBig
        case (1, 9), (3, 0), (3, 3), (3, 5), (4, 3), (5, 4), (5, 5): .systemError
        case (4, 7): .expired
        case (4, 0), (4, 1), (4, 2), (4, 6): .networkError
        case (4, 5), (5, 3): .rateLimited
        case (6, _): .content
        case (7, 1): .policy
        case (7, 25): .blocked
        case (7, _), (5, 6): .security
        default: nil
        }
    }
}
