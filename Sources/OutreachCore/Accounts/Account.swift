/// A sending identity: the mailbox prospects see in From, and the servers that send and mirror its mail.
public struct Account: Sendable, Hashable, Codable {
    /// Where the account's settings live. The seed-style `.env` account is read on every start; once a campaign names
    /// it, a row holds its id and pacing, while its servers, login and password keep coming from `.env`.
    public enum Origin: String, Sendable, Codable { case database, environment }

    /// How mail goes out and comes back.
    public enum Provider: String, Sendable, Codable {
        /// SMTP submission and IMAP, with a password or (``oauth`` set) an XOAUTH2 bearer token.
        case smtpIMAP = "smtp-imap"
        /// The Gmail API over OAuth: messages.send / drafts.create, sync through history.
        case gmailAPI = "gmail-api"
    }

    public var id: Int64?
    public var email: EmailAddress
    public var displayName: String?
    /// The login for SMTP and IMAP; most providers use the address itself.
    public var username: String
    public var smtp: ServerEndpoint
    /// The IMAP server that mirrors the account's mail. Nil for an SMTP-only account (the seed's `.env` names no IMAP
    /// server): it sends first emails; drafts, follow-ups, sync and Sent lookups need IMAP, and say so
    /// (``imapServer(for:)``) where the operator tries them.
    public var imap: ServerEndpoint?
    public var trust: TLSTrust
    /// Append a copy of each sent message to the Sent folder. Off for providers that file it themselves (Gmail's SMTP).
    public var copyToSent: Bool
    public var pacing: Pacing
    /// The guard window: no job of this account may start within this many seconds of another one's start or
    /// projected end. 0 turns it off.
    public var guardSeconds: Double
    public var origin: Origin
    public var provider: Provider
    /// Set for accounts authorized with OAuth (every Gmail API account; IMAP/SMTP accounts that use XOAUTH2).
    public var oauth: OAuthSettings?

    /// Two hours, as the seed's deliverability rule has it.
    public static let defaultGuardSeconds: Double = 2 * 3600

    /// The daily cap in force: the account's own, else its provider's default.
    public var dailyCap: DailyCap { pacing.dailyCap.map(DailyCap.init(limit:)) ?? DailyCap.default(smtpHost: smtp.host) }

    public init(
        id: Int64? = nil, email: EmailAddress, displayName: String? = nil, username: String? = nil,
        smtp: ServerEndpoint, imap: ServerEndpoint?, trust: TLSTrust = TLSTrust(), copyToSent: Bool? = nil,
        pacing: Pacing = .default, guardSeconds: Double = Account.defaultGuardSeconds, origin: Origin = .database, provider: Provider = .smtpIMAP,
        oauth: OAuthSettings? = nil
    ) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.username = username ?? email.description
        self.smtp = smtp
        self.imap = imap
        self.trust = trust
        // Without IMAP there is no Sent folder to append to.
        self.copyToSent = imap == nil ? false : copyToSent ?? !Self.providerFilesSentMail(smtpHost: smtp.host)
        self.pacing = pacing
        self.guardSeconds = max(0, guardSeconds)
        self.origin = origin
        self.provider = provider
        self.oauth = oauth
    }

    /// A Gmail API account. Its SMTP/IMAP endpoints are Google's, so the provider defaults (daily cap, Sent filing)
    /// come out right and the same grant could serve XOAUTH2.
    public static func gmail(
        email: EmailAddress, displayName: String? = nil, oauth: OAuthSettings, pacing: Pacing = .default,
        guardSeconds: Double = Account.defaultGuardSeconds
    ) -> Account {
        Account(
            email: email, displayName: displayName, smtp: ServerEndpoint(service: .smtp, security: .implicitTLS, host: "smtp.gmail.com", port: 465),
            imap: ServerEndpoint(service: .imap, security: .implicitTLS, host: "imap.gmail.com", port: 993), copyToSent: false, pacing: pacing,
            guardSeconds: guardSeconds, provider: .gmailAPI, oauth: oauth
        )
    }

    /// How the account appears in errors and logs: its mail servers, or the API.
    public var transportLabel: String {
        switch provider {
        case .smtpIMAP: "SMTP \(smtp.authority)"
        case .gmailAPI: "Gmail API \(email)"
        }
    }

    /// Whether the sync service can mirror this account: a Gmail API account, or one with an IMAP server.
    public var canSync: Bool { provider == .gmailAPI || imap != nil }

    /// The account's IMAP server, for `purpose` ("drafts", "a follow-up round", …).
    /// - Throws: ``MissingIMAP`` for an SMTP-only account, saying what to set.
    public func imapServer(for purpose: String) throws(MissingIMAP) -> ServerEndpoint {
        guard let imap else { throw MissingIMAP(email: email.description, purpose: purpose, fromEnvironment: origin == .environment) }
        return imap
    }

    /// Gmail and Outlook's SMTP put what they relay into Sent on their own; a second APPEND would show it twice.
    static func providerFilesSentMail(smtpHost: String) -> Bool {
        let host = smtpHost.lowercased()
        return host == "smtp.gmail.com" || host == "smtp.googlemail.com" || host.hasSuffix(".office365.com") || host == "smtp-mail.outlook.com"
    }
}
