import Foundation
import OutreachCore
import OutreachStore
import PostgresTestSupport
import Testing

/// The fencing token in SQL: a worker whose account lease was taken over — it stalled past the lease, then woke —
/// cannot write one more ledger row, whatever it still believes; the worker that took over can.
struct LedgerFenceTests {
    @Test("after a takeover the old lease's ledger and log writes (insert, update, hand-over, log lines) are refused and change nothing; the new lease's go through", arguments: StoreKind.allCases)
    func staleWorkerWritesNothing(_ kind: StoreKind) async throws {
        try await kind.withDatabase { store in
        let database = try await store.open()
        let account = try #require(try await database.accounts.account(id: try await database.addAccount("s@example.com")))
        let campaign = try await database.campaigns.createCampaign(Campaign(name: "F", accountID: account.id!, columns: [], sourceFile: "/f.csv"))
        let prospects = try (1...3).map { row in
            Prospect(campaignID: campaign.id!, row: row, email: try EmailAddress(parsing: "p\(row)@example.com"), fields: [:], selected: true, variant: nil)
        }
        _ = try await database.campaigns.insertProspects(prospects)
        let stored = try await database.campaigns.prospects(campaignID: campaign.id!, afterRow: 0, limit: 10)
        let job = try await database.jobs.create(
            Job(campaignID: campaign.id!, accountID: account.id!, round: 1, spec: Job.Spec(mode: .sendAll, template: "Subject: x\n\ny", templateName: "t"), runAt: Date()),
            guardSeconds: 0, meanPauseSeconds: 0
        )
        let start = Date()
        let first = try #require(try await database.jobs.claim(
            holder: "worker-a", now: start, leaseSeconds: 0.3, graceSeconds: 3600, only: nil, holderAlive: { _ in true }
        ))
        let row = try await database.deliveries.insert(
            Delivery(prospectID: stored[0].id!, round: 1, state: .planned, action: .send, messageID: "m1@example.com", jobID: job.id), fence: first.fence
        )

        // Worker A stalls; its lease runs out (by the database's clock on PostgreSQL) and worker B takes the job over (token + 1).
        try await Task.sleep(for: .seconds(0.8))
        let second = try #require(try await database.jobs.claim(
            holder: "worker-b", now: start.addingTimeInterval(5), leaseSeconds: 60, graceSeconds: 3600, only: nil, holderAlive: { _ in true }
        ))
        #expect(second.token == first.token + 1 && second.interrupted)

        // A wakes and tries to write: every kind of ledger write is refused.
        var skipped = row
        skipped.state = .skipped
        await #expect(throws: JobRuleError.leaseLost(jobID: job.id!)) { try await database.deliveries.update(skipped, fence: first.fence) }
        await #expect(throws: JobRuleError.leaseLost(jobID: job.id!)) {
            _ = try await database.deliveries.insert(
                Delivery(prospectID: stored[1].id!, round: 1, state: .skipped, action: .skip, jobID: job.id), fence: first.fence
            )
        }
        var sending = row
        sending.state = .sending
        let ledger = database.deliveries
        let handedOver = sending
        await #expect(throws: JobRuleError.leaseLost(jobID: job.id!)) { _ = try await PostgresServer.offPool { try ledger.recordHandOver(handedOver, fence: first.fence) } }
        await #expect(throws: JobRuleError.leaseLost(jobID: job.id!)) {
            try await database.jobs.append([JobEvent(jobID: job.id!, at: Date(), kind: .sent, row: 2, email: "p2@example.com", detail: "stale")], fence: first.fence)
        }
        #expect(try await database.jobs.events(jobID: job.id!, afterID: 0, limit: 100).allSatisfy { $0.detail != "stale" }, "the stale worker's log line is not there")
        try await database.jobs.append([JobEvent(jobID: job.id!, at: Date(), kind: .info, detail: "current")], fence: second.fence)
        let rows = try await database.deliveries.deliveries(campaignID: campaign.id!, round: 1)
        #expect(rows.count == 1 && rows[stored[0].id!]?.state == .planned, "nothing A wrote after the takeover is there")

        // B's writes carry the lease the account has now.
        _ = try await PostgresServer.offPool { try ledger.recordHandOver(handedOver, fence: second.fence) }
        #expect(try await database.deliveries.deliveries(campaignID: campaign.id!, round: 1)[stored[0].id!]?.state == .sending)
        }
    }
}
