import OutreachCore

/// Where ``GmailAPI`` gets its bearer tokens: usually the account's stored refresh token behind
/// ``OAuthClient/refresh(_:http:)``.
public protocol AccessTokenSource: Sendable {
    /// A valid access token; refreshed when it expires within a minute or when `forceRefresh` (after a 401).
    /// Throws `TransportError(.reauthorizationRequired, …)` when the refresh token was refused (`invalid_grant`);
    /// ``OAuthError/transportError`` does that mapping.
    func accessToken(forceRefresh: Bool) async throws(TransportError) -> Secret
}
