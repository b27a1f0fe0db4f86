import Foundation
import OutreachCore

/// What the token endpoint gave: an access token for the API calls and, on first consent, the refresh token that
/// stands for the account's grant.
public struct OAuthTokens: Sendable {
    public var accessToken: Secret
    public var expiresAt: Date
    /// From a code exchange: the new grant (nil if Google sent none, e.g. without `access_type=offline`). From a
    /// refresh: the rotated token if one came, else the one that was used.
    public var refreshToken: Secret?
    /// The scopes actually granted, which may be fewer than asked for (granular consent).
    public var scopes: [String]
    /// The account's address, from the `id_token` (only with the `openid` + `email` scopes).
    public var email: String?

    public init(accessToken: Secret, expiresAt: Date, refreshToken: Secret?, scopes: [String], email: String?) {
        self.accessToken = accessToken
        self.expiresAt = expiresAt
        self.refreshToken = refreshToken
        self.scopes = scopes
        self.email = email
    }
}
