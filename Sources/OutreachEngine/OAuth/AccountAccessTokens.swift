import Foundation
import Logging
import OutreachCore
import OutreachStore
import OutreachTransport

/// The access tokens of one OAuth account: the cached one while it has more than a minute to live, else a new one
/// from the refresh token, stored (sealed) so other processes use it too.
///
/// When the provider refuses the refresh token (`invalid_grant`: revoked, expired, the password changed), the
/// account is marked "needs reconnecting" and every caller gets ``TransportError/Kind/reauthorizationRequired``,
/// so jobs pause instead of failing row after row.
public actor AccountAccessTokens: AccessTokenSource {
    private let account: Account
    private let accountID: Int64
    private let store: any AccountStore
    private let secrets: SecretBox
    private let http: HTTPClient
    private let logger: Logger
    private var cached: (token: Secret, expiresAt: Date)?

    init(account: Account, accountID: Int64, store: any AccountStore, secrets: SecretBox, http: HTTPClient, logger: Logger) {
        self.account = account
        self.accountID = accountID
        self.store = store
        self.secrets = secrets
        self.http = http
        self.logger = logger
    }

    /// Refresh this long before the provider's expiry, so a token never dies in the middle of a call.
    static let refreshMargin: TimeInterval = 60

    public func accessToken(forceRefresh: Bool) async throws(TransportError) -> Secret {
        let now = Date()
        if !forceRefresh, let cached, cached.expiresAt.timeIntervalSince(now) > Self.refreshMargin { return cached.token }
        let grant = try await loadGrant()
        if let reason = grant.settings.needsReconnect {
            throw TransportError(.reauthorizationRequired, server: account.transportLabel, detail: reason)
        }
        if !forceRefresh, let sealed = grant.accessTokenSealed, let expiresAt = grant.accessExpiresAt, expiresAt.timeIntervalSince(now) > Self.refreshMargin,
            let token = try? secrets.open(sealed, context: AccountRegistry.oauthContext(.accessToken, account.email))
        {
            cached = (Secret(token), expiresAt)
            return Secret(token)
        }
        let client: OAuthClient
        let refreshToken: Secret
        do {
            client = OAuthClient(
                clientID: grant.settings.clientID,
                clientSecret: try grant.clientSecretSealed.map { Secret(try secrets.open($0, context: AccountRegistry.oauthContext(.clientSecret, account.email))) },
                authURL: grant.settings.authURL, tokenURL: grant.settings.tokenURL
            )
            refreshToken = Secret(try secrets.open(grant.refreshTokenSealed, context: AccountRegistry.oauthContext(.refreshToken, account.email)))
        } catch {
            throw TransportError(.configuration, server: account.transportLabel, detail: "the stored OAuth grant cannot be opened: \(error)")
        }
        let tokens: OAuthTokens
        do {
            tokens = try await client.refresh(refreshToken, http: http)
        } catch {
            switch error {
            case .invalidGrant(let text):
                let reason = AccountRegistry.reconnectAdvice(account, providerSaid: "invalid_grant: \(text)")
                logger.error("OAuth grant refused; the account needs reconnecting", metadata: ["account.email": "\(account.email)"])
                do { try await store.markNeedsReconnect(reason, accountID: accountID) } catch {
                    logger.error("could not record that the account needs reconnecting: \(error)")
                }
                cached = nil
                throw TransportError(.reauthorizationRequired, server: account.transportLabel, detail: reason)
            case .transport(let transport):
                throw transport
            case .endpoint(let status, _, _) where status >= 500 || status == 429:
                // The provider's token service is down or busy: nothing is wrong with the grant; try again later.
                throw TransportError(.connection, server: account.transportLabel, detail: "the token endpoint could not refresh the access token for now: \(error)")
            default:
                throw TransportError(.authentication, server: account.transportLabel, detail: "the token endpoint refused to refresh the access token: \(error)")
            }
        }
        cached = (tokens.accessToken, tokens.expiresAt)
        do {
            let sealed = try secrets.seal(tokens.accessToken.revealed, context: AccountRegistry.oauthContext(.accessToken, account.email))
            // Some providers (Microsoft) hand out a new refresh token with each refresh and retire the old one.
            let rotated = try tokens.refreshToken.flatMap { new in
                new.revealed == refreshToken.revealed ? nil : try secrets.seal(new.revealed, context: AccountRegistry.oauthContext(.refreshToken, account.email))
            }
            try await store.saveAccessToken(sealed: sealed, expiresAt: tokens.expiresAt, refreshTokenSealed: rotated, accountID: accountID)
        } catch {
            // Only the sharing with other processes is lost; this one has its token.
            logger.warning("could not store the refreshed access token: \(error)")
        }
        return tokens.accessToken
    }

    private func loadGrant() async throws(TransportError) -> StoredOAuthGrant {
        let grant: StoredOAuthGrant?
        do { grant = try await store.oauthGrant(accountID: accountID) } catch {
            throw TransportError(.configuration, server: account.transportLabel, detail: "the account's OAuth grant cannot be read: \(error)")
        }
        guard let grant else {
            throw TransportError(
                .reauthorizationRequired, server: account.transportLabel,
                detail: AccountRegistry.reconnectAdvice(account, providerSaid: "no OAuth grant is stored for it")
            )
        }
        return grant
    }
}
