import Foundation
import OutreachCore
import OutreachStore
import Testing

struct ThreadIndexTests {
    /// A new database of `kind` with the account sales@sales.example; `body` gets its thread index and the account's id.
    static func withIndex(_ kind: StoreKind, _ body: (any ThreadIndex, Int64, TestStores) async throws -> Void) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            try await body(stores.threads, try await stores.addAccount("sales@sales.example"), stores)
        }
    }

    @Test("dates, ids, addresses and Gmail ids come back as they were indexed", arguments: StoreKind.allCases)
    func roundTrip(_ kind: StoreKind) async throws {
        try await Self.withIndex(kind) { index, accountID, _ in
            let dates: [Date?] = [
                Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -43_200.5), Date(timeIntervalSince1970: 951_868_799.999),
                Date(timeIntervalSince1970: 2_147_483_647), Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000), nil,
            ]
            var messages: [IndexedMessage] = []
            for (i, date) in dates.enumerated() {
                messages.append(IndexedMessage(
                    messageID: "m\(i)@x.example", references: i == 0 ? [] : ["m0@x.example"], from: try EmailAddress(parsing: "Anna\(i)@Acme.example"),
                    to: [try EmailAddress(parsing: "sales@sales.example"), try EmailAddress(parsing: "b@c.example")], subject: i == 2 ? "Ré: ünïcode" : nil,
                    date: date, direction: i == 1 ? .ours : .theirs, folder: "INBOX", gmailThreadID: i == 3 ? "18c0ffee00000001" : nil,
                    gmailMessageID: i == 3 ? "18c0ffee00000002" : nil
                ))
            }
            _ = try await index.ingest(messages, accountID: accountID)
            let thread = try await index.thread(containing: "m0@x.example", accountID: accountID)
            #expect(Set(thread.map(\.messageID)) == Set(messages.map(\.messageID)))
            for original in messages {
                let stored = try #require(thread.first { $0.messageID == original.messageID })
                // Stored to the millisecond, as GRDB stores dates.
                let drift = (stored.date?.timeIntervalSince1970 ?? 0) - (original.date?.timeIntervalSince1970 ?? 0)
                #expect((stored.date == nil) == (original.date == nil) && abs(drift) < 0.0005, "\(original.messageID): \(String(describing: stored.date)) vs \(String(describing: original.date))")
                // Addresses are kept normalized (lower-cased), as every lookup compares them.
                #expect(stored.from?.normalized == original.from?.normalized && stored.to.map(\.normalized) == original.to.map(\.normalized))
                #expect(stored.subject == original.subject && stored.direction == original.direction)
                #expect(stored.gmailThreadID == original.gmailThreadID && stored.gmailMessageID == original.gmailMessageID)
                #expect(stored.references == original.references)
            }
        }
    }

    @Test("a bounce keeps every failed recipient it names, in its order", arguments: StoreKind.allCases)
    func failedRecipients(_ kind: StoreKind) async throws {
        try await Self.withIndex(kind) { index, accountID, _ in
            let bounce = IndexedMessage(
                messageID: "dsn@mx.example", from: try EmailAddress(parsing: "MAILER-DAEMON@mx.example"), subject: "Undelivered Mail Returned to Sender",
                date: Date(), direction: .theirs, folder: "INBOX", classification: "bounce_hard",
                failedRecipients: ["Office@Elsewhere.example", "anna@acme.example"]
            )
            let complaint = IndexedMessage(
                messageID: "arf@fbl.example", from: try EmailAddress(parsing: "fbl@fbl.example"), subject: "Abuse report", date: Date(),
                direction: .theirs, folder: "INBOX", classification: "complaint"
            )
            var refused = IndexedMessage(
                messageID: "dsn2@mx.example", from: try EmailAddress(parsing: "MAILER-DAEMON@mx.example"), subject: "Undelivered Mail Returned to Sender",
                date: Date(), direction: .theirs, folder: "INBOX", classification: "bounce_sender", failedRecipients: ["anna@acme.example"]
            )
            refused.bounceReason = "blocked"
            var hard = bounce
            hard.bounceReason = "user-unknown"
            _ = try await index.ingest([hard, complaint, refused], accountID: accountID)
            let stored = try await index.bouncesAndComplaints(accountID: accountID)
            #expect(stored.map(\.failedRecipients) == [["office@elsewhere.example", "anna@acme.example"], [], ["anna@acme.example"]])
            #expect(stored.map(\.bounceReason) == ["user-unknown", nil, "blocked"])
        }
    }

    @Test("follow-up evidence reads the prospect's messages, or with sameDomain every address at its domain, since round 1", arguments: StoreKind.allCases)
    func evidenceBySenderOrDomain(_ kind: StoreKind) async throws {
        try await Self.withIndex(kind) { index, accountID, _ in
            let sent = Date(timeIntervalSince1970: 1_795_953_600)
            func message(_ id: String, from: String, at offset: TimeInterval, direction: IndexedMessage.Direction = .theirs) throws -> IndexedMessage {
                IndexedMessage(
                    messageID: id, from: try EmailAddress(parsing: from), subject: "Hello Anna", date: sent.addingTimeInterval(offset),
                    direction: direction, folder: direction == .ours ? "Sent" : "INBOX"
                )
            }
            _ = try await index.ingest(
                [
                    try message("root@sales.example", from: "sales@sales.example", at: 0, direction: .ours),
                    try message("anna@acme.example", from: "Anna@Acme.example", at: 60), try message("bob@acme.example", from: "bob@acme.example", at: 120),
                    try message("early@acme.example", from: "bob@acme.example", at: -60), try message("eu@acme.example", from: "eve@eu.acme.example", at: 180),
                    try message("x@other.example", from: "anna@other.example", at: 240),
                ], accountID: accountID
            )
            let prospect = try await index.followUpEvidence(
                [FollowUpEvidenceQuery(root: "root@sales.example", sender: "anna@acme.example", sameDomain: false, since: sent)], accountID: accountID
            )[0]
            #expect(prospect.thread.map(\.messageID) == ["root@sales.example"])
            #expect(prospect.fromSender.map(\.messageID) == ["anna@acme.example"])
            let domain = try await index.followUpEvidence(
                [FollowUpEvidenceQuery(root: "root@sales.example", sender: "Anna@ACME.example", sameDomain: true, since: sent)], accountID: accountID
            )[0]
            #expect(domain.fromSender.map(\.messageID) == ["anna@acme.example", "bob@acme.example"])
        }
    }

    static func message(
        _ id: String, refs: [String] = [], inReplyTo: [String] = [], at seconds: TimeInterval?, direction: IndexedMessage.Direction = .theirs,
        subject: String = "Hello", gmailThread: String? = nil, gmailMessage: String? = nil
    ) throws -> IndexedMessage {
        IndexedMessage(
            messageID: id, inReplyTo: inReplyTo, references: refs,
            from: try EmailAddress(parsing: direction == .ours ? "sales@sales.example" : "anna@acme.example"), subject: subject,
            date: seconds.map { Date(timeIntervalSince1970: 1_795_953_600 + $0) }, direction: direction, folder: direction == .ours ? "Sent" : "INBOX",
            gmailThreadID: gmailThread, gmailMessageID: gmailMessage
        )
    }

    @Test("a message already indexed is left as it is and not counted again; a reply seen before its original waits as a ghost and joins it", arguments: StoreKind.allCases)
    func deduplicationAndGhosts(_ kind: StoreKind) async throws {
        try await Self.withIndex(kind) { index, accountID, _ in
            // The reply comes first: the original is a ghost, not a message.
            #expect(try await index.ingest([try Self.message("reply@acme.example", inReplyTo: ["root@sales.example"], at: 60)], accountID: accountID) == 1)
            #expect(try await index.messageCount(accountID: accountID) == 1)
            #expect(try await index.thread(containing: "root@sales.example", accountID: accountID).map(\.messageID) == ["reply@acme.example"])
            // The original arrives twice in one batch (two folders) and the reply again: one new message, the first copy's.
            let added = try await index.ingest(
                [
                    try Self.message("root@sales.example", at: 0, direction: .ours, subject: "first copy"),
                    try Self.message("root@sales.example", at: 0, direction: .ours, subject: "second copy"),
                    try Self.message("reply@acme.example", inReplyTo: ["root@sales.example"], at: 60, subject: "again"),
                ], accountID: accountID
            )
            #expect(added == 1)
            #expect(try await index.messageCount(accountID: accountID) == 2)
            let thread = try await index.thread(containing: "reply@acme.example", accountID: accountID)
            #expect(thread.map(\.messageID) == ["root@sales.example", "reply@acme.example"])
            #expect(thread.map(\.subject) == ["first copy", "Hello"])
            #expect(thread.last?.references == ["root@sales.example"], "In-Reply-To is kept with the references")
            #expect(try await index.ingest([], accountID: accountID) == 0)
            #expect(try await index.ingest([thread[0]], accountID: accountID) == 0)
            #expect(try await index.messageCount(accountID: accountID) == 2)
            #expect(try await index.thread(containing: "unknown@x.example", accountID: accountID).isEmpty)
        }
    }

    @Test("threads join through references within a batch and across batches, and through Gmail's thread id; undated messages come first", arguments: StoreKind.allCases)
    func threadsJoin(_ kind: StoreKind) async throws {
        try await Self.withIndex(kind) { index, accountID, stores in
            // Two replies to an id never seen, in one batch: one thread through the ghost.
            #expect(try await index.ingest(
                [try Self.message("x@acme.example", refs: ["lost@sales.example"], at: 10), try Self.message("y@acme.example", refs: ["lost@sales.example"], at: 20)],
                accountID: accountID
            ) == 2)
            #expect(try await index.thread(containing: "x@acme.example", accountID: accountID).map(\.messageID) == ["x@acme.example", "y@acme.example"])
            _ = try await index.ingest([try Self.message("a@sales.example", at: 0, direction: .ours), try Self.message("b@acme.example", refs: ["a@sales.example"], at: 5)], accountID: accountID)
            // A message that links both threads merges them; one without a date sorts first.
            _ = try await index.ingest([try Self.message("z@acme.example", refs: ["b@acme.example", "y@acme.example"], at: nil)], accountID: accountID)
            let merged = try await index.thread(containing: "a@sales.example", accountID: accountID).map(\.messageID)
            #expect(merged == ["z@acme.example", "a@sales.example", "b@acme.example", "x@acme.example", "y@acme.example"])
            #expect(try await index.thread(containing: "lost@sales.example", accountID: accountID).map(\.messageID) == merged)

            // Gmail's thread id joins messages without headers, in one batch and across batches.
            _ = try await index.ingest(
                [
                    try Self.message("g1@sales.example", at: 100, direction: .ours, gmailThread: "t1", gmailMessage: "m1"),
                    try Self.message("g2@acme.example", at: 200, gmailThread: "t1", gmailMessage: "m2"),
                ], accountID: accountID
            )
            _ = try await index.ingest([try Self.message("g3@mx.example", at: 300, gmailThread: "t1", gmailMessage: "m3")], accountID: accountID)
            #expect(try await index.thread(containing: "g3@mx.example", accountID: accountID).map(\.messageID) == ["g1@sales.example", "g2@acme.example", "g3@mx.example"])
            #expect(try await index.ourMessageID(inGmailThread: "t1", accountID: accountID) == "g1@sales.example")
            #expect(try await index.ourMessageID(inGmailThread: "t2", accountID: accountID) == nil)
            #expect(try await index.knownGmailMessageIDs(["m1", "m3", "m9"], accountID: accountID) == ["m1", "m3"])
            #expect(try await index.knownGmailMessageIDs([], accountID: accountID).isEmpty)
            #expect(try await index.messageCount(accountID: accountID) == 8)

            // Another account's index is its own.
            let other = try await stores.addAccount("other@sales.example")
            #expect(try await index.ingest([try Self.message("a@sales.example", at: 0)], accountID: other) == 1)
            #expect(try await index.thread(containing: "a@sales.example", accountID: other).count == 1)
            #expect(try await index.knownGmailMessageIDs(["m1"], accountID: other).isEmpty)
            #expect(try await index.messageCount(accountID: other) == 1)
        }
    }

    @Test("a first sync's batch of thousands of messages is indexed at once, thread by thread", arguments: StoreKind.allCases)
    func largeBatch(_ kind: StoreKind) async throws {
        try await Self.withIndex(kind) { index, accountID, _ in
            var messages: [IndexedMessage] = []
            // 200 threads of 20 messages, each replying to the one before, shuffled as folders and UIDs mix them.
            for thread in 0..<200 {
                for position in 0..<20 {
                    let parents = (0..<position).map { "t\(thread)-\($0)@x.example" }
                    messages.append(try Self.message("t\(thread)-\(position)@x.example", refs: Array(parents.suffix(3)), at: Double(position)))
                }
            }
            var generator = SystemRandomNumberGenerator()
            messages.shuffle(using: &generator)
            #expect(try await index.ingest(messages, accountID: accountID) == 4_000)
            #expect(try await index.messageCount(accountID: accountID) == 4_000)
            for thread in [0, 99, 199] {
                let found = try await index.thread(containing: "t\(thread)-19@x.example", accountID: accountID)
                #expect(found.map(\.messageID) == (0..<20).map { "t\(thread)-\($0)@x.example" })
            }
        }
    }

    @Test("an account's mailbox state is saved, replaced and read back, the largest UIDs and mod-sequences included", arguments: StoreKind.allCases)
    func mailboxState(_ kind: StoreKind) async throws {
        try await Self.withIndex(kind) { index, accountID, _ in
            #expect(try await index.mailboxState(accountID: accountID, folder: "INBOX") == nil)
            let synced = Date(timeIntervalSince1970: 1_795_953_600.25)
            try await index.saveMailboxState(MailboxState(accountID: accountID, folder: "INBOX", uidValidity: 7, lastUID: 10, highestModSeq: 0, syncedAt: synced))
            let big = MailboxState(accountID: accountID, folder: "INBOX", uidValidity: .max, lastUID: .max - 1, highestModSeq: .max - 2, syncedAt: synced.addingTimeInterval(60))
            try await index.saveMailboxState(big)
            try await index.saveMailboxState(MailboxState(accountID: accountID, folder: "Sent", uidValidity: 1, lastUID: 2, highestModSeq: 3, syncedAt: synced))
            let stored = try #require(try await index.mailboxState(accountID: accountID, folder: "INBOX"))
            #expect(stored.uidValidity == big.uidValidity && stored.lastUID == big.lastUID && stored.highestModSeq == big.highestModSeq)
            #expect(abs(stored.syncedAt.timeIntervalSince(big.syncedAt)) < 0.0005)
            #expect(try await index.mailboxState(accountID: accountID, folder: "Sent")?.lastUID == 2)
            #expect(try await index.mailboxState(accountID: accountID, folder: "Junk") == nil)
        }
    }
}
