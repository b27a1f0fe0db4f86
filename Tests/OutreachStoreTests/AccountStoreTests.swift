import Foundation
import OutreachCore
import OutreachStore
import Testing

struct AccountStoreTests {
    static func account(_ email: String) throws -> Account {
        Account(
            email: try EmailAddress(parsing: email), displayName: "Sales", smtp: try ServerEndpoint(parsing: "smtps://smtp.example.com", as: .smtp),
            imap: try ServerEndpoint(parsing: "imaps://imap.example.com", as: .imap), trust: TLSTrust(caFile: "/etc/ca.pem")
        )
    }

    @Test("accounts persist across reopening the database; addresses are unique regardless of case", arguments: StoreKind.allCases)
    func persistAndReopen(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let stored = try await stores.accounts.insert(try Self.account("Sales@Example.com"), sealedPassword: [1, 2, 3])
            #expect(stored.id != nil)
            await #expect(throws: StoreError.duplicateAccount(email: "sales@example.com")) {
                _ = try await stores.accounts.insert(try Self.account("sales@example.com"), sealedPassword: [4])
            }

            let reopened = try await database.open()
            let found = try #require(try await reopened.accounts.account(email: "SALES@example.com"))
            #expect(found.displayName == "Sales")
            #expect(found.trust.caFile == "/etc/ca.pem")
            #expect(found.smtp.port == 465)
            #expect(try await reopened.accounts.sealedPassword(accountID: try #require(found.id)) == [1, 2, 3])
            #expect(try await reopened.accounts.deleteAccount(email: "sales@example.com"))
            #expect(try await reopened.accounts.allAccounts().isEmpty)
            #expect(try await reopened.accounts.deleteAccount(email: "sales@example.com") == false)
        }
    }

    @Test("a SQLite database is a WAL file, opened only where it exists unless it is being created")
    func sqliteFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("outreach.db").path
        #expect(throws: StoreError.databaseMissing(path: path)) { try SQLiteDatabase(path: path, create: false) }
        let database = try SQLiteDatabase(path: path, create: true)
        _ = try await database.accounts.insert(try Self.account("sales@example.com"), sealedPassword: [1])
        #expect(try await SQLiteDatabase(path: path, create: false).accounts.account(email: "sales@example.com") != nil)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("an update keeps the password and changes every setting; accounts list in address order, case aside", arguments: StoreKind.allCases)
    func updateAndList(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            for email in ["b@example.com", "C@example.com", "a@example.com"] {
                _ = try await stores.accounts.insert(try Self.account(email), sealedPassword: Array(email.utf8))
            }
            #expect(try await stores.accounts.allAccounts().map(\.email.description) == ["a@example.com", "b@example.com", "C@example.com"])

            var changed = try #require(try await stores.accounts.account(email: "b@example.com"))
            changed.displayName = nil
            changed.smtp = try ServerEndpoint(parsing: "smtp://relay.example.com:2525", as: .smtp)
            changed.trust = TLSTrust(caFile: nil, allowInsecure: true)
            changed.pacing = Pacing(delaySeconds: 5.5, jitterSeconds: 0, dailyCap: 250, window: try SendingWindow(parsing: "Mon-Fri 09:00-17:00 UTC"))
            changed.guardSeconds = 60
            try await stores.accounts.update(changed)

            let changedID = try #require(changed.id)
            let found = try #require(try await database.open().accounts.account(id: changedID))
            #expect(found.displayName == nil)
            #expect(found.smtp.url == "smtp://relay.example.com:2525")
            #expect(found.trust.allowInsecure && found.trust.caFile == nil)
            #expect(found.pacing == changed.pacing)
            #expect(found.guardSeconds == 60)
            #expect(try await stores.accounts.sealedPassword(accountID: try #require(found.id)) == Array("b@example.com".utf8))

            await #expect(throws: StoreError.accountNotFound(email: "nobody@example.com")) {
                try await stores.accounts.update(try Self.account("nobody@example.com"))
            }
        }
    }

    @Test("an account a campaign sends from is not removed, and the refusal names the campaigns", arguments: StoreKind.allCases)
    func removeRefusedWhileInUse(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let account = try await stores.accounts.insert(try Self.account("sales@example.com"), sealedPassword: [1])
            for name in ["zeta", "Alpha"] {
                _ = try await stores.campaigns.createCampaign(Campaign(name: name, accountID: try #require(account.id), columns: [], sourceFile: "x.csv"))
            }
            let refusal = StoreError.accountInUse(email: "sales@example.com", campaigns: ["Alpha", "zeta"])
            await #expect(throws: refusal) { _ = try await stores.accounts.deleteAccount(email: "SALES@example.com") }
            #expect(refusal.description.contains("'Alpha', 'zeta'"))
            #expect(try await stores.accounts.account(email: "sales@example.com") != nil)
        }
    }

    @Test("an OAuth grant keeps its sealed secrets byte for byte; a new access token, a rotated refresh token and a reconnect are stored", arguments: StoreKind.allCases)
    func oauthGrant(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            var gmail = try Self.account("sales@gmail.example")
            gmail.provider = .gmailAPI
            let account = try await stores.accounts.insert(gmail, sealedPassword: [])
            let id = try #require(account.id)
            #expect(try await stores.accounts.oauthGrant(accountID: id) == nil)

            // Sealed bytes with zeros and high bytes: nothing may treat them as text.
            let secret: [UInt8] = [0, 255, 1, 0, 128, 7]
            let refresh: [UInt8] = Array(0...255)
            let settings = OAuthSettings(clientID: "client-1", authURL: "https://auth.example/a", tokenURL: "https://auth.example/t", scopes: ["s1", "s2"])
            try await stores.accounts.saveOAuth(StoredOAuthGrant(settings: settings, clientSecretSealed: secret, refreshTokenSealed: refresh), accountID: id)

            let reader = try await database.open()
            var grant = try #require(try await reader.accounts.oauthGrant(accountID: id))
            #expect(grant.settings == settings)
            #expect(grant.clientSecretSealed == secret && grant.refreshTokenSealed == refresh)
            #expect(grant.accessTokenSealed == nil && grant.accessExpiresAt == nil)
            #expect(try await reader.accounts.account(id: id)?.oauth == settings)
            #expect(try await reader.accounts.allAccounts().first?.oauth == settings)

            let expires = Date(timeIntervalSince1970: 1_900_000_000)
            try await stores.accounts.saveAccessToken(sealed: [9, 0, 9], expiresAt: expires, refreshTokenSealed: nil, accountID: id)
            grant = try #require(try await reader.accounts.oauthGrant(accountID: id))
            #expect(grant.accessTokenSealed == [9, 0, 9] && grant.accessExpiresAt == expires && grant.refreshTokenSealed == refresh)
            try await stores.accounts.saveAccessToken(sealed: [8], expiresAt: expires, refreshTokenSealed: [4, 2], accountID: id)
            #expect(try await reader.accounts.oauthGrant(accountID: id)?.refreshTokenSealed == [4, 2])

            try await stores.accounts.markNeedsReconnect("the grant was revoked", accountID: id)
            grant = try #require(try await reader.accounts.oauthGrant(accountID: id))
            #expect(grant.settings.needsReconnect == "the grant was revoked" && grant.accessTokenSealed == nil)
            #expect(try await reader.accounts.account(email: "sales@gmail.example")?.oauth?.needsReconnect == "the grant was revoked")

            // Reconnecting stores the new grant and clears the mark.
            try await stores.accounts.saveOAuth(StoredOAuthGrant(settings: settings, clientSecretSealed: nil, refreshTokenSealed: [5]), accountID: id)
            grant = try #require(try await reader.accounts.oauthGrant(accountID: id))
            #expect(grant.settings.needsReconnect == nil && grant.clientSecretSealed == nil && grant.refreshTokenSealed == [5])
        }
    }
}
