import Foundation
import GRDB
import OutreachCore

/// ``AccountStore`` on SQLite.
public struct SQLiteAccountStore: AccountStore {
    let writer: any DatabaseWriter

    struct Row: Codable, FetchableRecord, MutablePersistableRecord {
        static let databaseTableName = "account"
        var id: Int64?
        var email: String
        var displayName: String?
        var username: String
        var smtpURL: String
        var imapURL: String
        var caFile: String?
        var allowInsecureTLS: Bool
        var copyToSent: Bool
        var passwordSealed: Data
        var createdAt: Date
        var delaySeconds: Double
        var jitterSeconds: Double
        var dailyCap: Int?
        var guardSeconds: Double
        var sendingWindow: String?

        mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

        enum Columns {
            static let email = Column(CodingKeys.email)
        }

        init(_ account: Account, sealed: [UInt8]) {
            id = account.id
            email = account.email.description
            displayName = account.displayName
            username = account.username
            smtpURL = account.smtp.url
            imapURL = account.imap.url
            caFile = account.trust.caFile
            allowInsecureTLS = account.trust.allowInsecure
            copyToSent = account.copyToSent
            passwordSealed = Data(sealed)
            createdAt = Date()
            delaySeconds = account.pacing.delaySeconds
            jitterSeconds = account.pacing.jitterSeconds
            dailyCap = account.pacing.dailyCap
            guardSeconds = account.guardSeconds
            sendingWindow = account.pacing.window?.description
        }

        func account() throws -> Account {
            do {
                return Account(
                    id: id, email: try EmailAddress(parsing: email), displayName: displayName, username: username,
                    smtp: try ServerEndpoint(parsing: smtpURL, as: .smtp), imap: try ServerEndpoint(parsing: imapURL, as: .imap),
                    trust: TLSTrust(caFile: caFile, allowInsecure: allowInsecureTLS), copyToSent: copyToSent,
                    pacing: Pacing(
                        delaySeconds: delaySeconds, jitterSeconds: jitterSeconds, dailyCap: dailyCap,
                        window: try sendingWindow.map { try SendingWindow(parsing: $0) }
                    ),
                    guardSeconds: guardSeconds
                )
            } catch {
                throw StoreError.corrupt("account \(email): \(error)")
            }
        }
    }

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
            try row.update(db)
        }
    }

    public func allAccounts() async throws -> [Account] {
        try await writer.read { db in try Row.order(Row.Columns.email).fetchAll(db).map { try $0.account() } }
    }

    public func account(id: Int64) async throws -> Account? {
        try await writer.read { db in try Row.fetchOne(db, key: id)?.account() }
    }

    public func account(email: String) async throws -> Account? {
        try await writer.read { db in try Row.filter(Row.Columns.email == email).fetchOne(db)?.account() }
    }

    public func sealedPassword(accountID: Int64) async throws -> [UInt8]? {
        try await writer.read { db in try Row.fetchOne(db, key: accountID).map { Array($0.passwordSealed) } }
    }

    public func deleteAccount(email: String) async throws -> Bool {
        try await writer.write { db in try Row.filter(Row.Columns.email == email).deleteAll(db) > 0 }
    }
}
