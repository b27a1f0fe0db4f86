import Foundation
import OutreachCore
import PostgresNIO

/// ``DeliveryLedger`` on PostgreSQL. A job's writes carry its lease: each is one statement that locks the account's
/// lease row `FOR SHARE` while it writes, and writes only if the row still holds the job's token. A worker taking the
/// account over updates that row, so it waits for a write under way to commit, and a write that comes after it finds
/// the new token (READ COMMITTED re-reads a row it waited for) and writes nothing.
public struct PostgresDeliveryLedger: DeliveryLedger {
    let db: PostgresStatements

    static let columns = #"""
        d.id, d."prospectID", d.round, d.state, d.action, d."messageID", d."threadKey", d."replyCode", d."replyText", d."updatedAt", d."sentAt",
        d."jobID", d.attempts, d."retryAt", d."gmailMessageID", d."gmailThreadID"
        """#

    static func delivery(_ row: PostgresRandomAccessRow) throws -> Delivery {
        let id: Int64 = try row.get("id")
        let stateText: String = try row.get("state")
        let actionText: String = try row.get("action")
        guard let state = Delivery.State(rawValue: stateText), let action = RoundMode.Action(rawValue: actionText) else {
            throw StoreError.corrupt("delivery \(id) has state '\(stateText)' / action '\(actionText)'")
        }
        return Delivery(
            id: id, prospectID: try row.get("prospectID"), round: try row.get("round"), state: state, action: action,
            messageID: try row.get("messageID"), threadKey: try row.get("threadKey"), replyCode: try row.get("replyCode"),
            replyText: try row.get("replyText"), updatedAt: try row.get("updatedAt"), sentAt: try row.get("sentAt"), jobID: try row.get("jobID"),
            attempts: try row.get("attempts"), retryAt: try row.get("retryAt"), gmailMessageID: try row.get("gmailMessageID"),
            gmailThreadID: try row.get("gmailThreadID")
        )
    }

    public func deliveries(campaignID: Int64, round: Int) async throws -> [Int64: Delivery] {
        let rows = try await db.rows(
            #"""
            SELECT \#(unescaped: Self.columns) FROM delivery d JOIN prospect p ON p.id = d."prospectID"
            WHERE p."campaignID" = \#(campaignID) AND d.round = \#(round)
            """#, Self.delivery
        )
        return Dictionary(rows.map { ($0.prospectID, $0) }) { first, _ in first }
    }

    public func deliveries(campaignID: Int64) async throws -> [Delivery] {
        try await db.rows(
            #"""
            SELECT \#(unescaped: Self.columns) FROM delivery d JOIN prospect p ON p.id = d."prospectID"
            WHERE p."campaignID" = \#(campaignID) ORDER BY d.round, p."row"
            """#, Self.delivery
        )
    }

    public func insert(_ delivery: Delivery, fence: LeaseFence?) async throws -> Delivery {
        let d = delivery
        // One statement: the lease check locks the lease row for as long as the insert's transaction runs. Nullable
        // values are cast, since a NULL bind has no type of its own in a SELECT list.
        let id = try await db.rows(
            #"""
            INSERT INTO delivery ("prospectID", round, state, action, "messageID", "threadKey", "replyCode", "replyText", "updatedAt", "sentAt",
                "jobID", attempts, "retryAt", "gmailMessageID", "gmailThreadID")
            SELECT \#(d.prospectID), \#(d.round), \#(d.state.rawValue), \#(d.action.rawValue), \#(d.messageID)::text, \#(d.threadKey)::text,
                \#(d.replyCode)::bigint, \#(d.replyText)::text, \#(d.updatedAt), \#(d.sentAt)::timestamptz, \#(d.jobID)::bigint, \#(d.attempts),
                \#(d.retryAt)::timestamptz, \#(d.gmailMessageID)::text, \#(d.gmailThreadID)::text
            WHERE \#(fence?.accountID)::bigint IS NULL OR EXISTS (
                SELECT 1 FROM account_lease
                WHERE "accountID" = \#(fence?.accountID) AND token = \#(fence?.token) AND "jobID" = \#(fence?.jobID) FOR SHARE
            )
            RETURNING id
            """#,
            refine: { $0 == "23505" ? StoreError.deliveryExists(prospectID: d.prospectID, round: d.round) : nil }
        ) { try $0.get("id", as: Int64.self) }.first
        guard let id else { throw JobRuleError.leaseLost(jobID: fence?.jobID ?? 0) }
        var inserted = delivery
        inserted.id = id
        return inserted
    }

    public func update(_ delivery: Delivery, fence: LeaseFence?) async throws {
        guard let id = delivery.id else { throw StoreError.corrupt("a delivery without id cannot be updated") }
        let d = delivery
        // The lease is read (and locked) once; the answer says which rule refused a write that changed nothing.
        let outcome = try await db.first(
            #"""
            WITH lease AS (
                SELECT 1 FROM account_lease
                WHERE "accountID" = \#(fence?.accountID) AND token = \#(fence?.token) AND "jobID" = \#(fence?.jobID) FOR SHARE
            ), changed AS (
                UPDATE delivery SET state = \#(d.state.rawValue), action = \#(d.action.rawValue), "messageID" = \#(d.messageID),
                    "threadKey" = \#(d.threadKey), "replyCode" = \#(d.replyCode), "replyText" = \#(d.replyText), "updatedAt" = \#(d.updatedAt),
                    "sentAt" = \#(d.sentAt), "jobID" = \#(d.jobID), attempts = \#(d.attempts), "retryAt" = \#(d.retryAt),
                    "gmailMessageID" = \#(d.gmailMessageID), "gmailThreadID" = \#(d.gmailThreadID)
                WHERE id = \#(id) AND (state NOT IN ('sent', 'drafted') OR state = \#(d.state.rawValue))
                    AND (\#(fence?.accountID)::bigint IS NULL OR EXISTS (SELECT 1 FROM lease))
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM changed) AS changed, EXISTS (SELECT 1 FROM lease) AS leased
            """#
        ) { (changed: try $0.get("changed", as: Bool.self), leased: try $0.get("leased", as: Bool.self)) }
        if outcome?.changed == true { return }
        if let fence, outcome?.leased != true { throw JobRuleError.leaseLost(jobID: fence.jobID) }
        // A row that went out stays out: a worker that lost its lease (and holds a stale copy of the row) cannot
        // write it back to planned or skipped, which would send it again later.
        throw StoreError.deliverySettled(deliveryID: id)
    }

    /// Blocks the calling thread until the write is committed: it runs as a task on the cooperative pool and this
    /// thread waits for it. Call it only from a thread of its own (an SMTP connection's), never from async code or
    /// the cooperative pool: a pool thread blocked here may be the one the write needs, and the process hangs.
    public func recordHandOver(_ delivery: Delivery, fence: LeaseFence?) throws -> Int64 {
        let outcome = HandOverOutcome()
        // Not fire-and-forget: this thread waits for the task's outcome before it returns.
        Task {
            do { outcome.finish(.success(try await handOver(delivery, fence: fence))) } catch { outcome.finish(.failure(error)) }
        }
        return try outcome.wait().get()
    }

    private func handOver(_ delivery: Delivery, fence: LeaseFence?) async throws -> Int64 {
        guard let id = delivery.id else { return try await insert(delivery, fence: fence).id ?? 0 }
        try await update(delivery, fence: fence)
        return id
    }

    public func sentTimes(accountID: Int64, since: Date) async throws -> [Date] {
        try await db.rows(
            #"""
            SELECT d."sentAt" FROM delivery d JOIN prospect p ON p.id = d."prospectID" JOIN campaign c ON c.id = p."campaignID"
            WHERE d."sentAt" > \#(since) AND c."accountID" = \#(accountID)
            """#
        ) { try $0.get("sentAt", as: Date.self) }
    }

    public func drafts(accountID: Int64) async throws -> [DraftedDelivery] {
        try await db.rows(
            #"""
            SELECT \#(unescaped: Self.columns), p.email AS "prospectEmail" FROM delivery d JOIN prospect p ON p.id = d."prospectID"
            JOIN campaign c ON c.id = p."campaignID" WHERE c."accountID" = \#(accountID) AND d.state = 'drafted' ORDER BY d.id
            """#
        ) { row in DraftedDelivery(delivery: try Self.delivery(row), email: try row.get("prospectEmail")) }
    }

    public func recordSentDraft(_ sent: Delivery) async throws -> Bool {
        guard let id = sent.id else { throw StoreError.corrupt("a delivery without id cannot be updated") }
        let changed = try await db.rows(
            #"""
            UPDATE delivery SET state = 'sent', "messageID" = \#(sent.messageID), "threadKey" = \#(sent.threadKey), "replyText" = \#(sent.replyText),
                "updatedAt" = \#(sent.updatedAt), "sentAt" = \#(sent.sentAt), "gmailMessageID" = \#(sent.gmailMessageID),
                "gmailThreadID" = \#(sent.gmailThreadID)
            WHERE id = \#(id) AND state = 'drafted'
                AND NOT EXISTS (SELECT 1 FROM delivery other WHERE other."messageID" = \#(sent.messageID) AND other.id <> \#(id))
            RETURNING id
            """#
        ) { try $0.get("id", as: Int64.self) }
        return !changed.isEmpty
    }

    public func firstSend(accountID: Int64) async throws -> Date? {
        try await db.first(
            #"""
            SELECT MIN(d."sentAt") AS first FROM delivery d JOIN prospect p ON p.id = d."prospectID" JOIN campaign c ON c.id = p."campaignID"
            WHERE c."accountID" = \#(accountID) AND d."sentAt" IS NOT NULL
            """#
        ) { try $0.get("first", as: Date?.self) } ?? nil
    }
}

/// What the hand-over's task hands to the thread that waits for it.
/// @unchecked Sendable: `result` is written and read only with `condition` locked.
private final class HandOverOutcome: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Int64, any Error>?

    func finish(_ result: Result<Int64, any Error>) {
        condition.lock()
        self.result = result
        condition.signal()
        condition.unlock()
    }

    func wait() -> Result<Int64, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result { return result }
            condition.wait()
        }
    }
}
