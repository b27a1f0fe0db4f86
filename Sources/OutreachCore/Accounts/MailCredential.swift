/// How a session proves it may use a mailbox: a password (LOGIN, AUTH PLAIN/LOGIN), or an OAuth 2.0 access token
/// sent as SASL XOAUTH2 — for Google Workspace and Microsoft 365 mailboxes that no longer take passwords.
public enum MailCredential: Sendable, Hashable, CustomStringConvertible {
    case password(Secret)
    /// A short-lived access token; whoever holds the refresh token makes a new one before this one expires.
    case bearer(Secret)

    public var description: String {
        switch self {
        case .password: "password"
        case .bearer: "OAuth bearer token"
        }
    }
}
