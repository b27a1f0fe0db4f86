import Foundation
import GRDB
import GRDBSQLite
import OutreachCore

/// ``ThreadIndex`` on SQLite.
public struct SQLiteThreadIndex: ThreadIndex {
    let writer: any DatabaseWriter

    public func ingest(_ messages: [IndexedMessage], accountID: Int64) async throws -> Int {
        guard !messages.isEmpty else { return 0 }
        return try await writer.write { db in
            var added = 0
            for message in messages where try Self.ingest(message, accountID: accountID, db: db) { added += 1 }
            if added > 0 {
                try db.execute(
                    sql: "INSERT INTO message_count (accountID, messages) VALUES (?, ?) ON CONFLICT(accountID) DO UPDATE SET messages = messages + excluded.messages",
                    arguments: [accountID, added]
                )
            }
            return added
        }
    }

    /// - Returns: false when the message was already indexed.
    private static func ingest(_ message: IndexedMessage, accountID: Int64, db: Database) throws -> Bool {
        // Cached statements: a first sync ingests tens of thousands of messages, several statements each.
        let existing = try Row.fetchOne(
            try db.cachedStatement(sql: "SELECT id, threadID, ghost FROM message WHERE accountID = ? AND messageID = ?"),
            arguments: [accountID, message.messageID]
        )
        if let existing, !(existing["ghost"] as Bool) { return false }
        let now = Date()
        let to = message.to.map(\.matchKey).joined(separator: ",")
        let values: [(any DatabaseValueConvertible)?] = [
            // The date as GRDB would store it, made without its DateFormatter (a visible cost over a first sync).
            message.direction.rawValue, message.from?.matchKey, to, message.subject, message.date.map(StoredDate.format), message.folder,
            message.classification,
            message.failedRecipients.isEmpty ? nil : message.failedRecipients.map { $0.lowercased() }.joined(separator: "\n"),
            message.originalMessageID, now, message.gmailThreadID, message.gmailMessageID, message.bounceReason,
        ]
        let rowID: Int64
        var threadID: Int64
        if let existing {
            rowID = existing["id"]
            threadID = existing["threadID"]
            try db.cachedStatement(sql: """
                UPDATE message SET ghost = 0, direction = ?, fromAddress = ?, toAddresses = ?, subject = ?, date = ?, folder = ?,
                classification = ?, failedRecipients = ?, originalMessageID = ?, indexedAt = ?, gmailThreadID = ?, gmailMessageID = ?, bounceReason = ? WHERE id = ?
                """).execute(arguments: StatementArguments(values + [rowID]))
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO message (accountID, messageID, threadID, ghost, direction, fromAddress, toAddresses, subject, date, folder,
                classification, failedRecipients, originalMessageID, indexedAt, gmailThreadID, gmailMessageID, bounceReason) VALUES (?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: StatementArguments([accountID, message.messageID] + values))
            rowID = db.lastInsertedRowID
            threadID = rowID
            try db.cachedStatement(sql: "UPDATE message SET threadID = ? WHERE id = ?").execute(arguments: [rowID, rowID])
        }

        // Every linked id joins this thread: unseen ids as ghosts, known ones by merging their threads into the oldest.
        var threads: Set<Int64> = [threadID]
        for (position, id) in message.linkedIDs.enumerated() {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO message_ref (messageRowID, position, refMessageID) VALUES (?, ?, ?)")
                .execute(arguments: [rowID, position, id])
            if let linked = try Int64.fetchOne(
                try db.cachedStatement(sql: "SELECT threadID FROM message WHERE accountID = ? AND messageID = ?"), arguments: [accountID, id]
            ) {
                threads.insert(linked)
            } else {
                try db.cachedStatement(sql: "INSERT INTO message (accountID, messageID, threadID, ghost) VALUES (?, ?, ?, 1)")
                    .execute(arguments: [accountID, id, threadID])
            }
        }
        // Gmail's thread id links what Gmail put together even when the headers do not (a reply whose client dropped
        // References, a bounce Gmail filed in the thread).
        if let gmailThread = message.gmailThreadID, let linked = try Int64.fetchOne(
            try db.cachedStatement(sql: "SELECT threadID FROM message WHERE accountID = ? AND gmailThreadID = ? AND id != ? LIMIT 1"),
            arguments: [accountID, gmailThread, rowID]
        ) {
            threads.insert(linked)
        }
        if threads.count > 1, let target = threads.min() {
            let others = threads.subtracting([target]).map { DatabaseValue(value: $0) }
            try db.execute(
                sql: "UPDATE message SET threadID = ? WHERE accountID = ? AND threadID IN (\(others.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments([target.databaseValue, accountID.databaseValue] + others)
            )
        }
        return true
    }

    public func mailboxState(accountID: Int64, folder: String) async throws -> MailboxState? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mailbox_state WHERE accountID = ? AND folder = ?", arguments: [accountID, folder]).map { row in
                MailboxState(
                    accountID: row["accountID"], folder: row["folder"], uidValidity: UInt32(truncatingIfNeeded: row["uidValidity"] as Int64),
                    lastUID: UInt32(truncatingIfNeeded: row["lastUID"] as Int64), highestModSeq: UInt64(bitPattern: row["highestModSeq"] as Int64),
                    syncedAt: row["syncedAt"]
                )
            }
        }
    }

    public func saveMailboxState(_ state: MailboxState) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO mailbox_state (accountID, folder, uidValidity, lastUID, highestModSeq, syncedAt) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(accountID, folder) DO UPDATE SET uidValidity = excluded.uidValidity, lastUID = excluded.lastUID,
                    highestModSeq = excluded.highestModSeq, syncedAt = excluded.syncedAt
                    """,
                arguments: [state.accountID, state.folder, Int64(state.uidValidity), Int64(state.lastUID), Int64(bitPattern: state.highestModSeq), state.syncedAt]
            )
        }
    }

    /// Kept as a running count by ingest: counting 100,000 rows on every sync made "nothing new" grow with the mailbox.
    public func messageCount(accountID: Int64) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT messages FROM message_count WHERE accountID = ?", arguments: [accountID]) ?? 0
        }
    }

    public func thread(containing messageID: String, accountID: Int64) async throws -> [IndexedMessage] {
        try await writer.read { db in
            guard let threadID = try Int64.fetchOne(
                db, sql: "SELECT threadID FROM message WHERE accountID = ? AND messageID = ?", arguments: [accountID, messageID]
            ) else { return [] }
            return try Self.messages(
                db, sql: "SELECT \(Self.messageColumns) FROM message WHERE accountID = ? AND threadID = ? AND ghost = 0 ORDER BY date, id", arguments: [accountID, threadID]
            )
        }
    }

    public func bouncesAndComplaints(accountID: Int64) async throws -> [IndexedMessage] {
        try await writer.read { db in
            try Self.messages(
                db, sql: """
                    SELECT \(Self.messageColumns) FROM message WHERE accountID = ? AND ghost = 0 AND classification IN ('bounce_hard', 'bounce_soft', 'bounce_sender', 'complaint')
                    ORDER BY date, id
                    """, arguments: [accountID]
            )
        }
    }

    /// The sender's domain in SQL: exactly the expression of the `message_from_domain` index (migration v5), or
    /// SQLite scans the table instead.
    static let senderDomain = "substr(fromAddress, instr(fromAddress, '@') + 1)"

    public func followUpEvidence(_ queries: [FollowUpEvidenceQuery], accountID: Int64) async throws -> [FollowUpEvidence] {
        guard !queries.isEmpty else { return [] }
        return try await writer.read { db in
            // Three set-wise reads for the whole page of prospects instead of two per prospect.
            var threadOf: [String: Int64] = [:]
            for chunk in Self.chunks(Array(Set(queries.map(\.root)))) {
                for row in try Row.fetchAll(
                    db, sql: "SELECT messageID, threadID FROM message WHERE accountID = ? AND messageID IN (\(Self.placeholders(chunk.count)))",
                    arguments: StatementArguments([accountID] + chunk)
                ) { threadOf[row[0]] = row[1] }
            }
            var threads: [Int64: [IndexedMessage]] = [:]
            for chunk in Self.chunks(Array(Set(threadOf.values))) {
                for (threadID, message) in try Self.messagesWithKey(
                    db, sql: "SELECT \(Self.messageColumns), threadID AS key FROM message WHERE accountID = ? AND ghost = 0 AND threadID IN (\(Self.placeholders(chunk.count))) ORDER BY date, id",
                    arguments: StatementArguments([accountID] + chunk), key: Int64.self
                ) { threads[threadID, default: []].append(message) }
            }
            var bySender: [String: [IndexedMessage]] = [:]
            for (column, values) in [("fromAddress", queries.filter { !$0.sameDomain }.map(\.sender)), (Self.senderDomain, queries.filter(\.sameDomain).map(\.domain))] {
                for chunk in Self.chunks(Array(Set(values))) {
                    for (key, message) in try Self.messagesWithKey(
                        db, sql: "SELECT \(Self.messageColumns), \(column) AS key FROM message WHERE accountID = ? AND \(column) IN (\(Self.placeholders(chunk.count))) AND ghost = 0 ORDER BY date, id",
                        arguments: StatementArguments([accountID] + chunk), key: String.self
                    ) { bySender[(column == "fromAddress" ? "a:" : "d:") + key.lowercased(), default: []].append(message) }
                }
            }
            return FollowUpEvidenceQuery.evidence(for: queries, threadOf: threadOf, threads: threads, bySender: bySender)
        }
    }

    public func knownGmailMessageIDs(_ ids: [String], accountID: Int64) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await writer.read { db in
            var known = Set<String>()
            for chunk in Self.chunks(ids) {
                known.formUnion(try String.fetchAll(
                    db, sql: "SELECT gmailMessageID FROM message WHERE accountID = ? AND ghost = 0 AND gmailMessageID IN (\(Self.placeholders(chunk.count)))",
                    arguments: StatementArguments([accountID] + chunk)
                ))
            }
            return known
        }
    }

    public func ourMessageID(inGmailThread gmailThreadID: String, accountID: Int64) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT messageID FROM message WHERE accountID = ? AND gmailThreadID = ? AND ghost = 0 AND direction = 'ours' ORDER BY date, id LIMIT 1",
                arguments: [accountID, gmailThreadID]
            )
        }
    }

    /// SQLite takes at most 32,766 parameters; pages of 500 keep statements small and cacheable.
    static func chunks<T>(_ values: [T], size: Int = 500) -> [[T]] {
        stride(from: 0, to: values.count, by: size).map { Array(values[$0..<min($0 + size, values.count)]) }
    }

    static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ",") }

    private static func messagesWithKey<Key: DatabaseValueConvertible>(
        _ db: Database, sql: String, arguments: StatementArguments, key: Key.Type
    ) throws -> [(Key, IndexedMessage)] {
        var result: [(Key, IndexedMessage)] = []
        try eachMessage(db, sql: sql, arguments: arguments) { row, message in result.append((row[Self.messageColumnCount], message)) }
        return result
    }

    private static func messages(_ db: Database, sql: String, arguments: StatementArguments, withReferences: Bool = true) throws -> [IndexedMessage] {
        var rows: [(Int64, IndexedMessage)] = []
        try eachMessage(db, sql: sql, arguments: arguments) { row, message in rows.append((row[12], message)) }
        guard withReferences else { return rows.map(\.1) }
        return try rows.map { rowID, message in
            var message = message
            message.references = try String.fetchAll(
                db, sql: "SELECT refMessageID FROM message_ref WHERE messageRowID = ? ORDER BY position", arguments: [rowID]
            )
            return message
        }
    }

    /// Steps a statement whose first columns are ``messageColumns`` and reads each row's message straight from
    /// SQLite's columns: decoding through GRDB's generic row accessors (metadata lookups, name lookups) was most of
    /// the time of planning a 10,000-row round.
    private static func eachMessage(_ db: Database, sql: String, arguments: StatementArguments, _ body: (Row, IndexedMessage) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        let sqlite = statement.sqliteStatement
        while let row = try cursor.next() {
            func text(_ column: Int32) -> String? {
                guard let bytes = sqlite3_column_text(sqlite, column) else { return nil }
                return String(cString: bytes)
            }
            let from = text(1).flatMap { try? EmailAddress(parsing: $0) }
            let to = (text(2) ?? "").split(separator: ",").compactMap { try? EmailAddress(parsing: String($0)) }
            let date: Date? = sqlite3_column_type(sqlite, 4) == SQLITE_TEXT ? (text(4).flatMap(StoredDate.parse) ?? row[4]) : row[4]
            let message = IndexedMessage(
                messageID: text(0) ?? "", from: from, to: to, subject: text(3), date: date,
                direction: IndexedMessage.Direction(rawValue: text(5) ?? "") ?? .theirs, folder: text(6) ?? "", classification: text(7) ?? "human",
                failedRecipients: (text(8) ?? "").split(separator: "\n").map(String.init), originalMessageID: text(9), gmailThreadID: text(10),
                gmailMessageID: text(11), bounceReason: text(13)
            )
            try body(row, message)
        }
    }

    /// The columns ``eachMessage(_:sql:arguments:_:)`` reads, in its order.
    static let messageColumns = """
        messageID, fromAddress, toAddresses, subject, date, direction, folder, classification, failedRecipients, originalMessageID, \
        gmailThreadID, gmailMessageID, id, bounceReason
        """
    static let messageColumnCount = 14
}
