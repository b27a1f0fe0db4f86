import Foundation
import OutreachCore
import OutreachStore
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
            // SQLite's names become unique per owner with migration v9 on another branch; until that is merged, the
            // second owner's campaign is refused there. The known issue fails this test once it is no longer seen.
            try await withKnownIssue("SQLite: campaign names per owner arrive with migration v9 (another branch)") {
                let other = try await stores.campaigns.createCampaign(Campaign(name: "q4 leads", accountID: accountID, columns: [], sourceFile: "", ownerID: otto))
                let otherID = try #require(other.id)
                #expect(otherID > first.id!)
                let admins = try await stores.campaigns.createCampaign(Campaign(name: "Q4 Leads", accountID: accountID, columns: [], sourceFile: ""))
                #expect(try await stores.campaigns.campaign(named: "Q4 leads")?.id == first.id)
                #expect(admins.ownerID == nil)
            } when: {
                kind == .sqlite
            }
            if kind == .postgres {
                // The lookup the CLI will use to ask for '#ID' when several owners share a name (SQLite's arrives with v9).
                let named = try await database.openPostgres().campaigns.campaigns(named: "Q4 LEADS")
                #expect(named.map(\.ownerID) == [anna, otto, nil])
            }
        }
    }
}
