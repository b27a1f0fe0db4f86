import Foundation
import OutreachCore
import PostgresNIO

/// ``ThreadIndex`` on PostgreSQL. An ingest is one transaction of a few statements whatever the number of messages
/// (the rows go as arrays, unnested): a first sync stores 100,000 messages, and a statement per message, each a round
/// trip to another machine, would take minutes. Threads are joined in memory, then written with one update.
public struct PostgresThreadIndex: ThreadIndex {
    let db: PostgresStatements

    /// The lock space for an account's ingests (the first half of a two-part advisory lock key): "thrd" in ASCII.
    /// Two syncs of one account (two folders, two processes) would otherwise both insert a ghost for the same id, or
    /// both miss the thread the other just made.
    static let ingestLockSpace: Int32 = 0x7468_7264

    public func ingest(_ messages: [IndexedMessage], accountID: Int64) async throws -> Int {
        // The first of the same id wins, as on SQLite, where the second finds the first already indexed.
        var seen: Set<String> = []
        let batch = messages.filter { seen.insert($0.messageID).inserted }
        guard !batch.isEmpty else { return 0 }
        return try await db.transaction { db in
            try await db.execute("SELECT pg_advisory_xact_lock(\(Self.ingestLockSpace), \(Int32(truncatingIfNeeded: accountID)))")
            var known: [String: (id: Int64, threadID: Int64, ghost: Bool)] = [:]
            for row in try await db.rows(
                #"SELECT id, "messageID", "threadID", ghost FROM message WHERE "accountID" = \#(accountID) AND "messageID" = ANY(\#(batch.map(\.messageID))::text[])"#,
                { (messageID: try $0.get("messageID", as: String.self), id: try $0.get("id", as: Int64.self), threadID: try $0.get("threadID", as: Int64.self), ghost: try $0.get("ghost", as: Bool.self)) }
            ) { known[row.messageID] = (row.id, row.threadID, row.ghost) }
            // A message indexed already is left as it is; a ghost becomes the message, in the ghost's thread.
            let added = batch.filter { known[$0.messageID]?.ghost ?? true }
            guard !added.isEmpty else { return 0 }
            let ghosts = added.filter { known[$0.messageID] != nil }
            let fresh = added.filter { known[$0.messageID] == nil }
            let now = Date()

            var rowIDs: [String: Int64] = [:]
            var threadOf: [String: Int64] = [:]
            if !ghosts.isEmpty {
                let c = MessageValues(ghosts)
                let ids = ghosts.map { known[$0.messageID]!.id }
                try await db.execute(
                    #"""
                    UPDATE message m SET ghost = false, direction = v.direction, "fromAddress" = CASE WHEN v.hf THEN v.f END, "toAddresses" = v.t,
                        subject = CASE WHEN v.hs THEN v.s END, "date" = CASE WHEN v.hd THEN v.d END, folder = v.folder, classification = v.c,
                        "failedRecipients" = CASE WHEN v.hr THEN v.r END, "originalMessageID" = CASE WHEN v.ho THEN v.o END, "indexedAt" = \#(now),
                        "gmailThreadID" = CASE WHEN v.hgt THEN v.gt END, "gmailMessageID" = CASE WHEN v.hgm THEN v.gm END,
                        "bounceReason" = CASE WHEN v.hb THEN v.b END
                    FROM unnest(\#(ids)::bigint[], \#(c.direction)::text[], \#(c.from.present)::boolean[], \#(c.from.values)::text[], \#(c.to)::text[],
                        \#(c.subject.present)::boolean[], \#(c.subject.values)::text[], \#(c.date.present)::boolean[], \#(c.date.values)::timestamptz[],
                        \#(c.folder)::text[], \#(c.classification)::text[], \#(c.failed.present)::boolean[], \#(c.failed.values)::text[],
                        \#(c.original.present)::boolean[], \#(c.original.values)::text[], \#(c.gmailThread.present)::boolean[], \#(c.gmailThread.values)::text[],
                        \#(c.gmailMessage.present)::boolean[], \#(c.gmailMessage.values)::text[], \#(c.bounceReason.present)::boolean[],
                        \#(c.bounceReason.values)::text[])
                        AS v(id, direction, hf, f, t, hs, s, hd, d, folder, c, hr, r, ho, o, hgt, gt, hgm, gm, hb, b)
                    WHERE m.id = v.id
                    """#
                )
                for message in ghosts {
                    rowIDs[message.messageID] = known[message.messageID]!.id
                    threadOf[message.messageID] = known[message.messageID]!.threadID
                }
            }
            if !fresh.isEmpty {
                let c = MessageValues(fresh)
                // Ids are drawn from the column's own sequence first, so each new message starts a thread of its own id.
                for row in try await db.rows(
                    #"""
                    INSERT INTO message (id, "accountID", "messageID", "threadID", ghost, direction, "fromAddress", "toAddresses", subject, "date", folder,
                        classification, "failedRecipients", "originalMessageID", "indexedAt", "gmailThreadID", "gmailMessageID", "bounceReason")
                    SELECT v.id, \#(accountID), v.mid, v.id, false, v.direction, CASE WHEN v.hf THEN v.f END, v.t, CASE WHEN v.hs THEN v.s END,
                        CASE WHEN v.hd THEN v.d END, v.folder, v.c, CASE WHEN v.hr THEN v.r END, CASE WHEN v.ho THEN v.o END, \#(now),
                        CASE WHEN v.hgt THEN v.gt END, CASE WHEN v.hgm THEN v.gm END, CASE WHEN v.hb THEN v.b END
                    FROM (
                        SELECT nextval(pg_get_serial_sequence('message', 'id')) AS id, u.*
                        FROM unnest(\#(fresh.map(\.messageID))::text[], \#(c.direction)::text[], \#(c.from.present)::boolean[], \#(c.from.values)::text[],
                            \#(c.to)::text[], \#(c.subject.present)::boolean[], \#(c.subject.values)::text[], \#(c.date.present)::boolean[],
                            \#(c.date.values)::timestamptz[], \#(c.folder)::text[], \#(c.classification)::text[], \#(c.failed.present)::boolean[],
                            \#(c.failed.values)::text[], \#(c.original.present)::boolean[], \#(c.original.values)::text[],
                            \#(c.gmailThread.present)::boolean[], \#(c.gmailThread.values)::text[], \#(c.gmailMessage.present)::boolean[],
                            \#(c.gmailMessage.values)::text[], \#(c.bounceReason.present)::boolean[], \#(c.bounceReason.values)::text[])
                            AS u(mid, direction, hf, f, t, hs, s, hd, d, folder, c, hr, r, ho, o, hgt, gt, hgm, gm, hb, b)
                    ) v
                    RETURNING id, "messageID"
                    """#,
                    { (messageID: try $0.get("messageID", as: String.self), id: try $0.get("id", as: Int64.self)) }
                ) {
                    rowIDs[row.messageID] = row.id
                    threadOf[row.messageID] = row.id
                }
            }

            // References and In-Reply-To, in order, and what they point at now (this batch's messages included).
            var refRows: [Int64] = [], refPositions: [Int64] = [], refIDs: [String] = []
            for message in added {
                for (position, id) in message.linkedIDs.enumerated() {
                    refRows.append(rowIDs[message.messageID]!)
                    refPositions.append(Int64(position))
                    refIDs.append(id)
                }
            }
            var linkedThread: [String: Int64] = [:]
            if !refIDs.isEmpty {
                try await db.execute(
                    #"""
                    INSERT INTO message_ref ("messageRowID", position, "refMessageID")
                    SELECT * FROM unnest(\#(refRows)::bigint[], \#(refPositions)::bigint[], \#(refIDs)::text[]) ON CONFLICT DO NOTHING
                    """#
                )
                for row in try await db.rows(
                    #"SELECT "messageID", "threadID" FROM message WHERE "accountID" = \#(accountID) AND "messageID" = ANY(\#(Array(Set(refIDs)))::text[])"#,
                    { (messageID: try $0.get("messageID", as: String.self), threadID: try $0.get("threadID", as: Int64.self)) }
                ) { linkedThread[row.messageID] = row.threadID }
            }
            // Gmail's thread id links what Gmail put together even when the headers do not (a reply whose client
            // dropped References, a bounce Gmail filed in the thread).
            var gmailThreads: [String: [Int64]] = [:]
            let gmailIDs = Array(Set(added.compactMap(\.gmailThreadID)))
            if !gmailIDs.isEmpty {
                for row in try await db.rows(
                    #"SELECT DISTINCT "gmailThreadID", "threadID" FROM message WHERE "accountID" = \#(accountID) AND "gmailThreadID" = ANY(\#(gmailIDs)::text[])"#,
                    { (gmailThreadID: try $0.get("gmailThreadID", as: String.self), threadID: try $0.get("threadID", as: Int64.self)) }
                ) { gmailThreads[row.gmailThreadID, default: []].append(row.threadID) }
            }

            // Every linked id joins the message's thread: unseen ids as ghosts, known ones by merging their threads
            // into the oldest (the smallest id), as SQLite does one message at a time.
            var threads = ThreadMerge()
            var ghostThread: [String: Int64] = [:]
            for message in added {
                let thread = threadOf[message.messageID]!
                for id in message.linkedIDs {
                    if let linked = linkedThread[id] {
                        threads.join(thread, linked)
                    } else if let ghost = ghostThread[id] {
                        threads.join(thread, ghost)
                    } else {
                        ghostThread[id] = thread
                    }
                }
                for linked in message.gmailThreadID.flatMap({ gmailThreads[$0] }) ?? [] { threads.join(thread, linked) }
            }
            if !ghostThread.isEmpty {
                let ids = Array(ghostThread.keys)
                var targets: [Int64] = []
                for id in ids { targets.append(threads.root(ghostThread[id]!)) }
                try await db.execute(
                    #"""
                    INSERT INTO message ("accountID", "messageID", "threadID", ghost)
                    SELECT \#(accountID), g.id, g.thread, true FROM unnest(\#(ids)::text[], \#(targets)::bigint[]) AS g(id, thread)
                    """#
                )
            }
            let merged = threads.merged()
            if !merged.isEmpty {
                try await db.execute(
                    #"""
                    UPDATE message m SET "threadID" = g.target FROM unnest(\#(merged.map(\.from))::bigint[], \#(merged.map(\.to))::bigint[]) AS g(source, target)
                    WHERE m."accountID" = \#(accountID) AND m."threadID" = g.source
                    """#
                )
            }
            // Kept as a running count: counting 100,000 rows on every sync made "nothing new" grow with the mailbox.
            try await db.execute(
                #"""
                INSERT INTO message_count ("accountID", messages) VALUES (\#(accountID), \#(added.count))
                ON CONFLICT ("accountID") DO UPDATE SET messages = message_count.messages + excluded.messages
                """#
            )
            return added.count
        }
    }

    public func mailboxState(accountID: Int64, folder: String) async throws -> MailboxState? {
        try await db.first(
            #"""
            SELECT "uidValidity", "lastUID", "highestModSeq", "syncedAt" FROM mailbox_state WHERE "accountID" = \#(accountID) AND folder = \#(folder)
            """#
        ) { row in
            MailboxState(
                accountID: accountID, folder: folder, uidValidity: UInt32(truncatingIfNeeded: try row.get("uidValidity", as: Int64.self)),
                lastUID: UInt32(truncatingIfNeeded: try row.get("lastUID", as: Int64.self)),
                highestModSeq: UInt64(bitPattern: try row.get("highestModSeq", as: Int64.self)), syncedAt: try row.get("syncedAt")
            )
        }
    }

    public func saveMailboxState(_ state: MailboxState) async throws {
        try await db.execute(
            #"""
            INSERT INTO mailbox_state ("accountID", folder, "uidValidity", "lastUID", "highestModSeq", "syncedAt")
            VALUES (\#(state.accountID), \#(state.folder), \#(Int64(state.uidValidity)), \#(Int64(state.lastUID)), \#(Int64(bitPattern: state.highestModSeq)),
                \#(state.syncedAt))
            ON CONFLICT ("accountID", folder) DO UPDATE SET "uidValidity" = excluded."uidValidity", "lastUID" = excluded."lastUID",
                "highestModSeq" = excluded."highestModSeq", "syncedAt" = excluded."syncedAt"
            """#
        )
    }

    public func messageCount(accountID: Int64) async throws -> Int {
        try await db.first(#"SELECT messages FROM message_count WHERE "accountID" = \#(accountID)"#) { try $0.get("messages", as: Int.self) } ?? 0
    }

    public func thread(containing messageID: String, accountID: Int64) async throws -> [IndexedMessage] {
        try await db.rows(
            #"""
            SELECT \#(unescaped: Self.columns), \#(unescaped: Self.references) FROM message
            WHERE "accountID" = \#(accountID) AND NOT ghost
                AND "threadID" = (SELECT "threadID" FROM message WHERE "accountID" = \#(accountID) AND "messageID" = \#(messageID))
            ORDER BY \#(unescaped: Self.oldestFirst)
            """#, Self.message
        )
    }

    public func bouncesAndComplaints(accountID: Int64) async throws -> [IndexedMessage] {
        try await db.rows(
            #"""
            SELECT \#(unescaped: Self.columns), \#(unescaped: Self.references) FROM message
            WHERE "accountID" = \#(accountID) AND NOT ghost AND classification IN ('bounce_hard', 'bounce_soft', 'bounce_sender', 'complaint')
            ORDER BY \#(unescaped: Self.oldestFirst)
            """#, Self.message
        )
    }

    /// The sender's domain in SQL: exactly the expression of the `message_from_domain` index (migration v5).
    static let senderDomain = #"substr("fromAddress", strpos("fromAddress", '@') + 1)"#

    public func followUpEvidence(_ queries: [FollowUpEvidenceQuery], accountID: Int64) async throws -> [FollowUpEvidence] {
        guard !queries.isEmpty else { return [] }
        // Four set-wise reads for the whole page of prospects instead of two per prospect.
        var threadOf: [String: Int64] = [:]
        for row in try await db.rows(
            #"SELECT "messageID", "threadID" FROM message WHERE "accountID" = \#(accountID) AND "messageID" = ANY(\#(Array(Set(queries.map(\.root))))::text[])"#,
            { (messageID: try $0.get("messageID", as: String.self), threadID: try $0.get("threadID", as: Int64.self)) }
        ) { threadOf[row.messageID] = row.threadID }
        var threads: [Int64: [IndexedMessage]] = [:]
        if !threadOf.isEmpty {
            for (threadID, message) in try await db.rows(
                #"""
                SELECT \#(unescaped: Self.columns), "threadID" AS key FROM message
                WHERE "accountID" = \#(accountID) AND NOT ghost AND "threadID" = ANY(\#(Array(Set(threadOf.values)))::bigint[])
                ORDER BY \#(unescaped: Self.oldestFirst)
                """#,
                { (try $0.get("key", as: Int64.self), try Self.message($0)) }
            ) { threads[threadID, default: []].append(message) }
        }
        var bySender: [String: [IndexedMessage]] = [:]
        for (column, prefix, values) in [
            (#""fromAddress""#, "a:", queries.filter { !$0.sameDomain }.map(\.sender)), (Self.senderDomain, "d:", queries.filter(\.sameDomain).map(\.domain)),
        ] where !values.isEmpty {
            for (key, message) in try await db.rows(
                #"""
                SELECT \#(unescaped: Self.columns), \#(unescaped: column) AS key FROM message
                WHERE "accountID" = \#(accountID) AND \#(unescaped: column) = ANY(\#(Array(Set(values)))::text[]) AND NOT ghost
                ORDER BY \#(unescaped: Self.oldestFirst)
                """#,
                { (try $0.get("key", as: String.self), try Self.message($0)) }
            ) { bySender[prefix + key.lowercased(), default: []].append(message) }
        }
        return FollowUpEvidenceQuery.evidence(for: queries, threadOf: threadOf, threads: threads, bySender: bySender)
    }

    public func knownGmailMessageIDs(_ ids: [String], accountID: Int64) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try await db.rows(
            #"""
            SELECT "gmailMessageID" FROM message WHERE "accountID" = \#(accountID) AND NOT ghost AND "gmailMessageID" = ANY(\#(Array(Set(ids)))::text[])
            """#
        ) { try $0.get("gmailMessageID", as: String.self) })
    }

    public func ourMessageID(inGmailThread gmailThreadID: String, accountID: Int64) async throws -> String? {
        try await db.first(
            #"""
            SELECT "messageID" FROM message WHERE "accountID" = \#(accountID) AND "gmailThreadID" = \#(gmailThreadID) AND NOT ghost AND direction = 'ours'
            ORDER BY \#(unescaped: Self.oldestFirst) LIMIT 1
            """#
        ) { try $0.get("messageID", as: String.self) }
    }

    /// Oldest first, messages without a date before all others, as SQLite orders NULLs (PostgreSQL puts them last).
    static let oldestFirst = #""date" ASC NULLS FIRST, id"#

    /// The columns ``message(_:)`` reads.
    static let columns = #"""
        "messageID", "fromAddress", "toAddresses", subject, "date", direction, folder, classification, "failedRecipients", "originalMessageID",
        "gmailThreadID", "gmailMessageID", "bounceReason"
        """#

    /// A message row's References and In-Reply-To, in order, as one array column `refs`.
    static let references = #"""
        ARRAY(SELECT r."refMessageID" FROM message_ref r WHERE r."messageRowID" = message.id ORDER BY r.position) AS refs
        """#

    /// A row of ``columns``, with its references when the row has a `refs` column.
    static func message(_ row: PostgresRandomAccessRow) throws -> IndexedMessage {
        IndexedMessage(
            messageID: try row.get("messageID"), references: row.contains("refs") ? try row.get("refs") : [],
            from: try row.get("fromAddress", as: String?.self).flatMap { try? EmailAddress(parsing: $0) },
            to: (try row.get("toAddresses", as: String?.self) ?? "").split(separator: ",").compactMap { try? EmailAddress(parsing: String($0)) },
            subject: try row.get("subject"), date: try row.get("date"),
            direction: IndexedMessage.Direction(rawValue: try row.get("direction", as: String?.self) ?? "") ?? .theirs,
            folder: try row.get("folder", as: String?.self) ?? "", classification: try row.get("classification", as: String?.self) ?? "human",
            failedRecipients: (try row.get("failedRecipients", as: String?.self) ?? "").split(separator: "\n").map(String.init),
            originalMessageID: try row.get("originalMessageID"), gmailThreadID: try row.get("gmailThreadID"),
            gmailMessageID: try row.get("gmailMessageID"), bounceReason: try row.get("bounceReason")
        )
    }
}

/// The message columns an ingest writes, as arrays postgres-nio can bind (its arrays hold no NULLs, so each nullable
/// column is a ``NullableColumn``), stored as SQLite stores them: addresses by their match key, recipients joined by
/// commas, failed recipients lower-cased one per line.
private struct MessageValues {
    let direction: [String]
    let from: NullableColumn<String>
    let to: [String]
    let subject: NullableColumn<String>
    let date: NullableColumn<Date>
    let folder: [String]
    let classification: [String]
    let failed: NullableColumn<String>
    let original: NullableColumn<String>
    let gmailThread: NullableColumn<String>
    let gmailMessage: NullableColumn<String>
    let bounceReason: NullableColumn<String>

    init(_ messages: [IndexedMessage]) {
        direction = messages.map(\.direction.rawValue)
        from = NullableColumn(messages, placeholder: "") { $0.from?.matchKey }
        to = messages.map { $0.to.map(\.matchKey).joined(separator: ",") }
        subject = NullableColumn(messages, placeholder: "", \.subject)
        date = NullableColumn(messages, placeholder: Date(timeIntervalSince1970: 0), \.date)
        folder = messages.map(\.folder)
        classification = messages.map(\.classification)
        failed = NullableColumn(messages, placeholder: "") { $0.failedRecipients.isEmpty ? nil : $0.failedRecipients.map { $0.lowercased() }.joined(separator: "\n") }
        original = NullableColumn(messages, placeholder: "", \.originalMessageID)
        gmailThread = NullableColumn(messages, placeholder: "", \.gmailThreadID)
        gmailMessage = NullableColumn(messages, placeholder: "", \.gmailMessageID)
        bounceReason = NullableColumn(messages, placeholder: "", \.bounceReason)
    }
}

/// Threads joined by an ingest: each thread points at the oldest (smallest) thread it was joined with.
private struct ThreadMerge {
    private var parent: [Int64: Int64] = [:]

    /// Points every thread on the way at the root too, so a long chain of joins is walked once.
    mutating func root(_ thread: Int64) -> Int64 {
        guard let next = parent[thread], next != thread else { return thread }
        let found = root(next)
        parent[thread] = found
        return found
    }

    mutating func join(_ a: Int64, _ b: Int64) {
        let (ra, rb) = (root(a), root(b))
        guard ra != rb else { return }
        parent[max(ra, rb)] = min(ra, rb)
    }

    /// Each joined thread that is not its group's oldest, with the oldest.
    mutating func merged() -> [(from: Int64, to: Int64)] {
        var merged: [(from: Int64, to: Int64)] = []
        for thread in Array(parent.keys) {
            let target = root(thread)
            if target != thread { merged.append((thread, target)) }
        }
        return merged
    }
}
