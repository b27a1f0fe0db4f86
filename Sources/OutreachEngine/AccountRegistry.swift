import Foundation
import Logging
import OutreachCore
import OutreachStore
import OutreachTransport

/// The accounts Outreach can send from: those stored in the database, plus the seed-style default account from
/// `.env` when one is described there. Seals passwords on the way in and opens them only for a connection.
public struct AccountRegistry: Sendable {
    private let store: any AccountStore
    private let secrets: SecretBox
    private let environmentAccount: EnvironmentAccount?
    public let gmail: GmailAPIConfiguration

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case definedInEnvironment(email: String)
        case unknownAccount(email: String)
        case passwordMissing(email: String)
        case caFileUnreadable(path: String)
        case noRefreshToken(email: String)
        case otherProvider(email: String, provider: Account.Provider)

        public var description: String {
            switch self {
            case .definedInEnvironment(let email): "\(email) is the default account from .env (SMTP_* variables); change or remove it there"
            case .unknownAccount(let email): "no account \(email); `outreach account list` shows the accounts there are"
            case .passwordMissing(let email): "the stored password of \(email) is missing (an account from .env takes it from SMTP_PASSWORD there); put the .env lines back, or remove the account and add it again"
            case .caFileUnreadable(let path): "the CA file \(path) cannot be read"
            case .noRefreshToken(let email):
                "the provider granted access for \(email) without a refresh token, so Outreach could not keep working after an hour; connect again (the consent screen must be shown: prompt=consent, access_type=offline)"
            case .otherProvider(let email, let provider):
                "\(email) is already an account of another kind (\(provider.rawValue)); remove it first with `outreach account remove \(email)`"
            }
        }
    }

    public init(store: any AccountStore, secrets: SecretBox, environmentAccount: EnvironmentAccount?, gmail: GmailAPIConfiguration = GmailAPIConfiguration()) {
        self.store = store
        self.secrets = secrets
        self.environmentAccount = environmentAccount
        self.gmail = gmail
    }

    /// Stores a new account with its password sealed to it.
    public func add(_ account: Account, password: Secret) async throws -> Account {
        if let caFile = account.trust.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw Problem.caFileUnreadable(path: caFile)
        }
        let sealed = try secrets.seal(password.revealed, context: Self.sealingContext(account.email))
        return try await store.insert(account, sealedPassword: sealed)
    }

    /// Stored accounts first, then the `.env` default unless a stored account has the same address.
    public func all() async throws -> [Account] {
        var accounts = try await store.allAccounts().map(overlaid)
        if let env = environmentAccount?.account, !accounts.contains(where: { $0.email.normalized == env.email.normalized }) {
            accounts.append(env)
        }
        return accounts
    }

    public func account(email: String) async throws -> Account {
        if let stored = try await store.account(email: email) { return overlaid(stored) }
        if let env = environmentAccount?.account, env.email.normalized == email.lowercased() { return env }
        throw Problem.unknownAccount(email: email)
    }

    public func account(id: Int64) async throws -> Account? {
        try await store.account(id: id).map(overlaid)
    }

    /// The `.env` account as campaigns can refer to it: stored once (with an id, its pacing settable with
    /// `account set`), while its servers, login and password keep coming from `.env` on every start.
    /// A stored account, or one that is not the `.env` account, is returned as it is.
    public func adopted(_ account: Account) async throws -> Account {
        guard account.id == nil, account.origin == .environment, let env = environmentAccount else { return account }
        let sealed = try secrets.seal("", context: Self.sealingContext(env.account.email))
        return overlaid(try await store.insert(env.account, sealedPassword: sealed))
    }

    /// A stored account with the `.env` account's address takes its servers, login and display name from `.env`
    /// (environment wins over what is stored); its id, pacing and guard window stay the stored ones.
    private func overlaid(_ stored: Account) -> Account {
        guard let env = environmentAccount?.account, env.email.normalized == stored.email.normalized, stored.provider == .smtpIMAP, stored.oauth == nil else {
            return stored
        }
        var account = stored
        account.smtp = env.smtp
        account.imap = env.imap
        account.username = env.username
        account.displayName = env.displayName ?? stored.displayName
        account.trust = env.trust
        account.copyToSent = env.imap == nil ? false : stored.copyToSent
        account.origin = .environment
        return account
    }

    public func password(for account: Account) async throws -> Secret {
        if account.origin == .environment, let env = environmentAccount { return env.password }
        guard let id = account.id, let sealed = try await store.sealedPassword(accountID: id) else {
            throw Problem.passwordMissing(email: account.email.description)
        }
        let password = try secrets.open(sealed, context: Self.sealingContext(account.email))
        // An adopted `.env` account stores no password: with its `.env` lines gone, it has none.
        guard !password.isEmpty else { throw Problem.passwordMissing(email: account.email.description) }
        return Secret(password)
    }

    /// Saves changed settings of a stored account (not its password).
    public func update(_ account: Account) async throws {
        // The `.env` account is stored once a campaign refers to it (``adopted(_:)``); before that it has no row.
        guard account.id != nil else { throw Problem.definedInEnvironment(email: account.email.description) }
        if let caFile = account.trust.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw Problem.caFileUnreadable(path: caFile)
        }
        try await store.update(account)
    }

    /// What removing an OAuth account did about its grant at the provider.
    public enum GrantRevocation: Sendable, Equatable {
        case notOAuth, revoked, noEndpoint
        case failed(String)
    }

    /// Removes an account. An OAuth account's grant is then withdrawn at the provider (only once the account is gone,
    /// so a refused removal leaves a working account), so that no copy of the database can use it any more.
    public func remove(email: String, logger: Logger) async throws -> GrantRevocation {
        var revoke: (client: OAuthClient, token: Secret)?
        if let stored = try await store.account(email: email), let id = stored.id, let grant = try await store.oauthGrant(accountID: id) {
            revoke = try? (
                OAuthClient(
                    clientID: grant.settings.clientID,
                    clientSecret: grant.clientSecretSealed.map { Secret(try secrets.open($0, context: Self.oauthContext(.clientSecret, stored.email))) },
                    authURL: grant.settings.authURL, tokenURL: grant.settings.tokenURL
                ),
                Secret(try secrets.open(grant.refreshTokenSealed, context: Self.oauthContext(.refreshToken, stored.email)))
            )
        }
        try await remove(email: email)
        guard let revoke else { return .notOAuth }
        let http = HTTPClient(label: "oauth \(email)", logger: logger)
        let outcome: GrantRevocation
        do { outcome = try await revoke.client.revoke(revoke.token, http: http) ? .revoked : .noEndpoint } catch { outcome = .failed(error.description) }
        await http.close()
        return outcome
    }

    public func remove(email: String) async throws {
        if try await store.deleteAccount(email: email) { return }
        if let env = environmentAccount?.account, env.email.normalized == email.lowercased() {
            throw Problem.definedInEnvironment(email: env.email.description)
        }
        throw Problem.unknownAccount(email: email)
    }

    static func sealingContext(_ email: EmailAddress) -> String { "outreach/account-password/\(email.normalized)" }

    // MARK: - OAuth accounts

    enum OAuthSecret: String { case clientSecret = "client-secret", refreshToken = "refresh-token", accessToken = "access-token" }

    /// Each sealed OAuth secret is bound to its account and its kind: a refresh token cannot be opened as another
    /// account's, nor as an access token.
    static func oauthContext(_ kind: OAuthSecret, _ email: EmailAddress) -> String { "outreach/account-oauth/\(kind.rawValue)/\(email.normalized)" }

    /// What the operator reads when an account's grant is gone: what the provider said and how to connect again.
    static func reconnectAdvice(_ account: Account, providerSaid: String) -> String {
        let how = account.provider == .gmailAPI
            ? "`outreach account connect-gmail \(account.email) --client-id \(account.oauth?.clientID ?? "ID")`"
            : "`outreach account connect-oauth \(account.email) …`"
        return "\(account.email) needs reconnecting: the provider no longer accepts its authorization (\(providerSaid)). Connect it again with \(how) or \"Connect with Google\" on the Accounts page; its jobs wait paused and go on with `outreach job resume`."
    }

    /// Stores a new OAuth account, or gives an existing one its new grant (a reconnect), clearing "needs reconnecting".
    public func connectOAuth(_ account: Account, tokens: OAuthTokens, client: OAuthClient) async throws -> Account {
        guard let refreshToken = tokens.refreshToken else { throw Problem.noRefreshToken(email: account.email.description) }
        var stored: Account
        if var existing = try await store.account(email: account.email.description) {
            guard existing.provider == account.provider else { throw Problem.otherProvider(email: existing.email.description, provider: existing.provider) }
            existing.oauth = account.oauth
            if account.provider == .smtpIMAP {
                existing.smtp = account.smtp
                existing.imap = account.imap
                existing.username = account.username
            }
            try await store.update(existing)
            stored = existing
        } else {
            // The password column holds a sealed empty string: the account logs in with its tokens only.
            stored = try await store.insert(account, sealedPassword: try secrets.seal("", context: Self.sealingContext(account.email)))
        }
        guard let id = stored.id, var settings = account.oauth else { return stored }
        settings.needsReconnect = nil
        let email = account.email
        let grant = StoredOAuthGrant(
            settings: settings,
            clientSecretSealed: try client.clientSecret.map { try secrets.seal($0.revealed, context: Self.oauthContext(.clientSecret, email)) },
            refreshTokenSealed: try secrets.seal(refreshToken.revealed, context: Self.oauthContext(.refreshToken, email)),
            accessTokenSealed: try secrets.seal(tokens.accessToken.revealed, context: Self.oauthContext(.accessToken, email)),
            accessExpiresAt: tokens.expiresAt
        )
        try await store.saveOAuth(grant, accountID: id)
        stored.oauth = settings
        return stored
    }

    /// The account's access tokens (OAuth accounts only).
    public func accessTokens(for account: Account, http: HTTPClient, logger: Logger) throws -> AccountAccessTokens {
        guard let id = account.id, account.oauth != nil else {
            throw Problem.passwordMissing(email: account.email.description)
        }
        return AccountAccessTokens(account: account, accountID: id, store: store, secrets: secrets, http: http, logger: logger)
    }

    /// How the account logs in to IMAP and SMTP: its password, or a fresh XOAUTH2 access token.
    public func credential(for account: Account, logger: Logger) async throws -> MailCredential {
        guard account.oauth != nil else { return .password(try await password(for: account)) }
        let http = HTTPClient(label: "oauth \(account.email)", logger: logger)
        let tokens = try accessTokens(for: account, http: http, logger: logger)
        let token = try await tokens.accessToken(forceRefresh: false)
        await http.close()
        return .bearer(token)
    }

    /// A Gmail API client for the account, with its own HTTP connection (close it when done).
    public func gmailAPI(for account: Account, logger: Logger) throws -> (api: GmailAPI, http: HTTPClient) {
        let http = HTTPClient(label: "gmail \(account.email)", logger: logger)
        let tokens = try accessTokens(for: account, http: http, logger: logger)
        var configuration = gmail
        configuration.apiBase = account.oauth?.apiBase ?? gmail.apiBase
        let budget = GmailQuotaBudget.shared(for: account.email.normalized, unitsPerMinute: configuration.quotaUnitsPerMinute)
        return (GmailAPI(configuration: configuration, tokens: tokens, http: http, logger: logger, budget: budget), http)
    }

    /// The provider session a round sends through.
    func deliverySession(for account: Account, logger: Logger) async throws -> any DeliverySession {
        switch account.provider {
        case .gmailAPI:
            let (api, http) = try gmailAPI(for: account, logger: logger)
            return GmailSession(account: account, api: api, http: http, logger: logger)
        case .smtpIMAP where account.oauth != nil:
            let http = HTTPClient(label: "oauth \(account.email)", logger: logger)
            return MailSession(account: account, login: .oauth(try accessTokens(for: account, http: http, logger: logger), http: http), logger: logger)
        case .smtpIMAP:
            return MailSession(account: account, login: .password(try await password(for: account)), logger: logger)
        }
    }
}

extension GmailAPIConfiguration {
    /// Gmail API limits and endpoints from the configuration (`OUTREACH_GMAIL_*`): Google's published per-user quota
    /// by default; tests point `OUTREACH_GMAIL_API_BASE` at a local server.
    public init(settings: [String: String]) {
        self.init()
        func value(_ key: String) -> String? { settings[key].flatMap { $0.isEmpty ? nil : $0 } }
        if let base = value("OUTREACH_GMAIL_API_BASE") { apiBase = base }
        if let quota = value("OUTREACH_GMAIL_QUOTA_PER_MINUTE").flatMap(Int.init), quota > 0 { quotaUnitsPerMinute = quota }
        if let attempts = value("OUTREACH_GMAIL_MAX_ATTEMPTS").flatMap(Int.init), attempts > 0 { maxAttempts = attempts }
        if let base = value("OUTREACH_GMAIL_RETRY_BASE").flatMap(Double.init), base >= 0 { retryBaseSeconds = base }
        if let readers = value("OUTREACH_GMAIL_CONCURRENCY").flatMap(Int.init), (1...16).contains(readers) { concurrentReads = readers }
    }
}
