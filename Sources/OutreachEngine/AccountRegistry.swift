import Foundation
import OutreachCore
import OutreachStore
import OutreachTransport

/// The accounts Outreach can send from: those stored in the database, plus the seed-style default account from
/// `.env` when one is described there. Seals passwords on the way in and opens them only for a connection.
public struct AccountRegistry: Sendable {
    private let store: any AccountStore
    private let secrets: SecretBox
    private let environmentAccount: EnvironmentAccount?

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case definedInEnvironment(email: String)
        case unknownAccount(email: String)
        case passwordMissing(email: String)
        case caFileUnreadable(path: String)

        public var description: String {
            switch self {
            case .definedInEnvironment(let email): "\(email) is the default account from .env (SMTP_* variables); change or remove it there"
            case .unknownAccount(let email): "no account \(email); `outreach account list` shows the accounts there are"
            case .passwordMissing(let email): "the stored password of \(email) is missing; add the account again"
            case .caFileUnreadable(let path): "the CA file \(path) cannot be read"
            }
        }
    }

    public init(store: any AccountStore, secrets: SecretBox, environmentAccount: EnvironmentAccount?) {
        self.store = store
        self.secrets = secrets
        self.environmentAccount = environmentAccount
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
        var accounts = try await store.allAccounts()
        if let env = environmentAccount?.account, !accounts.contains(where: { $0.email.normalized == env.email.normalized }) {
            accounts.append(env)
        }
        return accounts
    }

    public func account(email: String) async throws -> Account {
        if let stored = try await store.account(email: email) { return stored }
        if let env = environmentAccount?.account, env.email.normalized == email.lowercased() { return env }
        throw Problem.unknownAccount(email: email)
    }

    public func account(id: Int64) async throws -> Account? {
        try await store.account(id: id)
    }

    public func password(for account: Account) async throws -> Secret {
        if account.origin == .environment, let env = environmentAccount { return env.password }
        guard let id = account.id, let sealed = try await store.sealedPassword(accountID: id) else {
            throw Problem.passwordMissing(email: account.email.description)
        }
        return Secret(try secrets.open(sealed, context: Self.sealingContext(account.email)))
    }

    /// Saves changed settings of a stored account (not its password).
    public func update(_ account: Account) async throws {
        guard account.origin == .database else { throw Problem.definedInEnvironment(email: account.email.description) }
        if let caFile = account.trust.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw Problem.caFileUnreadable(path: caFile)
        }
        try await store.update(account)
    }

    public func remove(email: String) async throws {
        if try await store.deleteAccount(email: email) { return }
        if let env = environmentAccount?.account, env.email.normalized == email.lowercased() {
            throw Problem.definedInEnvironment(email: env.email.description)
        }
        throw Problem.unknownAccount(email: email)
    }

    static func sealingContext(_ email: EmailAddress) -> String { "outreach/account-password/\(email.normalized)" }
}
