import Foundation
import GRDB
import OutreachCore

/// ``UserStore`` on SQLite.
public struct SQLiteUserStore: UserStore {
    let writer: any DatabaseWriter

    static func migrate(_ db: Database) throws {
        try db.create(table: "user") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("email", .text).notNull().unique().collate(.nocase)
            t.column("passwordHash", .text).notNull()
            t.column("role", .text).notNull()
            t.column("createdAt", .datetime).notNull()
        }
        try db.create(table: "account_grant") { t in
            t.column("userID", .integer).notNull().references("user", onDelete: .cascade)
            t.column("accountID", .integer).notNull().references("account", onDelete: .cascade)
            t.primaryKey(["userID", "accountID"])
        }
        try db.create(table: "session") { t in
            t.primaryKey("tokenHash", .text)
            t.column("userID", .integer).notNull().references("user", onDelete: .cascade)
            t.column("csrfToken", .text).notNull()
            t.column("createdAt", .datetime).notNull()
            t.column("expiresAt", .datetime).notNull()
        }
        // Campaigns made in the web UI belong to their user; those from the CLI (nil) are the admins'.
        try db.alter(table: "campaign") { t in t.add(column: "ownerID", .integer).references("user", onDelete: .setNull) }
        try db.create(index: "job_owner", on: "job", columns: ["ownerID", "id"])
    }

    static func user(_ row: Row) throws -> User {
        guard let role = User.Role(rawValue: row["role"]) else { throw StoreError.corrupt("user \(row["email"] as String? ?? "?") has role \(row["role"] as String? ?? "?")") }
        return User(id: row["id"], email: row["email"], role: role, createdAt: row["createdAt"])
    }

    public func insert(_ user: User, passwordHash: String) async throws -> User {
        try await writer.write { db in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM user WHERE email = ?", arguments: [user.email]) ?? 0 > 0 {
                throw UserStoreError.duplicateUser(email: user.email)
            }
            try db.execute(
                sql: "INSERT INTO user (email, passwordHash, role, createdAt) VALUES (?, ?, ?, ?)",
                arguments: [user.email, passwordHash, user.role.rawValue, user.createdAt]
            )
            var inserted = user
            inserted.id = db.lastInsertedRowID
            return inserted
        }
    }

    public func setPasswordHash(userID: Int64, _ hash: String) async throws {
        try await writer.write { db in try db.execute(sql: "UPDATE user SET passwordHash = ? WHERE id = ?", arguments: [hash, userID]) }
    }

    public func user(email: String) async throws -> User? {
        try await writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM user WHERE email = ?", arguments: [email.lowercased()]).map(Self.user) }
    }

    public func user(id: Int64) async throws -> User? {
        try await writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM user WHERE id = ?", arguments: [id]).map(Self.user) }
    }

    public func passwordHash(email: String) async throws -> (User, String)? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM user WHERE email = ?", arguments: [email.lowercased()]) else { return nil }
            return (try Self.user(row), row["passwordHash"])
        }
    }

    public func allUsers() async throws -> [User] {
        try await writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM user ORDER BY email").map(Self.user) }
    }

    public func userCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM user") ?? 0 }
    }

    public func grant(userID: Int64, accountID: Int64) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO account_grant (userID, accountID) VALUES (?, ?)", arguments: [userID, accountID])
        }
    }

    public func revoke(userID: Int64, accountID: Int64) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM account_grant WHERE userID = ? AND accountID = ?", arguments: [userID, accountID]) }
    }

    public func remove(userID: Int64) async throws {
        // Grants and sessions go with the user (ON DELETE CASCADE); campaigns keep their rows with no owner.
        try await writer.write { db in try db.execute(sql: "DELETE FROM user WHERE id = ?", arguments: [userID]) }
    }

    public func grantedAccountIDs(userID: Int64) async throws -> Set<Int64> {
        try await writer.read { db in Set(try Int64.fetchAll(db, sql: "SELECT accountID FROM account_grant WHERE userID = ?", arguments: [userID])) }
    }

    public func createSession(tokenHash: String, userID: Int64, csrfToken: String, expiresAt: Date) async throws {
        try await writer.write { db in
            // Expired sessions go whenever a new one is made: the table stays small without a sweeper.
            try db.execute(sql: "DELETE FROM session WHERE expiresAt < ?", arguments: [Date()])
            try db.execute(
                sql: "INSERT INTO session (tokenHash, userID, csrfToken, createdAt, expiresAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [tokenHash, userID, csrfToken, Date(), expiresAt]
            )
        }
    }

    public func session(tokenHash: String, now: Date) async throws -> (User, csrfToken: String)? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT user.*, session.csrfToken FROM session JOIN user ON user.id = session.userID WHERE session.tokenHash = ? AND session.expiresAt > ?",
                arguments: [tokenHash, now]
            ) else { return nil }
            return (try Self.user(row), row["csrfToken"])
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM session WHERE tokenHash = ?", arguments: [tokenHash]) }
    }
}
