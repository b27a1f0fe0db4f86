import Foundation
import GRDB
import Logging
import OutreachCore
@testable import OutreachStore
import PostgresNIO
import PostgresTestSupport
import Testing

/// `db copy`: a SQLite installation with a row in every table lands in PostgreSQL value for value. Each side is read
/// back on its own terms (SQLite's rows through GRDB, PostgreSQL's as `to_jsonb`) and brought to one neutral form,
/// so the comparison does not trust the conversion it checks.
struct DatabaseCopyTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Every table of a small installation, filled through the stores as the application fills them.
    static func populate(_ database: SQLiteDatabase) async throws {
        let account = try await database.accounts.insert(
            Account(email: try EmailAddress(parsing: "sales@example.com"), smtp: try ServerEndpoint(parsing: "smtps://h", as: .smtp), imap: try ServerEndpoint(parsing: "imaps://h", as: .imap)),
            sealedPassword: [0, 1, 2, 250, 255]
        )
        let gmail = try await database.accounts.insert(
            Account(email: try EmailAddress(parsing: "g@example.com"), smtp: try ServerEndpoint(parsing: "smtps://h", as: .smtp), imap: try ServerEndpoint(parsing: "imaps://h", as: .imap)),
            sealedPassword: [9]
        )
        try await database.accounts.saveOAuth(
            StoredOAuthGrant(
                settings: OAuthSettings(clientID: "client-1", authURL: "https://auth.example/a", tokenURL: "https://auth.example/t", scopes: ["s1", "s2"]),
                clientSecretSealed: [7, 7], refreshTokenSealed: [8, 8, 8], accessTokenSealed: [6], accessExpiresAt: Date(timeIntervalSince1970: 1_900_000_000.25)
            ), accountID: gmail.id!
        )
        let user = try await database.users.insert(User(email: "Op@Example.com", role: .user), passwordHash: "$2b$12$hash")
        try await database.users.grant(userID: user.id!, accountID: account.id!)
        try await database.users.createSession(tokenHash: "t0k3n", userID: user.id!, csrfToken: "c5rf", expiresAt: Date(timeIntervalSince1970: 1_900_000_100))
        let campaign = try await database.campaigns.createCampaign(
            Campaign(name: "Q4", accountID: account.id!, columns: [.init(header: "E-Mail", key: .email)], sourceFile: "/q4.csv", ownerID: user.id)
        )
        _ = try await database.campaigns.insertProspects((1...3).map { row in
            Prospect(campaignID: campaign.id!, row: row, email: try! EmailAddress(parsing: "p\(row)@example.com"), fields: [.first: "Zoë \(row) \"q\""], selected: row != 2, variant: row == 1 ? "A" : nil)
        })
        let prospects = try await database.campaigns.prospects(campaignID: campaign.id!, afterRow: 0, limit: 10)
        let job = try await database.jobs.create(
            Job(campaignID: campaign.id!, accountID: account.id!, round: 1, spec: .init(mode: .sendAll, template: "Subject: x\n\ny", templateName: "t.md"), runAt: Date(), ownerID: user.id),
            guardSeconds: 0, meanPauseSeconds: 0
        )
        let claim = try #require(try await database.jobs.claim(holder: "host/1/2", now: Date(), leaseSeconds: 60, graceSeconds: 3600, only: job.id, holderAlive: { _ in true }))
        _ = try await database.deliveries.insert(
            Delivery(prospectID: prospects[0].id!, round: 1, state: .sent, action: .send, messageID: "m1@example.com", threadKey: "m1@example.com", replyCode: 250,
                     replyText: "2.0.0 Ok: queued", sentAt: Date(timeIntervalSince1970: 1_800_000_000.123), jobID: job.id, attempts: 1),
            fence: claim.fence
        )
        _ = try await database.deliveries.insert(Delivery(prospectID: prospects[1].id!, round: 1, state: .skipped, action: .skip, jobID: job.id), fence: claim.fence)
        try await database.jobs.finish(claim, state: .paused, counters: Job.Counters(total: 3, sent: 1, skipped: 1), note: "paused by the operator", runAt: nil, now: Date())
        try await database.jobs.heartbeat(holder: "host/1/2", now: Date())
        _ = try await database.threads.ingest([
            IndexedMessage(messageID: "m1@example.com", from: try EmailAddress(parsing: "sales@example.com"), to: [try EmailAddress(parsing: "p1@example.com")],
                           subject: "Hello", date: Date(timeIntervalSince1970: 1_800_000_000), direction: .ours, folder: "Sent"),
            IndexedMessage(messageID: "r1@example.com", references: ["m1@example.com"], from: try EmailAddress(parsing: "p1@example.com"),
                           to: [try EmailAddress(parsing: "sales@example.com")], subject: "Re: Hello", date: Date(timeIntervalSince1970: 1_800_000_500), direction: .theirs, folder: "INBOX"),
            IndexedMessage(messageID: "dsn@mx.example", from: try EmailAddress(parsing: "MAILER-DAEMON@mx.example"), subject: "Undelivered", date: Date(), direction: .theirs,
                           folder: "INBOX", classification: "bounce_hard", failedRecipients: ["p2@example.com"]),
        ], accountID: account.id!)
        try await database.threads.saveMailboxState(MailboxState(accountID: account.id!, folder: "INBOX", uidValidity: 4_000_000_000, lastUID: 17, highestModSeq: 1 << 40))
        try await database.syncStatus.record(SyncStatus(accountID: account.id!, syncedAt: Date(), error: "IMAP said: try later"))
    }

    @Test("every table lands in PostgreSQL with every value; a second copy into the same database is refused and changes nothing")
    func everyTableEveryValue() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let source = try SQLiteDatabase(path: path, create: true)
        try await Self.populate(source)
        try await PostgresServer.withServer { server in
            let url = try await server.createDatabase("copy_target")
            let counts = try await DatabaseCopy.copy(from: source, to: url, logger: Self.quiet)
            let tables = try await source.writer.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' ORDER BY name")
            }
            #expect(Set(counts.map(\.table)) == Set(tables), "tables copied: \(counts.map(\.table))")
            let target = try await OutreachStore.PostgresDatabase.open(url: url, logger: Self.quiet)
            do {
                for table in tables {
                    let columns = try await source.writer.read { db in try db.columns(in: table).map(\.name).sorted() }
                    let expected = try await Self.sqliteRows(table, source)
                    let found = try await Self.postgresRows(table, columns: columns, target)
                    #expect(!expected.isEmpty, "\(table) is empty in the source: the test would prove nothing for it")
                    #expect(found == expected, "\(table) differs:\nSQLite:     \(expected)\nPostgreSQL: \(found)")
                    #expect(counts.first { $0.table == table }?.rows == expected.count)
                }
                await #expect(throws: StoreError.self) { _ = try await DatabaseCopy.copy(from: source, to: url, logger: Self.quiet) }
                #expect(try await Self.postgresRows("account", columns: ["id"], target).count == 2, "the refused copy added nothing")
                // New rows take ids after the copied ones.
                let third = try await target.accounts.insert(
                    Account(email: try EmailAddress(parsing: "new@example.com"), smtp: try ServerEndpoint(parsing: "smtps://h", as: .smtp), imap: try ServerEndpoint(parsing: "imaps://h", as: .imap)),
                    sealedPassword: [1]
                )
                #expect(third.id == 3)
            } catch {
                await target.shutdown()
                throw error
            }
            await target.shutdown()
        }
    }

    /// A value in a form both databases can be brought to: dates as epoch milliseconds, booleans and integers as
    /// integers, blobs as hex; rows sorted.
    static func neutral(_ value: Any?, column: String, dateColumns: Set<String>) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        if dateColumns.contains(column) {
            if let text = value as? String {
                if let date = StoredDate.parse(text) ?? Self.iso(text) { return "t\(Int64((date.timeIntervalSince1970 * 1000).rounded()))" }
                return "bad date \(text)"
            }
        }
        switch value {
        case let flag as Bool: return flag ? "1" : "0"
        case let number as Int64: return String(number)
        case let number as Int: return String(number)
        case let number as Double: return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case let number as NSNumber: return number.stringValue
        case let data as Data: return "x" + data.map { String(format: "%02x", $0) }.joined()
        case let text as String where text.hasPrefix("\\x"): return "x" + text.dropFirst(2)
        default: return "\(value)"
        }
    }

    static func iso(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func sqliteRows(_ table: String, _ database: SQLiteDatabase) async throws -> [String] {
        try await database.writer.read { db in
            let columns = try db.columns(in: table).sorted { $0.name < $1.name }
            let dates = Set(columns.filter { $0.type.uppercased() == "DATETIME" }.map(\.name))
            return try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map { row in
                columns.map { column -> String in
                    let value = row[column.name] as DatabaseValue
                    let raw: Any? = switch value.storage {
                    case .null: nil
                    case .int64(let n): n
                    case .double(let x): x
                    case .string(let s): s
                    case .blob(let d): d
                    }
                    return "\(column.name)=\(neutral(raw, column: column.name, dateColumns: dates))"
                }.joined(separator: " ")
            }.sorted()
        }
    }

    static func postgresRows(_ table: String, columns order: [String], _ database: OutreachStore.PostgresDatabase) async throws -> [String] {
        let dates = Set(try await database.connection.rows(
            "SELECT column_name::text AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table) AND data_type = 'timestamp with time zone'"
        ) { try $0.get("c", as: String.self) })
        let json = try await database.connection.rows(PostgresQuery(unsafeSQL: "SELECT to_jsonb(x)::text AS j FROM \"\(table)\" x")) { try $0.get("j", as: String.self) }
        return try json.map { text in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            return order.map { "\($0)=\(neutral(object[$0], column: $0, dateColumns: dates))" }.joined(separator: " ")
        }.sorted()
    }
}
