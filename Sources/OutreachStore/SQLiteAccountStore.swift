import Foundation
import GRDB
import OutreachCore

/// ``AccountStore`` on SQLite.
public struct SQLiteAccountStore: AccountStore {
    let writer: any DatabaseWriter

    typealias Row = StoredAccount

    public func insert(_ account: Account, sealedPassword: [UInt8]) async throws -> Account {
        try await writer.write { db in
            if try Row.filter(Row.Columns.email == account.email.description).fetchCount(db) > 0 {
                throw StoreError.duplicateAccount(email: account.email.description)
            }
            var row = Row(account, sealed: sealedPassword)
            try row.insert(db)
            return try row.account()
        }
    }

    public func update(_ account: Account) async throws {
        try await writer.write { db in
            guard var row = try Row.filter(Row.Columns.email == account.email.description).fetchOne(db) else {
                throw StoreError.accountNotFound(email: account.email.description)
            }
            let updated = Row(account, sealed: Array(row.passwordSealed))
            row.displayName = updated.displayName
            row.username = updated.username
            row.smtpURL = updated.smtpURL
            row.imapURL = updated.imapURL
            row.caFile = updated.caFile
            row.allowInsecureTLS = updated.allowInsecureTLS
            row.copyToSent = updated.copyToSent
            row.delaySeconds = updated.delaySeconds
            row.jitterSeconds = updated.jitterSeconds
            row.dailyCap = updated.dailyCap
            row.guardSeconds = updated.guardSeconds
            row.sendingWindow = updated.sendingWindow
            row.provider = updated.provider
            try row.update(db)
        }
    }

    public func allAccounts() async throws -> [Account] {
        try await writer.read { db in try Row.order(Row.Columns.email).fetchAll(db).map { try Self.account($0, db) } }
    }

    public func account(id: Int64) async throws -> Account? {
        try await writer.read { db in try Row.fetchOne(db, key: id).map { try Self.account($0, db) } }
    }

    public func account(email: String) async throws -> Account? {
        try await writer.read { db in try Row.filter(Row.Columns.email == email).fetchOne(db).map { try Self.account($0, db) } }
    }

    private static func account(_ row: Row, _ db: Database) throws -> Account {
        guard let id = row.id else { return try row.account() }
        return try row.account(oauth: try grant(accountID: id, db)?.settings)
    }

    // MARK: OAuth

    public func saveOAuth(_ grant: StoredOAuthGrant, accountID: Int64) async throws {
        try await writer.write { db in
            let s = grant.settings
            try db.execute(
                sql: """
                    INSERT INTO account_oauth (accountID, clientID, clientSecretSealed, authURL, tokenURL, scopes, apiBase, refreshTokenSealed,
                    accessTokenSealed, accessExpiresAt, needsReconnect, connectedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
                    ON CONFLICT(accountID) DO UPDATE SET clientID = excluded.clientID, clientSecretSealed = excluded.clientSecretSealed,
                    authURL = excluded.authURL, tokenURL = excluded.tokenURL, scopes = excluded.scopes, apiBase = excluded.apiBase,
                    refreshTokenSealed = excluded.refreshTokenSealed, accessTokenSealed = excluded.accessTokenSealed,
                    accessExpiresAt = excluded.accessExpiresAt, needsReconnect = NULL, connectedAt = excluded.connectedAt
                    """,
                arguments: [
                    accountID, s.clientID, grant.clientSecretSealed.map { Data($0) }, s.authURL, s.tokenURL, s.scopes.joined(separator: " "), s.apiBase,
                    Data(grant.refreshTokenSealed), grant.accessTokenSealed.map { Data($0) }, grant.accessExpiresAt, Date(),
                ]
            )
        }
    }

    public func oauthGrant(accountID: Int64) async throws -> StoredOAuthGrant? {
        try await writer.read { db in try Self.grant(accountID: accountID, db) }
    }

    private static func grant(accountID: Int64, _ db: Database) throws -> StoredOAuthGrant? {
        guard let row = try GRDB.Row.fetchOne(db, sql: "SELECT * FROM account_oauth WHERE accountID = ?", arguments: [accountID]) else { return nil }
        let scopes = ((row["scopes"] as String?) ?? "").split(separator: " ").map(String.init)
        return StoredOAuthGrant(
            settings: OAuthSettings(
                clientID: row["clientID"], authURL: row["authURL"], tokenURL: row["tokenURL"], scopes: scopes, apiBase: row["apiBase"],
                needsReconnect: row["needsReconnect"]
            ),
            clientSecretSealed: (row["clientSecretSealed"] as Data?).map { Array($0) }, refreshTokenSealed: Array(row["refreshTokenSealed"] as Data),
            accessTokenSealed: (row["accessTokenSealed"] as Data?).map { Array($0) }, accessExpiresAt: row["accessExpiresAt"]
        )
    }

    public func saveAccessToken(sealed: [UInt8], expiresAt: Date, refreshTokenSealed: [UInt8]?, accountID: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE account_oauth SET accessTokenSealed = ?, accessExpiresAt = ?, refreshTokenSealed = COALESCE(?, refreshTokenSealed) WHERE accountID = ?",
                arguments: [Data(sealed), expiresAt, refreshTokenSealed.map { Data($0) }, accountID]
            )
        }
    }

    public func markNeedsReconnect(_ reason: String?, accountID: Int64) async throws {
        try await writer.write { db in
            // A refused grant also voids the cached access token: nothing may keep using it.
            try db.execute(
                sql: "UPDATE account_oauth SET needsReconnect = ?, accessTokenSealed = CASE WHEN ? IS NULL THEN accessTokenSealed ELSE NULL END WHERE accountID = ?",
                arguments: [reason, reason, accountID]
            )
        }
    }

    public func sealedPassword(accountID: Int64) async throws -> [UInt8]? {
        try await writer.read { db in try Row.fetchOne(db, key: accountID).map { Array($0.passwordSealed) } }
    }

    public func deleteAccount(email: String) async throws -> Bool {
        try await writer.write { db in
            guard let row = try Row.filter(Row.Columns.email == email).fetchOne(db) else { return false }
            // Campaigns keep their account (the foreign key refuses): say which ones instead of a constraint error.
            let campaigns = try String.fetchAll(db, sql: "SELECT name FROM campaign WHERE accountID = ? ORDER BY name", arguments: [row.id])
            guard campaigns.isEmpty else { throw StoreError.accountInUse(email: row.email, campaigns: campaigns) }
            return try Row.deleteOne(db, key: row.id)
        }
    }
}

extension StoredAccount: FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "account"

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    enum Columns {
        static let email = Column("email")
    }
}
