import Foundation
import OutreachCore
import OutreachStore
import Testing

struct CampaignStoreTests {
    @Test("prospect fields come back exactly, whatever characters they hold; duplicates name the row that has the address")
    func fieldsRoundTrip() async throws {
        let (database, account) = try await Self.databaseWithAccount()
        let campaign = try await database.campaigns.createCampaign(
            Campaign(name: "Q4", accountID: try #require(account.id), columns: [.init(header: "Notes", key: "notes")], sourceFile: "/x.csv")
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
        let duplicates = try await database.campaigns.insertProspects(prospects)
        #expect(duplicates.map(\.row) == [2] && duplicates.map(\.firstRow) == [1])
        let stored = try #require(try await database.campaigns.prospect(campaignID: campaign.id!, row: 1))
        #expect(stored.fields == fields)
        #expect(stored.selected && stored.variant == "A")
        #expect(try await database.campaigns.prospect(campaignID: campaign.id!, row: 3)?.fields == prospects[2].fields)
        await #expect(throws: StoreError.duplicateCampaign(name: "q4")) {
            _ = try await database.campaigns.createCampaign(Campaign(name: "q4", accountID: account.id!, columns: [], sourceFile: ""))
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
