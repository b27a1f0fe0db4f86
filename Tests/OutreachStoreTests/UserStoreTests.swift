import Foundation
import OutreachCore
import OutreachStore
import Testing

struct UserStoreTests {
    @Test("users are found by address whatever its case, listed in address order, and unique regardless of case", arguments: StoreKind.allCases)
    func usersAndPasswords(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            #expect(try await stores.users.userCount() == 0)
            let created = Date(timeIntervalSince1970: 1_750_000_000)
            let otto = try await stores.users.insert(User(email: "Otto@Example.com", role: .user, createdAt: created), passwordHash: "$2b$hash-1")
            _ = try await stores.users.insert(User(email: "anna@example.com", role: .admin), passwordHash: "$2b$hash-2")
            await #expect(throws: UserStoreError.duplicateUser(email: "otto@example.com")) {
                _ = try await stores.users.insert(User(email: "OTTO@example.com", role: .admin), passwordHash: "x")
            }

            let reader = try await database.open()
            #expect(try await reader.users.userCount() == 2)
            #expect(try await reader.users.allUsers().map(\.email) == ["anna@example.com", "otto@example.com"])
            let found = try #require(try await reader.users.user(email: "OTTO@example.COM"))
            #expect(found == otto && found.createdAt == created && found.role == .user)
            #expect(try await reader.users.user(id: try #require(otto.id)) == otto)
            #expect(try await reader.users.user(email: "nobody@example.com") == nil)

            let (user, hash) = try #require(try await reader.users.passwordHash(email: "otto@example.com"))
            #expect(user == otto && hash == "$2b$hash-1")
            try await stores.users.setPasswordHash(userID: try #require(otto.id), "$2b$hash-3")
            #expect(try await reader.users.passwordHash(email: "otto@example.com")?.1 == "$2b$hash-3")
        }
    }

    @Test("grants and sessions belong to their user and go with them; expired sessions are not found", arguments: StoreKind.allCases)
    func grantsAndSessions(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let user = try #require(try await stores.users.insert(User(email: "anna@example.com", role: .user), passwordHash: "x").id)
            let accounts = [try await stores.addAccount("a@example.com"), try await stores.addAccount("b@example.com")]
            try await stores.users.grant(userID: user, accountID: accounts[0])
            try await stores.users.grant(userID: user, accountID: accounts[0])
            try await stores.users.grant(userID: user, accountID: accounts[1])
            try await stores.users.revoke(userID: user, accountID: accounts[1])
            #expect(try await stores.users.grantedAccountIDs(userID: user) == [accounts[0]])

            let now = Date()
            try await stores.users.createSession(tokenHash: "live", userID: user, csrfToken: "csrf-1", expiresAt: now.addingTimeInterval(3600))
            try await stores.users.createSession(tokenHash: "old", userID: user, csrfToken: "csrf-2", expiresAt: now.addingTimeInterval(-1))
            let reader = try await database.open()
            let (sessionUser, csrf) = try #require(try await reader.users.session(tokenHash: "live", now: now))
            #expect(sessionUser.email == "anna@example.com" && csrf == "csrf-1")
            #expect(try await reader.users.session(tokenHash: "old", now: now) == nil)
            #expect(try await reader.users.session(tokenHash: "live", now: now.addingTimeInterval(7200)) == nil)
            try await stores.users.deleteSession(tokenHash: "live")
            #expect(try await reader.users.session(tokenHash: "live", now: now) == nil)

            // A removed user's campaigns stay, as the admins'.
            try await stores.users.createSession(tokenHash: "again", userID: user, csrfToken: "c", expiresAt: now.addingTimeInterval(3600))
            let campaign = try await stores.campaigns.createCampaign(Campaign(name: "Hers", accountID: accounts[0], columns: [], sourceFile: "", ownerID: user))
            try await stores.users.remove(userID: user)
            #expect(try await reader.users.user(id: user) == nil)
            #expect(try await reader.users.grantedAccountIDs(userID: user).isEmpty)
            #expect(try await reader.users.session(tokenHash: "again", now: now) == nil)
            let campaignID = try #require(campaign.id)
            let kept = try #require(try await reader.campaigns.campaign(id: campaignID))
            #expect(kept.name == "Hers" && kept.ownerID == nil)
        }
    }
}

struct SyncStatusStoreTests {
    @Test("the last sync of each account is kept, its error cleared by a good sync", arguments: StoreKind.allCases)
    func recordAndRead(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let ids = [try await stores.addAccount("a@example.com"), try await stores.addAccount("b@example.com")]
            #expect(try await stores.syncStatus.statuses().isEmpty)
            let first = Date(timeIntervalSince1970: 1_800_000_000)
            try await stores.syncStatus.record(SyncStatus(accountID: ids[0], syncedAt: first, error: "IMAP login failed"))
            try await stores.syncStatus.record(SyncStatus(accountID: ids[1], syncedAt: first, error: nil))
            let reader = try await database.open()
            #expect(try await reader.syncStatus.statuses()[ids[0]] == SyncStatus(accountID: ids[0], syncedAt: first, error: "IMAP login failed"))

            try await stores.syncStatus.record(SyncStatus(accountID: ids[0], syncedAt: first.addingTimeInterval(300), error: nil))
            let statuses = try await reader.syncStatus.statuses()
            #expect(statuses.count == 2)
            #expect(statuses[ids[0]] == SyncStatus(accountID: ids[0], syncedAt: first.addingTimeInterval(300), error: nil))
            #expect(statuses[ids[1]]?.error == nil)
        }
    }
}
