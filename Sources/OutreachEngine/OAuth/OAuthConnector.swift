import Foundation
import Logging
import OutreachCore
import OutreachTransport

/// Connecting an account with OAuth: the CLI's loopback flow and the web's redirect both end here, with a fresh grant
/// to check and store.
public struct OAuthConnector: Sendable {
    public enum Problem: Error, CustomStringConvertible {
        case wrongMailbox(expected: String, granted: String)
        case cannotSend(email: String, granted: [String])

        public var description: String {
            switch self {
            case .wrongMailbox(let expected, let granted):
                "access was granted for \(granted), not \(expected); run the command again and choose \(expected) on the consent screen (nothing was stored)"
            case .cannotSend(let email, let granted):
                "the consent for \(email) did not include a scope that can send (granted: \(granted.isEmpty ? "none" : granted.joined(separator: " "))); run it again and leave every requested box ticked (nothing was stored)"
            }
        }
    }

    let registry: AccountRegistry
    let logger: Logger

    public init(registry: AccountRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Checks a fresh Gmail grant (the mailbox it opens is `email`, it may send) and stores the account with it.
    public func completeGmail(
        email: EmailAddress, displayName: String?, tokens: OAuthTokens, client: OAuthClient, apiBase: String
    ) async throws -> Account {
        let sendScopes = ["send", "compose", "modify"].map { OAuthSettings.gmailScopePrefix + $0 } + [OAuthSettings.googleMailScope]
        guard tokens.scopes.contains(where: sendScopes.contains) else { throw Problem.cannotSend(email: email.description, granted: tokens.scopes) }
        // Ask Gmail whose mailbox this is: a consent given for another account must not be stored under this one.
        let http = HTTPClient(label: "gmail \(email)", logger: logger)
        let api = GmailAPI(
            configuration: { var configuration = registry.gmail; configuration.apiBase = apiBase; return configuration }(),
            tokens: GrantedAccessToken(token: tokens.accessToken), http: http, logger: logger
        )
        let profile: GmailProfile
        do { profile = try await api.profile() } catch {
            await http.close()
            throw error
        }
        await http.close()
        guard profile.emailAddress.lowercased() == email.normalized else {
            throw Problem.wrongMailbox(expected: email.description, granted: profile.emailAddress)
        }
        let settings = OAuthSettings(clientID: client.clientID, authURL: client.authURL, tokenURL: client.tokenURL, scopes: tokens.scopes, apiBase: apiBase)
        var account = Account.gmail(email: email, displayName: displayName, oauth: settings)
        if let existing = try? await registry.account(email: email.description), existing.provider == .gmailAPI {
            account.pacing = existing.pacing
            account.guardSeconds = existing.guardSeconds
            account.displayName = displayName ?? existing.displayName
        }
        return try await registry.connectOAuth(account, tokens: tokens, client: client)
    }

    /// Stores an IMAP+SMTP account that logs in with XOAUTH2 (Workspace, Microsoft 365), with its fresh grant.
    public func completeMailServers(_ account: Account, tokens: OAuthTokens, client: OAuthClient) async throws -> Account {
        var account = account
        account.oauth = OAuthSettings(clientID: client.clientID, authURL: client.authURL, tokenURL: client.tokenURL, scopes: tokens.scopes)
        return try await registry.connectOAuth(account, tokens: tokens, client: client)
    }
}

/// The access token a consent just produced, used once to ask Gmail whose mailbox it opens.
struct GrantedAccessToken: AccessTokenSource {
    let token: Secret
    func accessToken(forceRefresh: Bool) async throws(TransportError) -> Secret { token }
}
