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
}
