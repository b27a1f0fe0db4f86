import Foundation
import OutreachCore
import PostgresNIO

/// ``AccountStore`` on PostgreSQL. Sealed secrets are `bytea`; addresses compare case-insensitively, as SQLite's
/// `COLLATE NOCASE` column does.
public struct PostgresAccountStore: AccountStore {
    let db: PostgresStatements

    /// An account with its OAuth settings, if it has a grant, in one query.
    static let select = #"""
        SELECT a.*, o."clientID", o."authURL", o."tokenURL", o.scopes, o."apiBase", o."needsReconnect"
        FROM account a LEFT JOIN account_oauth o ON o."accountID" = a.id
        """#

    static func account(_ row: PostgresRandomAccessRow) throws -> Account {
        let stored = StoredAccount(
            id: try row.get("id"), email: try row.get("email"), displayName: try row.get("displayName"), username: try row.get("username"),
            smtpURL: try row.get("smtpURL"), imapURL: try row.get("imapURL"), caFile: try row.get("caFile"),
            allowInsecureTLS: try row.get("allowInsecureTLS"), copyToSent: try row.get("copyToSent"), passwordSealed: Data(),
            createdAt: try row.get("createdAt"), delaySeconds: try row.get("delaySeconds"), jitterSeconds: try row.get("jitterSeconds"),
            dailyCap: try row.get("dailyCap"), guardSeconds: try row.get("guardSeconds"), sendingWindow: try row.get("sendingWindow"),
            provider: try row.get("provider")
        )
        let oauth = try row.get("clientID", as: String?.self).map { clientID in
            OAuthSettings(
                clientID: clientID, authURL: try row.get("authURL"), tokenURL: try row.get("tokenURL"),
                scopes: try row.get("scopes", as: String.self).split(separator: " ").map(String.init), apiBase: try row.get("apiBase"),
                needsReconnect: try row.get("needsReconnect")
            )
        }
        return try stored.account(oauth: oauth)
    }

    public func insert(_ account: Account, sealedPassword: [UInt8]) async throws -> Account {
        var row = StoredAccount(account, sealed: sealedPassword)
        // ON CONFLICT: two processes adding the same address at once get one account and one refusal.
        let id = try await db.first(
            #"""
            INSERT INTO account (email, "displayName", username, "smtpURL", "imapURL", "caFile", "allowInsecureTLS", "copyToSent", "passwordSealed",
                "createdAt", "delaySeconds", "jitterSeconds", "dailyCap", "guardSeconds", "sendingWindow", provider)
            VALUES (\#(row.email), \#(row.displayName), \#(row.username), \#(row.smtpURL), \#(row.imapURL), \#(row.caFile), \#(row.allowInsecureTLS),
                \#(row.copyToSent), \#(row.passwordSealed), \#(row.createdAt), \#(row.delaySeconds), \#(row.jitterSeconds), \#(row.dailyCap),
                \#(row.guardSeconds), \#(row.sendingWindow), \#(row.provider))
            ON CONFLICT (lower(email)) DO NOTHING RETURNING id
            """#
        ) { try $0.get("id", as: Int64.self) }
        guard let id else { throw StoreError.duplicateAccount(email: account.email.description) }
        row.id = id
        return try row.account()
    }

    public func update(_ account: Account) async throws {
        let row = StoredAccount(account, sealed: [])
        let updated = try await db.first(
            #"""
            UPDATE account SET "displayName" = \#(row.displayName), username = \#(row.username), "smtpURL" = \#(row.smtpURL),
                "imapURL" = \#(row.imapURL), "caFile" = \#(row.caFile), "allowInsecureTLS" = \#(row.allowInsecureTLS),
                "copyToSent" = \#(row.copyToSent), "delaySeconds" = \#(row.delaySeconds), "jitterSeconds" = \#(row.jitterSeconds),
                "dailyCap" = \#(row.dailyCap), "guardSeconds" = \#(row.guardSeconds), "sendingWindow" = \#(row.sendingWindow),
                provider = \#(row.provider)
            WHERE lower(email) = lower(\#(row.email)) RETURNING id
            """#
        ) { try $0.get("id", as: Int64.self) }
        guard updated != nil else { throw StoreError.accountNotFound(email: account.email.description) }
    }

    public func allAccounts() async throws -> [Account] {
        // lower(…) in byte order: the order SQLite's NOCASE column gives, whatever the database's collation.
        try await db.rows(#"\#(unescaped: Self.select) ORDER BY lower(a.email) COLLATE "C""#, Self.account)
    }

    public func account(email: String) async throws -> Account? {
        try await db.first(#"\#(unescaped: Self.select) WHERE lower(a.email) = lower(\#(email))"#, Self.account)
    }

    public func account(id: Int64) async throws -> Account? {
        try await db.first(#"\#(unescaped: Self.select) WHERE a.id = \#(id)"#, Self.account)
    }

    public func sealedPassword(accountID: Int64) async throws -> [UInt8]? {
        try await db.first(#"SELECT "passwordSealed" FROM account WHERE id = \#(accountID)"#) { try $0.bytes("passwordSealed") } ?? nil
    }

    public func deleteAccount(email: String) async throws -> Bool {
        try await db.transaction { db in
            // FOR UPDATE: a campaign created for this account meanwhile waits for this transaction (its foreign key
            // check locks the row), so the campaigns read below are all there are.
            guard let (id, stored) = try await db.first(#"SELECT id, email FROM account WHERE lower(email) = lower(\#(email)) FOR UPDATE"#, {
                (try $0.get("id", as: Int64.self), try $0.get("email", as: String.self))
            }) else { return false }
            // Campaigns keep their account (the foreign key refuses): say which ones instead of a constraint error.
            let campaigns = try await db.rows(#"SELECT name FROM campaign WHERE "accountID" = \#(id) ORDER BY lower(name) COLLATE "C""#) {
                try $0.get("name", as: String.self)
            }
            guard campaigns.isEmpty else { throw StoreError.accountInUse(email: stored, campaigns: campaigns) }
            try await db.execute("DELETE FROM account WHERE id = \(id)")
            return true
        }
    }

    // MARK: OAuth

    public func saveOAuth(_ grant: StoredOAuthGrant, accountID: Int64) async throws {
        let s = grant.settings
        try await db.execute(
            #"""
            INSERT INTO account_oauth ("accountID", "clientID", "clientSecretSealed", "authURL", "tokenURL", scopes, "apiBase", "refreshTokenSealed",
                "accessTokenSealed", "accessExpiresAt", "needsReconnect", "connectedAt")
            VALUES (\#(accountID), \#(s.clientID), \#(grant.clientSecretSealed.map { Data($0) })::bytea, \#(s.authURL), \#(s.tokenURL),
                \#(s.scopes.joined(separator: " ")), \#(s.apiBase)::text, \#(Data(grant.refreshTokenSealed)), \#(grant.accessTokenSealed.map { Data($0) })::bytea,
                \#(grant.accessExpiresAt)::timestamptz, NULL, \#(Date()))
            ON CONFLICT ("accountID") DO UPDATE SET "clientID" = excluded."clientID", "clientSecretSealed" = excluded."clientSecretSealed",
                "authURL" = excluded."authURL", "tokenURL" = excluded."tokenURL", scopes = excluded.scopes, "apiBase" = excluded."apiBase",
                "refreshTokenSealed" = excluded."refreshTokenSealed", "accessTokenSealed" = excluded."accessTokenSealed",
                "accessExpiresAt" = excluded."accessExpiresAt", "needsReconnect" = NULL, "connectedAt" = excluded."connectedAt"
            """#
        )
    }

    public func oauthGrant(accountID: Int64) async throws -> StoredOAuthGrant? {
        try await db.first(#"SELECT * FROM account_oauth WHERE "accountID" = \#(accountID)"#) { row in
            StoredOAuthGrant(
                settings: OAuthSettings(
                    clientID: try row.get("clientID"), authURL: try row.get("authURL"), tokenURL: try row.get("tokenURL"),
                    scopes: try row.get("scopes", as: String.self).split(separator: " ").map(String.init), apiBase: try row.get("apiBase"),
                    needsReconnect: try row.get("needsReconnect")
                ),
                clientSecretSealed: try row.bytes("clientSecretSealed"), refreshTokenSealed: try row.bytes("refreshTokenSealed") ?? [],
                accessTokenSealed: try row.bytes("accessTokenSealed"), accessExpiresAt: try row.get("accessExpiresAt")
            )
        }
    }

    public func saveAccessToken(sealed: [UInt8], expiresAt: Date, refreshTokenSealed: [UInt8]?, accountID: Int64) async throws {
        try await db.execute(
            #"""
            UPDATE account_oauth SET "accessTokenSealed" = \#(Data(sealed)), "accessExpiresAt" = \#(expiresAt),
                "refreshTokenSealed" = COALESCE(\#(refreshTokenSealed.map { Data($0) })::bytea, "refreshTokenSealed")
            WHERE "accountID" = \#(accountID)
            """#
        )
    }

    public func markNeedsReconnect(_ reason: String?, accountID: Int64) async throws {
        // A refused grant also voids the cached access token: nothing may keep using it.
        try await db.execute(
            #"""
            UPDATE account_oauth SET "needsReconnect" = \#(reason)::text,
                "accessTokenSealed" = CASE WHEN \#(reason)::text IS NULL THEN "accessTokenSealed" ELSE NULL END
            WHERE "accountID" = \#(accountID)
            """#
        )
    }
}
