/// A sending identity: the mailbox prospects see in From, and the servers that send and mirror its mail.
public struct Account: Sendable, Hashable, Codable {
    /// Where the account's settings live. Accounts from a seed-style `.env` are read on every start and never stored.
    public enum Origin: String, Sendable, Codable { case database, environment }

    public var id: Int64?
    public var email: EmailAddress
    public var displayName: String?
    /// The login for SMTP and IMAP; most providers use the address itself.
    public var username: String
    public var smtp: ServerEndpoint
    public var imap: ServerEndpoint
    public var trust: TLSTrust
    /// Append a copy of each sent message to the Sent folder. Off for providers that file it themselves (Gmail's SMTP).
    public var copyToSent: Bool
    public var pacing: Pacing
    public var origin: Origin

    public init(
        id: Int64? = nil, email: EmailAddress, displayName: String? = nil, username: String? = nil,
        smtp: ServerEndpoint, imap: ServerEndpoint, trust: TLSTrust = TLSTrust(), copyToSent: Bool? = nil,
        pacing: Pacing = .default, origin: Origin = .database
    ) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.username = username ?? email.description
        self.smtp = smtp
        self.imap = imap
        self.trust = trust
        self.copyToSent = copyToSent ?? !Self.providerFilesSentMail(smtpHost: smtp.host)
        self.pacing = pacing
        self.origin = origin
    }

    /// Gmail and Outlook's SMTP put what they relay into Sent on their own; a second APPEND would show it twice.
    static func providerFilesSentMail(smtpHost: String) -> Bool {
        let host = smtpHost.lowercased()
        return host == "smtp.gmail.com" || host == "smtp.googlemail.com" || host.hasSuffix(".office365.com") || host == "smtp-mail.outlook.com"
    }
}

/// How a server's TLS certificate is checked. Verification is always on unless ``allowInsecure`` is set explicitly.
public struct TLSTrust: Sendable, Hashable, Codable {
    /// A PEM file of CA certificates to trust instead of the system store, for servers behind a private CA.
    public var caFile: String?
    /// Skip certificate and host-name checks. Every connection made this way logs a warning.
    public var allowInsecure: Bool

    public init(caFile: String? = nil, allowInsecure: Bool = false) {
        self.caFile = caFile
        self.allowInsecure = allowInsecure
    }
}

/// A password or token that must never reach a log line, an error message or JSON output by accident:
/// its descriptions are masked, and the value is only reachable through ``revealed``.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let revealed: String
    public init(_ value: String) { self.revealed = value }
    public var description: String { "••••••" }
    public var debugDescription: String { "Secret(••••••)" }
}
