import Foundation
import OutreachCore

/// Persistence of sending accounts. Secrets arrive already sealed: the store never sees a plaintext password.
///
/// Shaped by what callers need rather than by tables, so a PostgreSQL implementation can stand beside
/// ``SQLiteAccountStore`` without touching them.
public protocol AccountStore: Sendable {
    /// Adds an account; throws ``StoreError/duplicateAccount(email:)`` if the address is already there.
    func insert(_ account: Account, sealedPassword: [UInt8]) async throws -> Account
    func update(_ account: Account) async throws
    func allAccounts() async throws -> [Account]
    /// Case-insensitive on the whole address.
    func account(email: String) async throws -> Account?
    func account(id: Int64) async throws -> Account?
    func sealedPassword(accountID: Int64) async throws -> [UInt8]?
    /// - Returns: false when there was no such account.
    func deleteAccount(email: String) async throws -> Bool

    // MARK: OAuth accounts
    /// Stores (or replaces, on a reconnect) the account's OAuth grant; clears "needs reconnecting".
    func saveOAuth(_ grant: StoredOAuthGrant, accountID: Int64) async throws
    func oauthGrant(accountID: Int64) async throws -> StoredOAuthGrant?
    /// Caches the current access token so other processes use it instead of refreshing again; with a rotated refresh
    /// token, stores that too.
    func saveAccessToken(sealed: [UInt8], expiresAt: Date, refreshTokenSealed: [UInt8]?, accountID: Int64) async throws
    /// Marks (or, with nil, clears) the account as needing its owner to connect it again.
    func markNeedsReconnect(_ reason: String?, accountID: Int64) async throws
}

/// An account's OAuth grant as stored: settings in the clear, secrets sealed. Prints its settings only: sealed
/// bytes are safe to show, but a log has no use for them.
public struct StoredOAuthGrant: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "StoredOAuthGrant(settings: \(settings), secrets: sealed)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["settings": settings], displayStyle: .struct) }

    public var settings: OAuthSettings
    public var clientSecretSealed: [UInt8]?
    public var refreshTokenSealed: [UInt8]
    public var accessTokenSealed: [UInt8]?
    public var accessExpiresAt: Date?

    public init(settings: OAuthSettings, clientSecretSealed: [UInt8]?, refreshTokenSealed: [UInt8], accessTokenSealed: [UInt8]? = nil, accessExpiresAt: Date? = nil) {
        self.settings = settings
        self.clientSecretSealed = clientSecretSealed
        self.refreshTokenSealed = refreshTokenSealed
        self.accessTokenSealed = accessTokenSealed
        self.accessExpiresAt = accessExpiresAt
    }
}
