import Foundation
import OutreachCore

/// Web users, the accounts granted to them, and their sign-in sessions. Password hashes arrive already hashed
/// (bcrypt); session tokens arrive already hashed (SHA-256): the store never sees a password or a usable token.
public protocol UserStore: Sendable {
    /// - Throws: ``UserStoreError/duplicateUser(email:)``.
    func insert(_ user: User, passwordHash: String) async throws -> User
    func setPasswordHash(userID: Int64, _ hash: String) async throws
    func user(email: String) async throws -> User?
    func user(id: Int64) async throws -> User?
    func passwordHash(email: String) async throws -> (User, String)?
    func allUsers() async throws -> [User]
    func userCount() async throws -> Int

    func grant(userID: Int64, accountID: Int64) async throws
    func revoke(userID: Int64, accountID: Int64) async throws
    func grantedAccountIDs(userID: Int64) async throws -> Set<Int64>
    /// Removes the user with their grants and sessions; their campaigns stay (the admins' from now on).
    func remove(userID: Int64) async throws

    func createSession(tokenHash: String, userID: Int64, csrfToken: String, expiresAt: Date) async throws
    /// The session's user and CSRF token, if the session exists and has not expired.
    func session(tokenHash: String, now: Date) async throws -> (User, csrfToken: String)?
    func deleteSession(tokenHash: String) async throws
}

public enum UserStoreError: Error, Equatable, CustomStringConvertible {
    case duplicateUser(email: String)
    case userNotFound(email: String)

    public var description: String {
        switch self {
        case .duplicateUser(let email): "a user \(email) already exists"
        case .userNotFound(let email): "no user \(email); `outreach user add \(email)` creates one"
        }
    }
}
