import Foundation
import OutreachCore
import OutreachStore
import Testing

struct AccountStoreTests {
    func account(_ email: String) throws -> Account {
        Account(
            email: try EmailAddress(parsing: email), displayName: "Sales", smtp: try ServerEndpoint(parsing: "smtps://smtp.example.com", as: .smtp),
            imap: try ServerEndpoint(parsing: "imaps://imap.example.com", as: .imap), trust: TLSTrust(caFile: "/etc/ca.pem")
        )
    }

    @Test("accounts persist across reopening a WAL database; addresses are unique regardless of case")
    func persistAndReopen() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("outreach.db").path
        #expect(throws: StoreError.databaseMissing(path: path)) { try SQLiteDatabase(path: path, create: false) }

        let database = try SQLiteDatabase(path: path, create: true)
        let stored = try await database.accounts.insert(try account("Sales@Example.com"), sealedPassword: [1, 2, 3])
        #expect(stored.id != nil)
        await #expect(throws: StoreError.duplicateAccount(email: "sales@example.com")) {
            _ = try await database.accounts.insert(try account("sales@example.com"), sealedPassword: [4])
        }

        let reopened = try SQLiteDatabase(path: path, create: false)
        let found = try #require(try await reopened.accounts.account(email: "SALES@example.com"))
        #expect(found.displayName == "Sales")
        #expect(found.trust.caFile == "/etc/ca.pem")
        #expect(found.smtp.port == 465)
        #expect(try await reopened.accounts.sealedPassword(accountID: try #require(found.id)) == [1, 2, 3])
        #expect(try await reopened.accounts.deleteAccount(email: "sales@example.com"))
        #expect(try await reopened.accounts.allAccounts().isEmpty)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
