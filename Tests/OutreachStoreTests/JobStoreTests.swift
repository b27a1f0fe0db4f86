import Foundation
import OutreachCore
import OutreachStore
import Testing

/// The job rules two processes could race on — the guard window, claims, the account lease and its fencing token —
/// on both stores, with each worker on a database connection of its own as on separate machines.
struct JobStoreTests {
    static func job(campaignID: Int64, accountID: Int64, at runAt: Date = Date(), ownerID: Int64? = nil) -> Job {
        Job(
            campaignID: campaignID, accountID: accountID, round: 1, spec: Job.Spec(mode: .sendAll, template: "Subject: x\n\ny", templateName: "t.md"),
            runAt: runAt, ownerID: ownerID
        )
    }

    /// An account with a campaign, for jobs to point at.
    static func campaign(_ stores: TestStores, _ email: String) async throws -> (campaignID: Int64, accountID: Int64) {
        let accountID = try await stores.addAccount(email)
        let campaign = try await stores.campaigns.createCampaign(Campaign(name: email, accountID: accountID, columns: [], sourceFile: "/x.csv"))
        return (try #require(campaign.id), accountID)
    }

    @Test("a job reads back as created; the guard window refuses a second job too close to the first and names the earliest start", arguments: StoreKind.allCases)
    func createAndGuardWindow(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (campaignID, accountID) = try await Self.campaign(stores, "s@example.com")
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            var first = Self.job(campaignID: campaignID, accountID: accountID, at: start, ownerID: 7)
            first.spec.variant = "B"
            first.counters.total = 20
            let created = try await stores.jobs.create(first, guardSeconds: 3600, meanPauseSeconds: 30)
            let createdID = try #require(created.id)
            let read = try #require(try await stores.jobs.job(id: createdID))
            #expect(read.spec == first.spec && read.runAt == start && read.counters == first.counters && read.ownerID == 7 && read.state == .pending)
            #expect(try await stores.jobs.jobs(states: nil, ownerID: nil, limit: 10).first?.spec.template == "", "listings leave the template out")

            let other = try await database.open()  // another process
            do {
                _ = try await other.jobs.create(Self.job(campaignID: campaignID, accountID: accountID, at: start.addingTimeInterval(600)), guardSeconds: 3600, meanPauseSeconds: 30)
                Issue.record("a job inside the guard window was accepted")
            } catch JobRuleError.guardWindow(let conflict, let earliest, _) {
                #expect(conflict.id == created.id)
                // Projected end: 20 rows × 30 s after the start, then the hour's guard.
                #expect(earliest == start.addingTimeInterval(600 + 3600))
            }
            let later = try await other.jobs.create(
                Self.job(campaignID: campaignID, accountID: accountID, at: start.addingTimeInterval(600 + 3600)), guardSeconds: 3600, meanPauseSeconds: 30
            )
            #expect(try await stores.jobs.jobs(states: [.pending], ownerID: nil, limit: 10).map(\.id) == [later.id, created.id])
            #expect(try await stores.jobs.jobs(states: nil, ownerID: 7, limit: 10).map(\.id) == [created.id])
            #expect(try await stores.jobs.jobs(states: nil, ownerID: nil, before: later.id, limit: 10).map(\.id) == [created.id])
        }
    }

    @Test("four workers claiming at once take every due job exactly once, never two jobs of one account, and fail the account's second new job", arguments: StoreKind.allCases)
    func concurrentClaims(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            var accounts: [(campaignID: Int64, accountID: Int64)] = []
            for i in 0..<6 { accounts.append(try await Self.campaign(stores, "a\(i)@example.com")) }
            var expected: Set<Int64> = []
            let now = Date()
            for account in accounts {
                expected.insert(try #require(try await stores.jobs.create(Self.job(campaignID: account.campaignID, accountID: account.accountID, at: now), guardSeconds: 0, meanPauseSeconds: 0).id))
            }
            // A second job of account 0, due a moment later: its account is busy once the first runs.
            let second = try await stores.jobs.create(
                Self.job(campaignID: accounts[0].campaignID, accountID: accounts[0].accountID, at: now.addingTimeInterval(0.001)), guardSeconds: 0, meanPauseSeconds: 0
            )
            var workers: [TestStores] = []
            for _ in 0..<4 { workers.append(try await database.open()) }
            let claims = try await withThrowingTaskGroup(of: [JobClaim].self) { group in
                for (n, worker) in workers.enumerated() {
                    group.addTask {
                        var mine: [JobClaim] = []
                        while let claim = try await worker.jobs.claim(
                            holder: "host-\(n)", now: now.addingTimeInterval(1), leaseSeconds: 300, graceSeconds: 3600, only: nil, holderAlive: { _ in true }
                        ) {
                            mine.append(claim)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(Set(claims.compactMap(\.job.id)) == expected && claims.count == expected.count, "each first job claimed once: \(claims.map { ($0.holder, $0.job.id!) })")
            #expect(Set(claims.map(\.job.accountID)).count == claims.count, "no account twice")
            let refused = try #require(try await stores.jobs.job(id: second.id!))
            #expect(refused.state == .failed && refused.note?.contains("the account is busy: job #\(claims.first { $0.job.accountID == accounts[0].accountID }!.job.id!)") == true)
            #expect(try await stores.jobs.jobs(states: [.running], ownerID: nil, limit: 100).count == accounts.count)
        }
    }

    @Test("after the lease runs out by the database's clock, another worker takes the job over with the next token; the first can no longer renew or write progress", arguments: StoreKind.allCases)
    func leaseTakeover(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let a = try await database.open()
            let b = try await database.open()
            let (campaignID, accountID) = try await Self.campaign(a, "s@example.com")
            let job = try await a.jobs.create(Self.job(campaignID: campaignID, accountID: accountID), guardSeconds: 0, meanPauseSeconds: 0)
            let first = try #require(try await a.jobs.claim(holder: "host-a", now: Date(), leaseSeconds: 600, graceSeconds: 3600, only: nil, holderAlive: { _ in true }))
            #expect(try await b.jobs.claim(holder: "host-b", now: Date(), leaseSeconds: 60, graceSeconds: 3600, only: nil, holderAlive: { _ in true }) == nil, "the lease is live")
            // A renewal sets the lease's end from now: a short one lets it run out soon, however slow the machine.
            #expect(try await a.jobs.renew(first, now: Date(), leaseSeconds: 0.3))
            try await Task.sleep(for: .seconds(1))
            let second = try #require(try await b.jobs.claim(holder: "host-b", now: Date(), leaseSeconds: 60, graceSeconds: 3600, only: nil, holderAlive: { _ in true }))
            #expect(second.job.id == job.id && second.interrupted && second.token == first.token + 1)
            #expect(try await a.jobs.renew(first, now: Date(), leaseSeconds: 60) == false)
            await #expect(throws: JobRuleError.leaseLost(jobID: job.id!)) { _ = try await a.jobs.progress(first, counters: Job.Counters(total: 1, sent: 1), note: nil) }
            await #expect(throws: JobRuleError.leaseLost(jobID: job.id!)) {
                try await a.jobs.finish(first, state: .completed, counters: Job.Counters(), note: nil, runAt: nil, now: Date())
            }
            #expect(try await b.jobs.renew(second, now: Date(), leaseSeconds: 60))
            #expect(try await b.jobs.progress(second, counters: Job.Counters(total: 2, sent: 1), note: "half") == nil)
            try await b.jobs.finish(second, state: .completed, counters: Job.Counters(total: 2, sent: 2), note: nil, runAt: nil, now: Date())
            let done = try #require(try await a.jobs.job(id: job.id!))
            #expect(done.state == .completed && done.counters.sent == 2 && done.finishedAt != nil)
            let log = try await a.jobs.events(jobID: job.id!, afterID: 0, limit: 100).map(\.detail)
            #expect(log == ["started by host-a", "resumed by host-b after its worker stopped", "completed"])
        }
    }

    @Test("a job whose worker process is gone is taken over at once, without waiting for its lease", arguments: StoreKind.allCases)
    func deadHolder(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (campaignID, accountID) = try await Self.campaign(stores, "s@example.com")
            _ = try await stores.jobs.create(Self.job(campaignID: campaignID, accountID: accountID), guardSeconds: 0, meanPauseSeconds: 0)
            let first = try #require(try await stores.jobs.claim(holder: "dead", now: Date(), leaseSeconds: 600, graceSeconds: 3600, only: nil, holderAlive: { _ in true }))
            let second = try #require(try await stores.jobs.claim(
                holder: "alive", now: Date(), leaseSeconds: 600, graceSeconds: 3600, only: nil, holderAlive: { $0 != "dead" }
            ))
            #expect(second.interrupted && second.token == first.token + 1)
        }
    }

    @Test("operator requests: pause and cancel by request while running, at once otherwise; resume, reopen, revoke; late jobs are missed; events keep their rows and emails", arguments: StoreKind.allCases)
    func operatorRequests(_ kind: StoreKind) async throws {
        try await kind.withDatabase { database in
            let stores = try await database.open()
            let (campaignID, accountID) = try await Self.campaign(stores, "s@example.com")
            let (otherCampaign, otherAccount) = try await Self.campaign(stores, "t@example.com")
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))  // stored exactly by both
            let running = try await stores.jobs.create(Self.job(campaignID: campaignID, accountID: accountID, at: now, ownerID: 3), guardSeconds: 0, meanPauseSeconds: 0)
            let claim = try #require(try await stores.jobs.claim(holder: "w", now: now, leaseSeconds: 60, graceSeconds: 3600, only: running.id, holderAlive: { _ in true }))
            #expect(try await stores.jobs.request(.pause, jobID: running.id!, now: now).control == .pause)
            #expect(try await stores.jobs.progress(claim, counters: Job.Counters(total: 3), note: nil) == .pause)
            #expect(try await stores.jobs.request(.cancel, jobID: running.id!, now: now).control == .cancel)
            #expect(try await stores.jobs.request(.pause, jobID: running.id!, now: now).control == .cancel, "a cancel is not softened into a pause")
            try await stores.jobs.finish(claim, state: .pending, counters: Job.Counters(total: 3), note: "waiting", runAt: now.addingTimeInterval(60), now: now)
            let cancelled = try #require(try await stores.jobs.job(id: running.id!))
            #expect(cancelled.state == .cancelled && cancelled.note == "cancelled by the operator" && cancelled.control == nil)
            let reopened = try await stores.jobs.reopen(jobID: running.id!, now: now)
            #expect(reopened.state == .pending && reopened.finishedAt == nil)

            let paused = try await stores.jobs.request(.pause, jobID: running.id!, now: now)
            #expect(paused.state == .paused && paused.note == "paused by the operator")
            let later = now.addingTimeInterval(30)
            #expect(try await stores.jobs.resume(jobID: running.id!, now: later).state == .pending)
            #expect(try await stores.jobs.job(id: running.id!)?.runAt == later)
            await #expect(throws: JobRuleError.notAllowed(jobID: running.id!, state: .pending, action: "resumed (only a paused job can)")) {
                _ = try await stores.jobs.resume(jobID: running.id!, now: later)
            }
            try await stores.jobs.adjustCounters(jobID: running.id!) { $0.held += 1 }
            #expect(try await stores.jobs.job(id: running.id!)?.counters.held == 1)

            let other = try await stores.jobs.create(Self.job(campaignID: otherCampaign, accountID: otherAccount, at: now.addingTimeInterval(600), ownerID: 3), guardSeconds: 0, meanPauseSeconds: 0)
            #expect(try await stores.jobs.cancelJobs(ownerID: 3, accountID: otherAccount, reason: "the grant was revoked", now: now) == 1)
            #expect(try await stores.jobs.job(id: other.id!)?.note == "cancelled: the grant was revoked")
            #expect(try await stores.jobs.job(id: running.id!)?.state == .pending, "only the revoked account's jobs")

            let late = try await stores.jobs.create(Self.job(campaignID: otherCampaign, accountID: otherAccount, at: now.addingTimeInterval(-7200)), guardSeconds: 0, meanPauseSeconds: 0)
            _ = try await stores.jobs.claim(holder: "w", now: now, leaseSeconds: 60, graceSeconds: 3600, only: late.id, holderAlive: { _ in true })
            let missed = try #require(try await stores.jobs.job(id: late.id!))
            #expect(missed.state == .missed && missed.note?.hasPrefix("missed: it was due at") == true)

            try await stores.jobs.append([
                JobEvent(jobID: late.id!, at: now, kind: .sent, row: 4, email: "p@example.com", detail: "sent"),
                JobEvent(jobID: late.id!, at: now, kind: .info, detail: "no row"),
            ])
            let events = try await stores.jobs.events(jobID: late.id!, afterID: 0, limit: 10)
            #expect(events.suffix(2).map(\.row) == [4, nil] && events.suffix(2).map(\.email) == ["p@example.com", nil] && events.last?.kind == .info)
            let firstEventID = try #require(events.first?.id)
            let afterFirst = try await stores.jobs.events(jobID: late.id!, afterID: firstEventID, limit: 10)
            #expect(afterFirst.count == events.count - 1)

            try await stores.jobs.heartbeat(holder: "w1", now: now)
            try await stores.jobs.heartbeat(holder: "w2", now: now.addingTimeInterval(-600))
            #expect(try await stores.jobs.liveWorkers(since: now.addingTimeInterval(-60)) == ["w1"])
            try await stores.jobs.workerGone(holder: "w1")
            #expect(try await stores.jobs.liveWorkers(since: now.addingTimeInterval(-60)).isEmpty)
        }
    }
}
