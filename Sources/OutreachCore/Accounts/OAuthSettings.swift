/// How an account is authorized with OAuth 2.0: the client it was connected with, the provider's endpoints and the
/// scopes the owner granted. The secrets (client secret, refresh and access tokens) live sealed in the store, never here.
public struct OAuthSettings: Sendable, Hashable, Codable {
    public var clientID: String
    public var authURL: String
    public var tokenURL: String
    /// What the owner granted, which may be less than what was asked (granular consent).
    public var scopes: [String]
    /// Where the Gmail API answers (`https://gmail.googleapis.com`); nil for accounts that use OAuth only for IMAP/SMTP.
    public var apiBase: String?
    /// Set when the provider refused the grant (`invalid_grant`): why, in the operator's words. The account's jobs
    /// pause until it is connected again.
    public var needsReconnect: String?

    public init(clientID: String, authURL: String, tokenURL: String, scopes: [String], apiBase: String? = nil, needsReconnect: String? = nil) {
        self.clientID = clientID
        self.authURL = authURL
        self.tokenURL = tokenURL
        self.scopes = scopes
        self.apiBase = apiBase
        self.needsReconnect = needsReconnect
    }

    public static let gmailScopePrefix = "https://www.googleapis.com/auth/gmail."
    /// Scopes under which Gmail answers `q` searches and whole messages. A token that also carries `gmail.metadata`
    /// is refused both, whatever else it carries, so the metadata scope must be absent.
    public var canSearchAndReadBodies: Bool {
        let readers = [Self.gmailScopePrefix + "readonly", Self.gmailScopePrefix + "modify", "https://mail.google.com/"]
        return !scopes.contains(Self.gmailScopePrefix + "metadata") && scopes.contains { readers.contains($0) }
    }
}

extension OAuthSettings {
    /// The narrowest set that can send, store drafts and read the header fields the thread index needs:
    /// `gmail.compose` (send + drafts) and `gmail.metadata` (headers, labels, history; no bodies, no search).
    public static let defaultGmailScopes = [gmailScopePrefix + "compose", gmailScopePrefix + "metadata"]
    /// IMAP and SMTP over XOAUTH2 at Google need the full-mail scope; Microsoft's are per protocol.
    public static let googleMailScope = "https://mail.google.com/"
}
