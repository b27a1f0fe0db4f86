import Foundation
import GRDB
import OutreachCore

/// ``DeliveryLedger`` on SQLite.
public struct SQLiteDeliveryLedger: DeliveryLedger {
    let writer: any DatabaseWriter

    struct DeliveryRow: Codable, FetchableRecord, MutablePersistableRecord {
        static let databaseTableName = "delivery"
        var id: Int64?
        var prospectID: Int64
        var round: Int
        var state: String
        var action: String
        var messageID: String?
        var threadKey: String?
        var replyCode: Int?
        var replyText: String?
        var updatedAt: Date
        var sentAt: Date?
        var jobID: Int64?
        var attempts: Int
        var retryAt: Date?
        var gmailMessageID: String?
        var gmailThreadID: String?

        mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

        init(_ d: Delivery) {
            id = d.id
            prospectID = d.prospectID
            round = d.round
            state = d.state.rawValue
            action = d.action.rawValue
            messageID = d.messageID
            threadKey = d.threadKey
            replyCode = d.replyCode
            replyText = d.replyText
            updatedAt = d.updatedAt
            sentAt = d.sentAt
            jobID = d.jobID
            attempts = d.attempts
            retryAt = d.retryAt
            gmailMessageID = d.gmailMessageID
            gmailThreadID = d.gmailThreadID
        }

        func delivery() throws -> Delivery {
            guard let state = Delivery.State(rawValue: state), let action = RoundMode.Action(rawValue: action) else {
                throw StoreError.corrupt("delivery \(id ?? 0) has state '\(state)' / action '\(action)'")
            }
            return Delivery(
                id: id, prospectID: prospectID, round: round, state: state, action: action, messageID: messageID, threadKey: threadKey,
                replyCode: replyCode, replyText: replyText, updatedAt: updatedAt, sentAt: sentAt, jobID: jobID, attempts: attempts, retryAt: retryAt,
                gmailMessageID: gmailMessageID, gmailThreadID: gmailThreadID
            )
        }
    }

    public func deliveries(campaignID: Int64, round: Int) async throws -> [Int64: Delivery] {
        try await writer.read { db in
            let rows = try DeliveryRow.fetchAll(
                db, sql: "SELECT delivery.* FROM delivery JOIN prospect ON prospect.id = delivery.prospectID WHERE prospect.campaignID = ? AND delivery.round = ?",
                arguments: [campaignID, round]
            )
            var byProspect: [Int64: Delivery] = [:]
            for row in rows { byProspect[row.prospectID] = try row.delivery() }
            return byProspect
        }
    }

    public func deliveries(campaignID: Int64) async throws -> [Delivery] {
        try await writer.read { db in
            try DeliveryRow.fetchAll(
                db, sql: "SELECT delivery.* FROM delivery JOIN prospect ON prospect.id = delivery.prospectID WHERE prospect.campaignID = ? ORDER BY delivery.round, prospect.row",
                arguments: [campaignID]
            ).map { try $0.delivery() }
        }
    }

    // Insert and update run once or twice per message sent; plain cached statements instead of the Codable record
    // path keep them from being the send loop's largest cost.
    public func insert(_ delivery: Delivery, fence: LeaseFence?) async throws -> Delivery {
        try await writer.write { db in
            try Self.check(fence, db)
            return try Self.insert(delivery, db)
        }
    }

    public func update(_ delivery: Delivery, fence: LeaseFence?) async throws {
        guard delivery.id != nil else { throw StoreError.corrupt("a delivery without id cannot be updated") }
        try await writer.write { db in
            try Self.check(fence, db)
            try Self.update(delivery, db)
        }
    }

    public func recordHandOver(_ delivery: Delivery, fence: LeaseFence?) throws -> Int64 {
        try writer.write { db in
            try Self.check(fence, db)
            if delivery.id != nil {
                try Self.update(delivery, db)
                return delivery.id!
            }
            return try Self.insert(delivery, db).id!
        }
    }

    /// The fencing check, in the write's own transaction: the account's lease still carries this job's token.
    static func check(_ fence: LeaseFence?, _ db: Database) throws {
        guard let fence else { return }
        let statement = try db.cachedStatement(sql: "SELECT 1 FROM account_lease WHERE accountID = ? AND token = ? AND jobID = ?")
        guard try Int.fetchOne(statement, arguments: [fence.accountID, fence.token, fence.jobID]) != nil else {
            throw JobRuleError.leaseLost(jobID: fence.jobID)
        }
    }

    static func insert(_ delivery: Delivery, _ db: Database) throws -> Delivery {
        let statement = try db.cachedStatement(sql: """
                INSERT INTO delivery (prospectID, round, state, action, messageID, threadKey, replyCode, replyText, updatedAt, sentAt, jobID, attempts, retryAt,
                gmailMessageID, gmailThreadID) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            do {
                try statement.execute(arguments: [
                    delivery.prospectID, delivery.round, delivery.state.rawValue, delivery.action.rawValue, delivery.messageID, delivery.threadKey,
                    // Dates as GRDB stores them, formatted without its DateFormatter (one per date, per message sent).
                    delivery.replyCode, delivery.replyText, StoredDate.format(delivery.updatedAt), delivery.sentAt.map(StoredDate.format), delivery.jobID,
                    delivery.attempts, delivery.retryAt.map(StoredDate.format),
                    delivery.gmailMessageID, delivery.gmailThreadID,
                ])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError.deliveryExists(prospectID: delivery.prospectID, round: delivery.round)
            }
        var inserted = delivery
        inserted.id = db.lastInsertedRowID
        return inserted
    }

    static func update(_ delivery: Delivery, _ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            UPDATE delivery SET state = ?, action = ?, messageID = ?, threadKey = ?, replyCode = ?, replyText = ?, updatedAt = ?, sentAt = ?,
            jobID = ?, attempts = ?, retryAt = ?, gmailMessageID = ?, gmailThreadID = ?
            WHERE id = ? AND (state NOT IN ('sent', 'drafted') OR state = ?)
            """)
        try statement.execute(arguments: [
            delivery.state.rawValue, delivery.action.rawValue, delivery.messageID, delivery.threadKey, delivery.replyCode, delivery.replyText,
            StoredDate.format(delivery.updatedAt), delivery.sentAt.map(StoredDate.format), delivery.jobID, delivery.attempts,
            delivery.retryAt.map(StoredDate.format), delivery.gmailMessageID,
            delivery.gmailThreadID, delivery.id, delivery.state.rawValue,
        ])
        // A row that went out stays out: a worker that lost its lease (and holds a stale copy of the row) cannot
        // write it back to planned or skipped, which would send it again later.
        if db.changesCount == 0 { throw StoreError.deliverySettled(deliveryID: delivery.id ?? 0) }
    }

    public func sentTimes(accountID: Int64, since: Date) async throws -> [Date] {
        try await writer.read { db in
            try Date.fetchAll(
                db, sql: """
                    SELECT delivery.sentAt FROM delivery JOIN prospect ON prospect.id = delivery.prospectID
                    JOIN campaign ON campaign.id = prospect.campaignID WHERE delivery.sentAt > ? AND campaign.accountID = ?
                    """, arguments: [since, accountID]
            )
        }
    }

    public func drafts(accountID: Int64) async throws -> [DraftedDelivery] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: """
                    SELECT delivery.*, prospect.email AS prospectEmail FROM delivery JOIN prospect ON prospect.id = delivery.prospectID
                    JOIN campaign ON campaign.id = prospect.campaignID WHERE campaign.accountID = ? AND delivery.state = 'drafted'
                    ORDER BY delivery.id
                    """, arguments: [accountID]
            ).map { row in DraftedDelivery(delivery: try DeliveryRow(row: row).delivery(), email: row["prospectEmail"]) }
        }
    }

    public func recordSentDraft(_ sent: Delivery) async throws -> Bool {
        guard let id = sent.id else { throw StoreError.corrupt("a delivery without id cannot be updated") }
        return try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE delivery SET state = 'sent', messageID = ?, threadKey = ?, replyText = ?, updatedAt = ?, sentAt = ?, gmailMessageID = ?,
                    gmailThreadID = ?
                    WHERE id = ? AND state = 'drafted' AND NOT EXISTS (SELECT 1 FROM delivery other WHERE other.messageID = ? AND other.id <> ?)
                    """,
                arguments: [
                    sent.messageID, sent.threadKey, sent.replyText, sent.updatedAt, sent.sentAt, sent.gmailMessageID, sent.gmailThreadID, id, sent.messageID, id,
                ]
            )
            return db.changesCount > 0
        }
    }

    public func firstSend(accountID: Int64) async throws -> Date? {
        try await writer.read { db in
            try Date.fetchOne(
                db, sql: """
                    SELECT MIN(delivery.sentAt) FROM delivery JOIN prospect ON prospect.id = delivery.prospectID
                    JOIN campaign ON campaign.id = prospect.campaignID WHERE campaign.accountID = ? AND delivery.sentAt IS NOT NULL
                    """, arguments: [accountID]
            )
        }
    }
}
