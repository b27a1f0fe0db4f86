import Foundation
import GRDB
import OutreachCore
@testable import OutreachStore
import Testing

struct CampaignStoreTests {
    @Test("prospect fields come back exactly, whatever characters they hold; duplicates name the row that has the address", arguments: StoreKind.allCases)
    func fieldsRoundTrip(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let accountID = try await stores.addAccount("s@example.com")
            let campaign = try await stores.campaigns.createCampaign(
                Campaign(name: "Q4", accountID: accountID, columns: [.init(header: "Notes", key: "notes")], sourceFile: "/x.csv")
            )
            let tricky = "quote \" backslash \\ newline\r\n tab\t bell\u{7} nul-free ünïcödé 🎉 {first} </script>"
            let fields: [ColumnKey: String] = [.email: "a@example.com", "notes": tricky, "z_last": "", .first: "Anna"]
            let prospects = [
                Prospect(campaignID: campaign.id!, row: 1, email: try EmailAddress(parsing: "a@example.com"), fields: fields, selected: true, variant: "A"),
                Prospect(campaignID: campaign.id!, row: 2, email: try EmailAddress(parsing: "A@Example.com"), fields: [:], selected: false, variant: nil),
                // Nothing to escape: the fields are read by the one-pass reader rather than the general JSON decoder.
                Prospect(
                    campaignID: campaign.id!, row: 3, email: try EmailAddress(parsing: "b@example.com"),
                    fields: [.email: "b@example.com", .first: "Zoë 🎉", "notes": "", "company": "Wayne, Ltd {x} : [y]"], selected: false, variant: nil
                ),
            ]
            let duplicates = try await stores.campaigns.insertProspects(prospects)
            #expect(duplicates.map(\.row) == [2] && duplicates.map(\.firstRow) == [1])
            let stored = try #require(try await stores.campaigns.prospect(campaignID: campaign.id!, row: 1))
            #expect(stored.fields == fields)
            #expect(stored.selected && stored.variant == "A")
            #expect(try await stores.campaigns.prospect(campaignID: campaign.id!, row: 3)?.fields == prospects[2].fields)
            #expect(try await stores.campaigns.prospect(campaignID: campaign.id!, row: 3)?.variant == nil)
            await #expect(throws: StoreError.duplicateCampaign(name: "q4")) {
                _ = try await stores.campaigns.createCampaign(Campaign(name: "q4", accountID: accountID, columns: [], sourceFile: ""))
            }
        }
    }

    @Test("a campaign reads back as created; prospects page in file order, by address or id; a later batch's duplicate names the earlier row", arguments: StoreKind.allCases)
    func campaignsAndPaging(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let accountID = try await stores.addAccount("s@example.com")
            let columns: [Campaign.Column] = [.init(header: "E-Mail", key: .email), .init(header: "Vorname", key: .first)]
            let created = Date(timeIntervalSince1970: 1_800_000_000)
            let campaign = try await stores.campaigns.createCampaign(
                Campaign(name: "Spring Leads", accountID: accountID, columns: columns, sourceFile: "/data/spring.csv", createdAt: created)
            )
            let later = try await stores.campaigns.createCampaign(
                Campaign(name: "Autumn", accountID: accountID, columns: [], sourceFile: "a.csv", createdAt: created.addingTimeInterval(60))
            )
            let reader = try await database.open()
            let found = try #require(try await reader.campaigns.campaign(named: "spring leads"))
            #expect(found.id == campaign.id && found.columns == columns && found.sourceFile == "/data/spring.csv" && found.createdAt == created)
            #expect(found.ownerID == nil && found.accountID == accountID)
            #expect(try await reader.campaigns.campaign(id: try #require(later.id))?.name == "Autumn")
            #expect(try await reader.campaigns.allCampaigns().map(\.name) == ["Spring Leads", "Autumn"])
            #expect(try await reader.campaigns.campaign(named: "Winter") == nil)

            let id = try #require(campaign.id)
            var batch: [Prospect] = []
            for row in 1...25 {
                batch.append(Prospect(campaignID: id, row: row, email: try EmailAddress(parsing: "p\(row)@example.com"), fields: [.first: "P\(row)"], selected: row % 2 == 0, variant: nil))
            }
            #expect(try await stores.campaigns.insertProspects(Array(batch[0..<10])).isEmpty)
            #expect(try await stores.campaigns.insertProspects(Array(batch[10...])).isEmpty)
            let again = [Prospect(campaignID: id, row: 26, email: try EmailAddress(parsing: "P7@Example.com"), fields: [:], selected: true, variant: nil)]
            let duplicates = try await stores.campaigns.insertProspects(again)
            #expect(duplicates.map(\.row) == [26] && duplicates.map(\.email) == ["P7@Example.com"] && duplicates.map(\.firstRow) == [7])
            #expect(try await reader.campaigns.prospectCount(campaignID: id) == 25)

            var rows: [Int] = []
            try await reader.campaigns.forEachPage(campaignID: id, pageSize: 10) { page in
                #expect(page.count <= 10)
                rows += page.map(\.row)
            }
            #expect(rows == Array(1...25))
            let p7 = try #require(try await reader.campaigns.prospect(campaignID: id, email: "P7@EXAMPLE.com"))
            #expect(p7.row == 7 && p7.fields[.first] == "P7")
            #expect(try await reader.campaigns.prospect(id: try #require(p7.id))?.email.normalized == "p7@example.com")

            try await stores.campaigns.setSelected(campaignID: id, rows: [3, 4])
            var selected: [Int] = []
            try await reader.campaigns.forEachProspect(campaignID: id) { if $0.selected { selected.append($0.row) } }
            #expect(selected == [3, 4])

            try await stores.campaigns.deleteCampaign(id: id)
            #expect(try await reader.campaigns.campaign(id: id) == nil)
            #expect(try await reader.campaigns.prospectCount(campaignID: id) == 0)
            #expect(try await reader.campaigns.allCampaigns().map(\.name) == ["Autumn"])
        }
    }

    @Test("campaign names are unique per owner: another user's name is free, the same owner's is refused whatever its case", arguments: StoreKind.allCases)
    func namesPerOwner(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let accountID = try await stores.addAccount("s@example.com")
            let anna = try #require(try await stores.users.insert(User(email: "anna@example.com", role: .user), passwordHash: "x").id)
            let otto = try #require(try await stores.users.insert(User(email: "otto@example.com", role: .user), passwordHash: "x").id)
            let first = try await stores.campaigns.createCampaign(Campaign(name: "Q4 Leads", accountID: accountID, columns: [], sourceFile: "", ownerID: anna))
            await #expect(throws: StoreError.duplicateCampaign(name: "Q4 LEADS")) {
                _ = try await stores.campaigns.createCampaign(Campaign(name: "Q4 LEADS", accountID: accountID, columns: [], sourceFile: "", ownerID: anna))
            }
            let other = try await stores.campaigns.createCampaign(Campaign(name: "q4 leads", accountID: accountID, columns: [], sourceFile: "", ownerID: otto))
            let otherID = try #require(other.id)
            #expect(otherID > first.id!)
            let admins = try await stores.campaigns.createCampaign(Campaign(name: "Q4 Leads", accountID: accountID, columns: [], sourceFile: ""))
            #expect(admins.ownerID == nil)
            // The lookup the CLI uses to ask for '#ID' when several owners share a name.
            #expect(try await stores.campaigns.campaigns(named: "Q4 LEADS").map(\.ownerID) == [anna, otto, nil])
        }
    }

    @Test("an address with an invisible character stored by an older import still loads, so its campaign stays readable")
    func olderInvisibleAddressLoads() async throws {
        let (database, account) = try await Self.databaseWithAccount()
        let campaign = try await database.campaigns.createCampaign(Campaign(name: "Old", accountID: try #require(account.id), columns: [], sourceFile: "/x.csv"))
        let old = EmailAddress(localPart: "p1", domain: "pros\u{FEFF}pects.test")
        _ = try await database.campaigns.insertProspects([
            Prospect(campaignID: campaign.id!, row: 1, email: old, fields: [.email: old.description], selected: false, variant: nil)
        ])
        let stored = try #require(try await database.campaigns.prospect(campaignID: campaign.id!, row: 1))
        #expect(stored.email == old)
    }

    /// An in-memory database with one sending account.
    static func databaseWithAccount() async throws -> (SQLiteDatabase, Account) {
        let database = try SQLiteDatabase.inMemory()
        let account = try await database.accounts.insert(
            Account(
                email: try EmailAddress(parsing: "s@example.com"), smtp: try ServerEndpoint(parsing: "smtps://h", as: .smtp),
                imap: try ServerEndpoint(parsing: "imaps://h", as: .imap)
            ), sealedPassword: [1]
        )
        return (database, account)
    }
}

/// Campaign names are unique per owner since v9; a database from before keeps every campaign, prospect and job.
struct CampaignNamesPerOwnerTests {
    @Test("v9 keeps the campaigns, prospects and jobs of an older database; two users may then use the same name, one user not twice")
    func migrationKeepsRowsAndScopesNamesToOwners() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-v8-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteDatabase.migrator.migrate(queue, upTo: "v8-gmail-oauth")
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO account (id, email, username, smtpURL, imapURL, passwordSealed, createdAt) VALUES (1, 's@example.com', 's', 'smtps://h', 'imaps://h', x'01', '2026-01-01 00:00:00.000')")
                try db.execute(sql: "INSERT INTO user (id, email, passwordHash, role, createdAt) VALUES (7, 'anna@example.com', 'x', 'user', '2026-01-01 00:00:00.000'), (8, 'otto@example.com', 'x', 'user', '2026-01-01 00:00:00.000')")
                try db.execute(sql: "INSERT INTO campaign (id, name, accountID, columns, sourceFile, createdAt, ownerID) VALUES (5, 'Q4 Leads', 1, '[]', 'q4.csv', '2026-01-01 00:00:00.000', 7)")
                try db.execute(sql: "INSERT INTO prospect (campaignID, row, email, fields, selected) VALUES (5, 1, 'p1@example.com', '{}', 1), (5, 2, 'p2@example.com', '{}', 0)")
                try db.execute(
                    sql: "INSERT INTO job (campaignID, accountID, round, mode, force, template, templateName, state, runAt, createdAt, counters, ownerID) VALUES (5, 1, 1, 'send-all', 0, 'Subject: x\n\nHi', 't', 'pending', '2099-01-01 00:00:00.000', '2026-01-01 00:00:00.000', '{\"total\":2,\"sent\":0,\"drafted\":0,\"skipped\":0,\"failed\":0,\"held\":0}', 7)"
                )
            }
        }
        let database = try SQLiteDatabase(path: path, create: false)
        let kept = try #require(try await database.campaigns.campaign(id: 5))
        #expect(kept.name == "Q4 Leads" && kept.ownerID == 7 && kept.sourceFile == "q4.csv")
        #expect(try await database.campaigns.prospectCount(campaignID: 5) == 2)
        #expect(try await database.jobs.jobs(states: nil, ownerID: 7, limit: 10).map(\.campaignID) == [5])

        // Another user's campaign of that name is neither refused nor revealed; the same owner twice is refused.
        let other = try await database.campaigns.createCampaign(Campaign(name: "q4 leads", accountID: 1, columns: [], sourceFile: "", ownerID: 8))
        #expect(other.id != nil && other.id! > 5)
        await #expect(throws: StoreError.duplicateCampaign(name: "Q4 LEADS")) {
            _ = try await database.campaigns.createCampaign(Campaign(name: "Q4 LEADS", accountID: 1, columns: [], sourceFile: "", ownerID: 7))
        }
        #expect(try await database.campaigns.campaigns(named: "Q4 Leads").map(\.id) == [5, other.id])
    }
}
