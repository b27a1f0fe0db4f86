import Foundation
import OutreachCore
import PostgresNIO

/// ``UserStore`` on PostgreSQL. Addresses compare case-insensitively, as SQLite's `COLLATE NOCASE` column does.
public struct PostgresUserStore: UserStore {
    let db: PostgresStatements

    static let columns = #""user".id, "user".email, "user".role, "user"."createdAt""#

    static func user(_ row: PostgresRandomAccessRow) throws -> User {
        let email: String = try row.get("email")
        let roleText: String = try row.get("role")
        guard let role = User.Role(rawValue: roleText) else { throw StoreError.corrupt("user \(email) has role \(roleText)") }
        return User(id: try row.get("id", as: Int64.self), email: email, role: role, createdAt: try row.get("createdAt"))
    }

    public func insert(_ user: User, passwordHash: String) async throws -> User {
        // ON CONFLICT: two processes adding the same address at once get one row and one refusal, not an error.
        let id = try await db.first(
            #"""
            INSERT INTO "user" (email, "passwordHash", role, "createdAt") VALUES (\#(user.email), \#(passwordHash), \#(user.role.rawValue), \#(user.createdAt))
            ON CONFLICT (lower(email)) DO NOTHING RETURNING id
            """#
        ) { try $0.get("id", as: Int64.self) }
        guard let id else { throw UserStoreError.duplicateUser(email: user.email) }
        var inserted = user
        inserted.id = id
        return inserted
    }

    public func setPasswordHash(userID: Int64, _ hash: String) async throws {
        try await db.execute(#"UPDATE "user" SET "passwordHash" = \#(hash) WHERE id = \#(userID)"#)
    }

    public func user(email: String) async throws -> User? {
        try await db.first(#"SELECT \#(unescaped: Self.columns) FROM "user" WHERE lower(email) = lower(\#(email))"#, Self.user)
    }

    public func user(id: Int64) async throws -> User? {
        try await db.first(#"SELECT \#(unescaped: Self.columns) FROM "user" WHERE id = \#(id)"#, Self.user)
    }

    public func passwordHash(email: String) async throws -> (User, String)? {
        try await db.first(#"SELECT \#(unescaped: Self.columns), "passwordHash" FROM "user" WHERE lower(email) = lower(\#(email))"#) {
            (try Self.user($0), try $0.get("passwordHash", as: String.self))
        }
    }

    public func allUsers() async throws -> [User] {
        // lower(…) in byte order: the order SQLite's NOCASE column gives, whatever the database's collation.
        try await db.rows(#"SELECT \#(unescaped: Self.columns) FROM "user" ORDER BY lower(email) COLLATE "C""#, Self.user)
    }

    public func userCount() async throws -> Int {
        try await db.first(#"SELECT COUNT(*) AS n FROM "user""#) { try $0.get("n", as: Int.self) } ?? 0
    }

    public func grant(userID: Int64, accountID: Int64) async throws {
        try await db.execute(#"INSERT INTO account_grant ("userID", "accountID") VALUES (\#(userID), \#(accountID)) ON CONFLICT DO NOTHING"#)
    }

    public func revoke(userID: Int64, accountID: Int64) async throws {
        try await db.execute(#"DELETE FROM account_grant WHERE "userID" = \#(userID) AND "accountID" = \#(accountID)"#)
    }

    public func remove(userID: Int64) async throws {
        // Grants and sessions go with the user (ON DELETE CASCADE); campaigns keep their rows with no owner.
        try await db.execute(#"DELETE FROM "user" WHERE id = \#(userID)"#)
    }

    public func grantedAccountIDs(userID: Int64) async throws -> Set<Int64> {
        Set(try await db.rows(#"SELECT "accountID" FROM account_grant WHERE "userID" = \#(userID)"#) { try $0.get("accountID", as: Int64.self) })
    }

    public func createSession(tokenHash: String, userID: Int64, csrfToken: String, expiresAt: Date) async throws {
        try await db.transaction { db in
            // Expired sessions go whenever a new one is made: the table stays small without a sweeper.
            try await db.execute(#"DELETE FROM session WHERE "expiresAt" < \#(Date())"#)
            try await db.execute(
                #"""
                INSERT INTO session ("tokenHash", "userID", "csrfToken", "createdAt", "expiresAt")
                VALUES (\#(tokenHash), \#(userID), \#(csrfToken), \#(Date()), \#(expiresAt))
                """#
            )
        }
    }

    public func session(tokenHash: String, now: Date) async throws -> (User, csrfToken: String)? {
        try await db.first(
            #"""
            SELECT \#(unescaped: Self.columns), session."csrfToken" FROM session JOIN "user" ON "user".id = session."userID"
            WHERE session."tokenHash" = \#(tokenHash) AND session."expiresAt" > \#(now)
            """#
        ) { (try Self.user($0), csrfToken: try $0.get("csrfToken", as: String.self)) }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await db.execute(#"DELETE FROM session WHERE "tokenHash" = \#(tokenHash)"#)
    }
}
