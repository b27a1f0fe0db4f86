import Foundation
import OutreachCore
@testable import OutreachStore
import PostgresNIO
import PostgresTestSupport
import Testing

/// The delivery ledger on both stores: what a round wrote comes back as written, a round never holds two rows for one
/// prospect, a sent row stays sent, and a job's writes need the account's lease.
struct DeliveryLedgerTests {
    /// An account with a campaign of `count` prospects; their ids in row order.
    static func campaign(_ stores: TestStores, account: String = "s@example.com", name: String = "L", count: Int = 3) async throws
        -> (accountID: Int64, campaignID: Int64, prospects: [Int64])
    {
        let accountID: Int64
        if let existing = try await stores.accounts.account(email: account) { accountID = try #require(existing.id) } else {
            accountID = try await stores.addAccount(account)
        }
        let campaign = try await stores.campaigns.createCampaign(Campaign(name: name, accountID: accountID, columns: [], sourceFile: "/l.csv"))
        let campaignID = try #require(campaign.id)
        _ = try await stores.campaigns.insertProspects(try (1...count).map { row in
            Prospect(campaignID: campaignID, row: row, email: try EmailAddress(parsing: "p\(row)@example.com"), fields: [:], selected: true, variant: nil)
        })
        let prospects = try await stores.campaigns.prospects(campaignID: campaignID, afterRow: 0, limit: count).map { try #require($0.id) }
        return (accountID, campaignID, prospects)
    }

    /// Same to the millisecond, as SQLite stores dates.
    static func sameMillisecond(_ a: Date?, _ b: Date?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return abs(a.timeIntervalSince1970 - b.timeIntervalSince1970) < 0.0005
    }

    static func expectSame(_ stored: Delivery?, _ written: Delivery, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let stored else {
            Issue.record("no row for prospect \(written.prospectID)", sourceLocation: sourceLocation)
            return
        }
        var comparable = stored
        comparable.updatedAt = written.updatedAt
        comparable.sentAt = written.sentAt
        comparable.retryAt = written.retryAt
        #expect(comparable == written, sourceLocation: sourceLocation)
        #expect(sameMillisecond(stored.updatedAt, written.updatedAt), "updatedAt \(stored.updatedAt) vs \(written.updatedAt)", sourceLocation: sourceLocation)
        #expect(sameMillisecond(stored.sentAt, written.sentAt), "sentAt \(String(describing: stored.sentAt))", sourceLocation: sourceLocation)
        #expect(sameMillisecond(stored.retryAt, written.retryAt), "retryAt \(String(describing: stored.retryAt))", sourceLocation: sourceLocation)
    }

    @Test("every field of a ledger row comes back as written, dates to the millisecond, to another process too", arguments: StoreKind.allCases)
    func roundTrip(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (_, campaignID, prospects) = try await Self.campaign(stores)
            let full = Delivery(
                prospectID: prospects[0], round: 1, state: .failed, action: .send, messageID: "m1.\(kind)@sales.example", threadKey: "root@sales.example",
                replyCode: 451, replyText: "4.7.1 Try again later — greylisted 🙃", updatedAt: Date(timeIntervalSince1970: 1_795_953_600.123),
                sentAt: Date(timeIntervalSince1970: 1_795_953_599.987), jobID: 42, attempts: 3, retryAt: Date(timeIntervalSince1970: 1_795_957_200.5),
                gmailMessageID: "18c0ffee00000002", gmailThreadID: "18c0ffee00000001"
            )
            let bare = Delivery(prospectID: prospects[1], round: 1, state: .skipped, action: .skip, updatedAt: Date(timeIntervalSince1970: 0))
            let second = Delivery(prospectID: prospects[0], round: 2, state: .needsData, action: .send, updatedAt: Date(timeIntervalSince1970: -43_200.25))
            var written: [Delivery] = []
            for delivery in [full, bare, second] {
                let inserted = try await stores.deliveries.insert(delivery)
                #expect(inserted.id != nil)
                written.append(inserted)
            }
            let reader = try await database.open()
            let round1 = try await reader.deliveries.deliveries(campaignID: campaignID, round: 1)
            #expect(round1.count == 2)
            Self.expectSame(round1[prospects[0]], written[0])
            Self.expectSame(round1[prospects[1]], written[1])
            let all = try await reader.deliveries.deliveries(campaignID: campaignID)
            #expect(all.map(\.id) == [written[0].id, written[1].id, written[2].id], "by round, then by row")
            Self.expectSame(all.last, written[2])
            #expect(try await reader.deliveries.deliveries(campaignID: campaignID, round: 3).isEmpty)
        }
    }

    @Test("a second row for the same prospect and round is refused, naming them; the first stays", arguments: StoreKind.allCases)
    func deliveryExists(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (_, campaignID, prospects) = try await Self.campaign(stores)
            _ = try await stores.deliveries.insert(Delivery(prospectID: prospects[0], round: 1, state: .planned, action: .send, messageID: "a@x.example"))
            await #expect(throws: StoreError.deliveryExists(prospectID: prospects[0], round: 1)) {
                _ = try await stores.deliveries.insert(Delivery(prospectID: prospects[0], round: 1, state: .skipped, action: .skip))
            }
            #expect(StoreError.deliveryExists(prospectID: prospects[0], round: 1).description.contains("a round never mails anyone twice"))
            let rows = try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)
            #expect(rows.count == 1 && rows[prospects[0]]?.state == .planned)
            // Another round of the same prospect is a row of its own.
            _ = try await stores.deliveries.insert(Delivery(prospectID: prospects[0], round: 2, state: .planned, action: .send))
        }
    }

    @Test("a sent or drafted row is never written back to another state; other updates go through", arguments: StoreKind.allCases)
    func deliverySettled(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (_, campaignID, prospects) = try await Self.campaign(stores)
            var row = try await stores.deliveries.insert(Delivery(prospectID: prospects[0], round: 1, state: .planned, action: .send, messageID: "s@x.example"))
            row.state = .sending
            try await stores.deliveries.update(row)
            row.state = .sent
            row.replyCode = 250
            row.sentAt = Date(timeIntervalSince1970: 1_795_953_600.25)
            try await stores.deliveries.update(row)
            // The same state again (a later field, the Gmail ids) is not a rewrite.
            row.gmailMessageID = "g1"
            try await stores.deliveries.update(row)
            var stale = row
            stale.state = .planned
            let id = try #require(row.id)
            await #expect(throws: StoreError.deliverySettled(deliveryID: id)) { try await stores.deliveries.update(stale) }
            var drafted = try await stores.deliveries.insert(Delivery(prospectID: prospects[1], round: 1, state: .drafted, action: .draft))
            drafted.state = .failed
            await #expect(throws: StoreError.deliverySettled(deliveryID: try #require(drafted.id))) { try await stores.deliveries.update(drafted) }
            let rows = try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)
            #expect(rows[prospects[0]]?.state == .sent && rows[prospects[0]]?.gmailMessageID == "g1" && rows[prospects[1]]?.state == .drafted)
            await #expect(throws: StoreError.corrupt("a delivery without id cannot be updated")) {
                try await stores.deliveries.update(Delivery(prospectID: prospects[2], round: 1, state: .planned, action: .send))
            }
        }
    }

    @Test("sent times and the first send are the account's, across its campaigns and no other account's", arguments: StoreKind.allCases)
    func sentTimes(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (accountID, _, first) = try await Self.campaign(stores, name: "A")
            let (_, _, second) = try await Self.campaign(stores, name: "B")
            let (otherID, _, other) = try await Self.campaign(stores, account: "o@example.com", name: "O")
            #expect(try await stores.deliveries.firstSend(accountID: accountID) == nil)
            let base = Date(timeIntervalSince1970: 1_795_953_600)
            let sends: [(Int64, Date?)] = [
                (first[0], base.addingTimeInterval(-7200)), (first[1], base.addingTimeInterval(60.5)), (first[2], nil),
                (second[0], base.addingTimeInterval(120)), (other[0], base.addingTimeInterval(-86_400)), (other[1], base.addingTimeInterval(180)),
            ]
            for (prospect, sentAt) in sends {
                _ = try await stores.deliveries.insert(
                    Delivery(prospectID: prospect, round: 1, state: sentAt == nil ? .planned : .sent, action: .send, sentAt: sentAt)
                )
            }
            let times = try await stores.deliveries.sentTimes(accountID: accountID, since: base).sorted()
            #expect(times.count == 2 && Self.sameMillisecond(times[0], base.addingTimeInterval(60.5)) && Self.sameMillisecond(times[1], base.addingTimeInterval(120)))
            #expect(Self.sameMillisecond(try await stores.deliveries.firstSend(accountID: accountID), base.addingTimeInterval(-7200)))
            #expect(Self.sameMillisecond(try await stores.deliveries.firstSend(accountID: otherID), base.addingTimeInterval(-86_400)))
        }
    }

    @Test(
        "drafts are the account's drafted rows; a draft sent by hand becomes sent once, with its new Message-ID; a row not drafted or a Message-ID in use is refused",
        arguments: StoreKind.allCases
    )
    func draftSentByHand(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (accountID, campaignID, prospects) = try await Self.campaign(stores, count: 4)
            let (_, _, other) = try await Self.campaign(stores, account: "o@example.com", name: "O", count: 1)
            let stored = Date(timeIntervalSince1970: 1_795_953_600)
            var drafts: [Delivery] = []
            for (i, prospect) in prospects.prefix(3).enumerated() {
                drafts.append(try await stores.deliveries.insert(Delivery(
                    prospectID: prospect, round: 1, state: .drafted, action: .draft, messageID: "d\(i)@x.example", threadKey: "d\(i)@x.example",
                    updatedAt: stored, jobID: 7, gmailMessageID: "g\(i)", gmailThreadID: "t\(i)"
                )))
            }
            let sentRow = try await stores.deliveries.insert(
                Delivery(prospectID: prospects[3], round: 1, state: .sent, action: .send, messageID: "s@x.example", sentAt: stored)
            )
            _ = try await stores.deliveries.insert(Delivery(prospectID: other[0], round: 1, state: .drafted, action: .draft, messageID: "o@x.example"))
            let listed = try await stores.deliveries.drafts(accountID: accountID)
            #expect(listed.map(\.delivery.messageID) == ["d0@x.example", "d1@x.example", "d2@x.example"])
            #expect(listed.map(\.email) == ["p1@example.com", "p2@example.com", "p3@example.com"])
            Self.expectSame(listed.first?.delivery, drafts[0])

            var sent = drafts[0]
            sent.state = .sent
            sent.messageID = "new@client.example"
            sent.threadKey = "new@client.example"
            sent.sentAt = stored.addingTimeInterval(3600.5)
            sent.replyText = "sent by hand from its draft (the client gave it a new Message-ID <new@client.example>)"
            sent.gmailMessageID = "g9"
            sent.gmailThreadID = "t9"
            #expect(try await stores.deliveries.recordSentDraft(sent))
            #expect(try await stores.deliveries.recordSentDraft(sent) == false, "a row no longer drafted is not written again")
            var taken = drafts[1]
            taken.state = .sent
            taken.messageID = "s@x.example"
            #expect(try await stores.deliveries.recordSentDraft(taken) == false, "another row's Message-ID is refused")
            var settled = sentRow
            settled.messageID = "other@x.example"
            #expect(try await stores.deliveries.recordSentDraft(settled) == false, "a row that is not drafted is refused")

            let rows = try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)
            Self.expectSame(rows[prospects[0]], sent)
            #expect(rows[prospects[1]]?.state == .drafted && rows[prospects[1]]?.messageID == "d1@x.example")
            #expect(rows[prospects[3]]?.messageID == "s@x.example")
            #expect(try await stores.deliveries.drafts(accountID: accountID).map(\.delivery.messageID) == ["d1@x.example", "d2@x.example"])
            #expect(Self.sameMillisecond(try await stores.deliveries.firstSend(accountID: accountID), stored))
        }
    }

    /// `recordHandOver` blocks its thread: it runs on a thread of its own, as on an SMTP connection's.
    static func handOver(_ ledger: any DeliveryLedger, _ delivery: Delivery, fence: LeaseFence? = nil) async throws -> Int64 {
        try await PostgresServer.offPool { try ledger.recordHandOver(delivery, fence: fence) }
    }

    @Test("the hand-over inserts a row without id and returns its id, updates one with an id, and keeps a sent row sent", arguments: StoreKind.allCases)
    func recordHandOver(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (_, campaignID, prospects) = try await Self.campaign(stores)
            var row = Delivery(prospectID: prospects[0], round: 1, state: .sending, action: .send, messageID: "h@x.example", updatedAt: Date(timeIntervalSince1970: 1_795_953_600.5))
            row.id = try await Self.handOver(stores.deliveries, row)
            Self.expectSame(try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)[prospects[0]], row)
            row.state = .sent
            row.sentAt = Date(timeIntervalSince1970: 1_795_953_601.75)
            #expect(try await Self.handOver(stores.deliveries, row) == row.id)
            Self.expectSame(try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)[prospects[0]], row)
            var stale = row
            stale.state = .sending
            await #expect(throws: StoreError.deliverySettled(deliveryID: try #require(row.id))) { _ = try await Self.handOver(stores.deliveries, stale) }
            await #expect(throws: StoreError.deliveryExists(prospectID: prospects[0], round: 1)) {
                _ = try await Self.handOver(stores.deliveries, Delivery(prospectID: prospects[0], round: 1, state: .sending, action: .send))
            }
        }
    }

    /// Gives the account's lease to `jobID` with `token`, as a job store's claim or takeover would.
    static func setLease(_ database: StoreDatabase, accountID: Int64, token: Int64, jobID: Int64) async throws {
        try await database.execute(
            """
            INSERT INTO account_lease ("accountID", holder, token, "jobID", "acquiredAt", "expiresAt")
            VALUES (\(accountID), 'worker-\(token)', \(token), \(jobID), '2026-12-01 00:00:00.000', '2026-12-01 01:00:00.000')
            ON CONFLICT ("accountID") DO UPDATE SET holder = excluded.holder, token = excluded.token, "jobID" = excluded."jobID"
            """
        )
    }

    @Test("once the account's lease carries another token, the old lease's inserts, updates and hand-overs are refused and write nothing", arguments: StoreKind.allCases)
    func fenceRefusesStaleLease(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (accountID, campaignID, prospects) = try await Self.campaign(stores)
            try await Self.setLease(database, accountID: accountID, token: 1, jobID: 7)
            let old = LeaseFence(accountID: accountID, token: 1, jobID: 7)
            var row = try await stores.deliveries.insert(
                Delivery(prospectID: prospects[0], round: 1, state: .planned, action: .send, messageID: "f@x.example", jobID: 7), fence: old
            )
            row.state = .sending
            try await stores.deliveries.update(row, fence: old)
            row.id = try await Self.handOver(stores.deliveries, row, fence: old)
            // The same token for another job is not this job's lease.
            await #expect(throws: JobRuleError.leaseLost(jobID: 8)) {
                _ = try await stores.deliveries.insert(
                    Delivery(prospectID: prospects[2], round: 1, state: .skipped, action: .skip), fence: LeaseFence(accountID: accountID, token: 1, jobID: 8)
                )
            }

            // Another worker takes the account over.
            try await Self.setLease(database, accountID: accountID, token: 2, jobID: 7)
            var skipped = row
            skipped.state = .skipped
            await #expect(throws: JobRuleError.leaseLost(jobID: 7)) { try await stores.deliveries.update(skipped, fence: old) }
            await #expect(throws: JobRuleError.leaseLost(jobID: 7)) {
                _ = try await stores.deliveries.insert(Delivery(prospectID: prospects[1], round: 1, state: .skipped, action: .skip, jobID: 7), fence: old)
            }
            var sent = row
            sent.state = .sent
            await #expect(throws: JobRuleError.leaseLost(jobID: 7)) { _ = try await Self.handOver(stores.deliveries, sent, fence: old) }
            await #expect(throws: JobRuleError.leaseLost(jobID: 7)) {
                _ = try await Self.handOver(stores.deliveries, Delivery(prospectID: prospects[1], round: 1, state: .sending, action: .send), fence: old)
            }
            let rows = try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)
            #expect(rows.count == 1 && rows[prospects[0]]?.state == .sending, "nothing the old lease wrote after the takeover is there")
            #expect(JobRuleError.leaseLost(jobID: 7).description.hasPrefix("job #7 was taken over by another worker"))

            // The new lease writes.
            let current = LeaseFence(accountID: accountID, token: 2, jobID: 7)
            _ = try await Self.handOver(stores.deliveries, sent, fence: current)
            _ = try await stores.deliveries.insert(Delivery(prospectID: prospects[1], round: 1, state: .skipped, action: .skip, jobID: 7), fence: current)
            let after = try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)
            #expect(after.count == 2 && after[prospects[0]]?.state == .sent)
        }
    }

    @Test("on PostgreSQL fenced writes wait for a takeover under way, then find the new token and write nothing")
    func fenceWaitsForTakeover() async throws {
        try await StoreKind.postgres.withDatabase { database in
            let stores = try await database.open()
            let (accountID, campaignID, prospects) = try await Self.campaign(stores)
            try await Self.setLease(database, accountID: accountID, token: 1, jobID: 7)
            let old = LeaseFence(accountID: accountID, token: 1, jobID: 7)
            let planned = try await stores.deliveries.insert(Delivery(prospectID: prospects[0], round: 1, state: .planned, action: .send, jobID: 7), fence: old)
            let postgres = try await database.openPostgres()
            let observer = try await database.openPostgres()
            let ledger = stores.deliveries
            let writes = try await postgres.connection.transaction { takeover -> [Task<Void, any Error>] in
                try await takeover.execute(#"UPDATE account_lease SET token = 2, holder = 'worker-2' WHERE "accountID" = \#(accountID)"#)
                var skipped = planned
                skipped.state = .skipped
                let writes = [
                    Task { _ = try await ledger.insert(Delivery(prospectID: prospects[1], round: 1, state: .skipped, action: .skip, jobID: 7), fence: old) },
                    Task { try await ledger.update(skipped, fence: old) },
                ]
                // Both writes have read the old token and now wait for the takeover's lock on the lease row.
                var waiting = 0
                for _ in 0..<600 where waiting < 2 {
                    waiting = try await observer.connection.first(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    ) { try $0.get("n", as: Int.self) } ?? 0
                    if waiting < 2 { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(waiting == 2, "the fenced insert and update wait for the lease row")
                return writes
            }
            for write in writes { await #expect(throws: JobRuleError.leaseLost(jobID: 7)) { try await write.value } }
            let rows = try await stores.deliveries.deliveries(campaignID: campaignID, round: 1)
            #expect(rows.count == 1 && rows[prospects[0]]?.state == .planned)
        }
    }
}
