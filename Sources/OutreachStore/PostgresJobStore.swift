import Foundation
import OutreachCore
import PostgresNIO

/// ``JobStore`` on PostgreSQL, for workers on several machines.
///
/// - Claims lock the due job rows with `FOR UPDATE SKIP LOCKED`, so workers claiming at the same moment take different
///   jobs instead of queueing on one, and the account with a transaction-level advisory lock, so two workers cannot
///   take two jobs of one account between reading its lease and writing it.
/// - Lease times come from the database server's clock (`clock_timestamp()`), never from a host's: a worker whose
///   clock runs ahead cannot declare another's lease expired. The `now` the callers give still stamps the log and
///   decides which jobs are due, as on SQLite.
/// - The lease row is locked (`FOR UPDATE`) by whoever takes it over; ledger writes lock it for share while they check
///   their fencing token (``PostgresDeliveryLedger``), so a takeover and a stale worker's write cannot interleave.
public struct PostgresJobStore: JobStore {
    let db: PostgresStatements

    /// Advisory lock spaces (the first half of a two-part key; the account id is the second): "jobs" and "gard".
    static let claimLockSpace: Int32 = 0x6a6f_6273
    static let guardLockSpace: Int32 = 0x6761_7264

    static let columns = #"""
        id, "campaignID", "accountID", round, mode, variant, force, "domainReplies", template, "templateName", state, control, "runAt", "createdAt",
        "startedAt", "finishedAt", counters, note, "ownerID", "leaseToken"
        """#
    /// The same without the template text, for listings.
    static let listColumns = columns.replacingOccurrences(of: " template,", with: " '' AS template,")

    static let countersDecoder = JSONDecoder()

    static func job(_ row: PostgresRandomAccessRow) throws -> Job {
        let id: Int64 = try row.get("id")
        let stateText: String = try row.get("state")
        let modeText: String = try row.get("mode")
        guard let state = Job.State(rawValue: stateText), let mode = RoundMode(rawValue: modeText) else {
            throw StoreError.corrupt("job \(id) has state '\(stateText)' / mode '\(modeText)'")
        }
        let counters: Job.Counters
        do { counters = try countersDecoder.decode(Job.Counters.self, from: Data(try row.get("counters", as: String.self).utf8)) } catch {
            throw StoreError.corrupt("job \(id) has unreadable counters")
        }
        var job = Job(
            id: id, campaignID: try row.get("campaignID"), accountID: try row.get("accountID"), round: try row.get("round", as: Int.self),
            spec: .init(
                mode: mode, variant: try row.get("variant"), force: try row.get("force"), domainReplies: try row.get("domainReplies"),
                template: try row.get("template"), templateName: try row.get("templateName")
            ),
            state: state, runAt: try row.get("runAt"), createdAt: try row.get("createdAt"), counters: counters, note: try row.get("note"),
            ownerID: try row.get("ownerID")
        )
        job.control = try row.get("control", as: String?.self).flatMap(Job.Control.init(rawValue:))
        job.startedAt = try row.get("startedAt")
        job.finishedAt = try row.get("finishedAt")
        return job
    }

    static func encode(_ counters: Job.Counters) throws -> String {
        String(decoding: try JSONEncoder().encode(counters), as: UTF8.self)
    }

    // MARK: - Creating and reading

    public func create(_ job: Job, guardSeconds: Double, meanPauseSeconds: Double) async throws -> Job {
        let counters = try Self.encode(job.counters)
        return try await db.transaction { db in
            try await Self.checkGuard(db, accountID: job.accountID, start: job.runAt, excluding: nil, guardSeconds: guardSeconds, meanPause: meanPauseSeconds)
            let id = try await db.first(
                #"""
                INSERT INTO job ("campaignID", "accountID", round, mode, variant, force, "domainReplies", template, "templateName", state, control, "runAt",
                    "createdAt", "startedAt", "finishedAt", counters, note, "ownerID")
                VALUES (\#(job.campaignID), \#(job.accountID), \#(Int64(job.round)), \#(job.spec.mode.rawValue), \#(job.spec.variant)::text, \#(job.spec.force),
                    \#(job.spec.domainReplies), \#(job.spec.template), \#(job.spec.templateName), \#(job.state.rawValue), \#(job.control?.rawValue)::text,
                    \#(job.runAt), \#(job.createdAt), \#(job.startedAt)::timestamptz, \#(job.finishedAt)::timestamptz, \#(counters), \#(job.note)::text,
                    \#(job.ownerID)::bigint)
                RETURNING id
                """#
            ) { try $0.get("id", as: Int64.self) }
            var created = job
            created.id = id
            return created
        }
    }

    public func reschedule(jobID: Int64, to start: Date, guardSeconds: Double, meanPauseSeconds: Double) async throws -> Job {
        try await db.transaction { db in
            guard let job = try await Self.lockedJob(jobID, db) else { throw JobRuleError.jobNotFound(id: jobID) }
            guard job.state == .pending || job.state == .paused else { throw JobRuleError.notAllowed(jobID: jobID, state: job.state, action: "rescheduled") }
            try await Self.checkGuard(db, accountID: job.accountID, start: start, excluding: jobID, guardSeconds: guardSeconds, meanPause: meanPauseSeconds)
            try await db.execute(#"UPDATE job SET "runAt" = \#(start) WHERE id = \#(jobID)"#)
            var moved = job
            moved.runAt = start
            return moved
        }
    }

    /// The guard window, as on SQLite, under the account's advisory lock: two processes creating jobs for one account
    /// at the same moment check one after the other, so both cannot pass.
    static func checkGuard(_ db: PostgresTransaction, accountID: Int64, start: Date, excluding: Int64?, guardSeconds: Double, meanPause: Double) async throws {
        guard guardSeconds > 0 else { return }
        try await db.execute("SELECT pg_advisory_xact_lock(\(guardLockSpace), \(Int32(truncatingIfNeeded: accountID)))")
        let others = try await db.rows(
            #"SELECT \#(unescaped: columns) FROM job WHERE "accountID" = \#(accountID) AND state IN ('pending', 'running')"#, job
        ).filter { $0.id != excluding }
        let bookings = GuardWindow.bookings(of: others, meanPauseSeconds: meanPause)
        if case .rejected(let conflictID, let earliest) = GuardWindow.check(start: start, guardSeconds: guardSeconds, others: bookings),
            let conflict = others.first(where: { $0.id == conflictID })
        {
            throw JobRuleError.guardWindow(conflict: conflict, earliest: earliest, guardSeconds: guardSeconds)
        }
    }

    static func lockedJob(_ id: Int64, _ db: PostgresTransaction) async throws -> Job? {
        try await db.first(#"SELECT \#(unescaped: columns) FROM job WHERE id = \#(id) FOR UPDATE"#, job)
    }

    public func job(id: Int64) async throws -> Job? {
        try await db.first(#"SELECT \#(unescaped: Self.columns) FROM job WHERE id = \#(id)"#, Self.job)
    }

    /// Listings leave the template text out, as on SQLite. Only the conditions asked for are in the statement, so the
    /// planner uses the indexes on state and owner.
    public func jobs(states: Set<Job.State>?, ownerID: Int64?, before: Int64?, limit: Int) async throws -> [Job] {
        var bindings = PostgresBindings()
        var conditions: [String] = []
        if let before {
            bindings.append(before)
            conditions.append("id < $\(bindings.count)")
        }
        if let states {
            bindings.append(states.map(\.rawValue).sorted())
            conditions.append("state = ANY($\(bindings.count)::text[])")
        }
        if let ownerID {
            bindings.append(ownerID)
            conditions.append(#""ownerID" = $\#(bindings.count)"#)
        }
        bindings.append(Int64(limit))
        let sql = "SELECT \(Self.listColumns) FROM job \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT $\(bindings.count)"
        return try await db.rows(PostgresQuery(unsafeSQL: sql, binds: bindings), Self.job)
    }

    public func append(_ events: [JobEvent], fence: LeaseFence?) async throws {
        guard !events.isEmpty else { return }
        guard let fence else { return try await db.execute(Self.insertQuery(events)) }
        try await db.transaction { db in
            // The lease row held for share until the lines are in: a takeover waits for them, or they are refused.
            let held = try await db.first(
                #"""
                SELECT 1 AS held FROM account_lease WHERE "accountID" = \#(fence.accountID) AND token = \#(fence.token) AND "jobID" = \#(fence.jobID) FOR SHARE
                """#
            ) { _ in true }
            guard held == true else { throw JobRuleError.leaseLost(jobID: fence.jobID) }
            try await Self.insert(events, db)
        }
    }

    /// One statement for any number of events; NULL rows and emails travel as flags, since postgres-nio binds no
    /// arrays with NULLs.
    static func insertQuery(_ events: [JobEvent]) -> PostgresQuery {
        #"""
        INSERT INTO job_event ("jobID", "at", kind, "row", email, detail)
        SELECT j, a, k, CASE WHEN hr THEN r END, CASE WHEN he THEN e END, d
        FROM unnest(\#(events.map(\.jobID))::bigint[], \#(events.map(\.at))::timestamptz[], \#(events.map(\.kind.rawValue))::text[],
            \#(events.map { $0.row != nil })::boolean[], \#(events.map { Int64($0.row ?? 0) })::bigint[],
            \#(events.map { $0.email != nil })::boolean[], \#(events.map { $0.email ?? "" })::text[], \#(events.map(\.detail))::text[])
            WITH ORDINALITY AS t(j, a, k, hr, r, he, e, d, ord)
        ORDER BY ord
        """#
    }

    static func insert(_ events: [JobEvent], _ db: PostgresTransaction) async throws {
        try await db.execute(insertQuery(events))
    }

    public func events(jobID: Int64, afterID: Int64, limit: Int) async throws -> [JobEvent] {
        try await db.rows(
            #"SELECT id, "jobID", "at", kind, "row", email, detail FROM job_event WHERE "jobID" = \#(jobID) AND id > \#(afterID) ORDER BY id LIMIT \#(Int64(limit))"#
        ) { row in
            JobEvent(
                id: try row.get("id"), jobID: try row.get("jobID"), at: try row.get("at"),
                kind: JobEvent.Kind(rawValue: try row.get("kind", as: String.self)) ?? .info, row: try row.get("row", as: Int64?.self).map { Int($0) },
                email: try row.get("email"), detail: try row.get("detail")
            )
        }
    }

    // MARK: - Workers

    /// The account's lease as a claimer sees it, with liveness judged by the server's clock.
    struct Lease {
        let holder: String
        let token: Int64
        let jobID: Int64?
        let unexpired: Bool

        func isLive(_ holderAlive: (String) -> Bool) -> Bool { jobID != nil && unexpired && holderAlive(holder) }
    }

    /// How many due jobs one claim looks at before giving up for this round; the worker claims again soon.
    static let claimBatch: Int64 = 64

    public func claim(
        holder: String, now: Date, leaseSeconds: Double, graceSeconds: Double, only: Int64?, holderAlive: @Sendable (String) -> Bool
    ) async throws -> JobClaim? {
        try await db.transaction { db in
            try await Self.markMissed(db, now: now, graceSeconds: graceSeconds)
            var onlyAccount: Int64?
            if let only {
                guard let account = try await db.first(#"SELECT "accountID" FROM job WHERE id = \#(only)"#, { try $0.get("accountID", as: Int64.self) }) else {
                    return nil
                }
                onlyAccount = account
            }
            // Jobs whose worker died come first: they hold the account until they finish. Read without locks (running
            // jobs write their progress all the time); only the ones whose lease looks dead are locked and checked again.
            let running = try await db.rows(
                #"""
                SELECT job.id, l.holder, l.token, l."jobID", l."expiresAt" > clock_timestamp() AS unexpired
                FROM job LEFT JOIN account_lease l ON l."accountID" = job."accountID"
                WHERE job.state = 'running' AND (\#(onlyAccount)::bigint IS NULL OR job."accountID" = \#(onlyAccount)::bigint) ORDER BY job.id
                """#
            ) { row -> (id: Int64, lease: Lease?) in
                let holder = try row.get("holder", as: String?.self)
                return (
                    try row.get("id"),
                    try holder.map { Lease(holder: $0, token: try row.get("token"), jobID: try row.get("jobID"), unexpired: try row.get("unexpired")) }
                )
            }
            for candidate in running where candidate.lease?.isLive(holderAlive) != true {
                guard let job = try await db.first(
                    #"SELECT \#(unescaped: Self.columns) FROM job WHERE id = \#(candidate.id) AND state = 'running' FOR UPDATE SKIP LOCKED"#, Self.job
                ), case .taken(let lease) = try await Self.lockAccount(job.accountID, db)
                else { continue }
                if lease?.isLive(holderAlive) == true { continue }
                return try await Self.take(db, job, lease: lease, holder: holder, now: now, leaseSeconds: leaseSeconds, interrupted: true)
            }
            let due = try await db.rows(
                #"""
                SELECT \#(unescaped: Self.columns) FROM job WHERE state = 'pending' AND "runAt" <= \#(now) AND (\#(only)::bigint IS NULL OR id = \#(only)::bigint)
                ORDER BY "runAt", id LIMIT \#(Self.claimBatch) FOR UPDATE SKIP LOCKED
                """#, Self.job
            )
            for job in due {
                guard case .taken(let lease) = try await Self.lockAccount(job.accountID, db) else { continue }
                if let lease, lease.isLive(holderAlive), let busyID = lease.jobID, busyID != job.id {
                    // A job that ran before waits for the account; a new one fails at once (the seed's account lock).
                    if job.startedAt != nil { continue }
                    let since = try await db.first(#"SELECT "startedAt" FROM job WHERE id = \#(busyID)"#) { try $0.get("startedAt", as: Date?.self) }
                        .flatMap { $0 }.map { " since \(JobTime.format($0))" } ?? ""
                    let note = "the account is busy: job #\(busyID) has been running\(since), and only one job per account runs at a time; "
                        + "schedule this round after it ends"
                    try await db.execute(#"UPDATE job SET state = 'failed', "finishedAt" = \#(now), note = \#(note) WHERE id = \#(job.id!)"#)
                    try await Self.insert([JobEvent(jobID: job.id!, at: now, kind: .error, detail: note)], db)
                    continue
                }
                return try await Self.take(db, job, lease: lease, holder: holder, now: now, leaseSeconds: leaseSeconds, interrupted: false)
            }
            return nil
        }
    }

    enum AccountLock {
        /// Another claimer holds the account right now: that worker decides about its jobs; this one moves on.
        case busy
        /// Ours for this transaction, with its lease row locked (nil: the account never had a lease).
        case taken(Lease?)
    }

    static func lockAccount(_ accountID: Int64, _ db: PostgresTransaction) async throws -> AccountLock {
        let locked = try await db.first("SELECT pg_try_advisory_xact_lock(\(claimLockSpace), \(Int32(truncatingIfNeeded: accountID))) AS locked") {
            try $0.get("locked", as: Bool.self)
        }
        guard locked == true else { return .busy }
        let lease = try await db.first(
            #"""
            SELECT holder, token, "jobID", "expiresAt" > clock_timestamp() AS unexpired FROM account_lease WHERE "accountID" = \#(accountID) FOR UPDATE
            """#
        ) { Lease(holder: try $0.get("holder"), token: try $0.get("token"), jobID: try $0.get("jobID"), unexpired: try $0.get("unexpired")) }
        return .taken(lease)
    }

    static func markMissed(_ db: PostgresTransaction, now: Date, graceSeconds: Double) async throws {
        let late = try await db.rows(
            #"""
            SELECT id, "runAt" FROM job WHERE state = 'pending' AND "startedAt" IS NULL AND "runAt" < \#(now.addingTimeInterval(-graceSeconds))
            FOR UPDATE SKIP LOCKED
            """#
        ) { (id: try $0.get("id", as: Int64.self), runAt: try $0.get("runAt", as: Date.self)) }
        guard !late.isEmpty else { return }
        var events: [JobEvent] = []
        for job in late {
            let note = "missed: it was due at \(JobTime.format(job.runAt)), and no worker ran it within the \(DurationText.format(seconds: graceSeconds)) grace period; "
                + "nothing was sent. Create it again for a new time"
            try await db.execute(#"UPDATE job SET state = 'missed', "finishedAt" = \#(now), note = \#(note) WHERE id = \#(job.id)"#)
            events.append(JobEvent(jobID: job.id, at: now, kind: .error, detail: note))
        }
        try await insert(events, db)
    }

    /// Takes the account's lease (token + 1, expiring by the server's clock) and marks the job running under it.
    static func take(
        _ db: PostgresTransaction, _ job: Job, lease: Lease?, holder: String, now: Date, leaseSeconds: Double, interrupted: Bool
    ) async throws -> JobClaim {
        let token = (lease?.token ?? 0) + 1
        let jobID = job.id!
        try await db.execute(
            #"""
            INSERT INTO account_lease ("accountID", holder, token, "jobID", "acquiredAt", "expiresAt")
            VALUES (\#(job.accountID), \#(holder), \#(token), \#(jobID), clock_timestamp(), clock_timestamp() + make_interval(secs => \#(leaseSeconds)))
            ON CONFLICT ("accountID") DO UPDATE SET holder = excluded.holder, token = excluded.token, "jobID" = excluded."jobID",
                "acquiredAt" = excluded."acquiredAt", "expiresAt" = excluded."expiresAt"
            """#
        )
        let startedAt = job.startedAt ?? now
        try await db.execute(
            #"UPDATE job SET state = 'running', "startedAt" = \#(startedAt), "leaseToken" = \#(token), note = NULL WHERE id = \#(jobID)"#
        )
        try await insert([JobEvent(
            jobID: jobID, at: now, kind: .info, detail: interrupted ? "resumed by \(holder) after its worker stopped" : "started by \(holder)"
        )], db)
        var running = job
        running.state = .running
        running.startedAt = startedAt
        running.note = nil
        return JobClaim(job: running, token: token, holder: holder, interrupted: interrupted)
    }

    public func renew(_ claim: JobClaim, now: Date, leaseSeconds: Double) async throws -> Bool {
        let renewed = try await db.rows(
            #"""
            UPDATE account_lease SET "expiresAt" = clock_timestamp() + make_interval(secs => \#(leaseSeconds))
            WHERE "accountID" = \#(claim.job.accountID) AND token = \#(claim.token) AND holder = \#(claim.holder) RETURNING token
            """#
        ) { try $0.get("token", as: Int64.self) }
        return renewed.count == 1
    }

    public func progress(_ claim: JobClaim, counters: Job.Counters, note: String?) async throws -> Job.Control? {
        let json = try Self.encode(counters)
        let control = try await db.first(
            #"""
            UPDATE job SET counters = \#(json), note = \#(note)::text WHERE id = \#(claim.job.id ?? 0) AND "leaseToken" = \#(claim.token) AND state = 'running'
            RETURNING control
            """#
        ) { try $0.get("control", as: String?.self) }
        guard let control else { throw JobRuleError.leaseLost(jobID: claim.job.id ?? 0) }
        return control.flatMap(Job.Control.init(rawValue:))
    }

    public func finish(_ claim: JobClaim, state: Job.State, counters: Job.Counters, note: String?, runAt: Date?, now: Date) async throws {
        let json = try Self.encode(counters)
        try await db.transaction { db in
            let jobID = claim.job.id ?? 0
            let locked = try await db.first(#"SELECT \#(unescaped: Self.columns) FROM job WHERE id = \#(jobID) FOR UPDATE"#) {
                (job: try Self.job($0), token: try $0.get("leaseToken", as: Int64?.self))
            }
            guard let (job, token) = locked, token == claim.token, job.state == .running else { throw JobRuleError.leaseLost(jobID: jobID) }
            // An operator's request that arrived while the run ended for another reason still holds.
            var state = state
            var note = note
            if !state.isFinal, let control = job.control {
                state = control == .cancel ? .cancelled : .paused
                note = control == .cancel ? "cancelled by the operator" : "paused by the operator"
            }
            try await db.execute(
                #"""
                UPDATE job SET state = \#(state.rawValue), counters = \#(json), note = \#(note)::text, control = NULL,
                    "finishedAt" = CASE WHEN \#(state.isFinal) THEN \#(now) ELSE "finishedAt" END, "runAt" = COALESCE(\#(runAt)::timestamptz, "runAt")
                WHERE id = \#(jobID)
                """#
            )
            try await db.execute(
                #"""
                UPDATE account_lease SET "expiresAt" = clock_timestamp(), "jobID" = NULL WHERE "accountID" = \#(claim.job.accountID) AND token = \#(claim.token)
                """#
            )
            let kind: JobEvent.Kind = state == .failed ? .error : .info
            try await Self.insert([JobEvent(jobID: jobID, at: now, kind: kind, detail: "\(state.rawValue)\(note.map { ": \($0)" } ?? "")")], db)
        }
    }

    // MARK: - Operator requests

    public func request(_ control: Job.Control, jobID: Int64, now: Date) async throws -> Job {
        try await db.transaction { db in
            guard var job = try await Self.lockedJob(jobID, db) else { throw JobRuleError.jobNotFound(id: jobID) }
            switch (control, job.state) {
            case (.pause, .running) where job.control == .cancel:
                return job  // a cancel already asked for is not softened into a pause
            case (_, .running):
                job.control = control
            case (.cancel, .pending), (.cancel, .paused):
                job.state = .cancelled
                job.finishedAt = now
                job.note = "cancelled by the operator"
            case (.pause, .pending):
                job.state = .paused
                job.note = "paused by the operator"
            case (.pause, .paused):
                return job
            default:
                throw JobRuleError.notAllowed(jobID: jobID, state: job.state, action: control == .cancel ? "cancelled" : "paused")
            }
            try await Self.saveOperatorChange(job, db)
            try await Self.insert([JobEvent(jobID: jobID, at: now, kind: .info, detail: "\(control.rawValue) requested by the operator")], db)
            return job
        }
    }

    /// Writes what operator requests change: state, control, note, run and finish times.
    static func saveOperatorChange(_ job: Job, _ db: PostgresTransaction) async throws {
        try await db.execute(
            #"""
            UPDATE job SET state = \#(job.state.rawValue), control = \#(job.control?.rawValue)::text, note = \#(job.note)::text, "runAt" = \#(job.runAt),
                "finishedAt" = \#(job.finishedAt)::timestamptz
            WHERE id = \#(job.id ?? 0)
            """#
        )
    }

    public func cancelJobs(ownerID: Int64, accountID: Int64?, reason: String, now: Date) async throws -> Int {
        try await db.transaction { db in
            let open = try await db.rows(
                #"""
                SELECT \#(unescaped: Self.columns) FROM job WHERE "ownerID" = \#(ownerID) AND state IN ('pending', 'paused', 'running')
                    AND (\#(accountID)::bigint IS NULL OR "accountID" = \#(accountID)::bigint)
                ORDER BY id FOR UPDATE
                """#, Self.job
            )
            for var job in open {
                if job.state == .running {
                    job.control = .cancel
                } else {
                    job.state = .cancelled
                    job.finishedAt = now
                    job.note = "cancelled: \(reason)"
                }
                try await Self.saveOperatorChange(job, db)
            }
            try await Self.insert(open.map { JobEvent(jobID: $0.id!, at: now, kind: .info, detail: "cancelled: \(reason)") }, db)
            return open.count
        }
    }

    public func resume(jobID: Int64, now: Date) async throws -> Job {
        try await db.transaction { db in
            guard var job = try await Self.lockedJob(jobID, db) else { throw JobRuleError.jobNotFound(id: jobID) }
            if job.state == .running, job.control == .pause {
                job.control = nil  // a pause not yet acted on is simply withdrawn
            } else {
                guard job.state == .paused else { throw JobRuleError.notAllowed(jobID: jobID, state: job.state, action: "resumed (only a paused job can)") }
                job.state = .pending
                job.runAt = max(job.runAt, now)
                job.note = nil
            }
            try await Self.saveOperatorChange(job, db)
            try await Self.insert([JobEvent(jobID: jobID, at: now, kind: .info, detail: "resumed by the operator")], db)
            return job
        }
    }

    public func adjustCounters(jobID: Int64, _ change: @Sendable (inout Job.Counters) -> Void) async throws {
        try await db.transaction { db in
            guard var job = try await Self.lockedJob(jobID, db) else { throw JobRuleError.jobNotFound(id: jobID) }
            // A running job writes its own counters from the ledger; it will count the settled row itself.
            guard job.state != .running else { return }
            change(&job.counters)
            try await db.execute(#"UPDATE job SET counters = \#(try Self.encode(job.counters)) WHERE id = \#(jobID)"#)
        }
    }

    public func reopen(jobID: Int64, now: Date) async throws -> Job {
        try await db.transaction { db in
            guard var job = try await Self.lockedJob(jobID, db) else { throw JobRuleError.jobNotFound(id: jobID) }
            guard job.state != .running, job.state != .pending else { return job }
            job.state = .pending
            job.runAt = now
            job.finishedAt = nil
            job.note = "reopened by the operator"
            try await Self.saveOperatorChange(job, db)
            try await Self.insert([JobEvent(jobID: jobID, at: now, kind: .info, detail: "reopened by the operator")], db)
            return job
        }
    }

    public func heartbeat(holder: String, now: Date) async throws {
        try await db.execute(
            #"""
            INSERT INTO worker (holder, "startedAt", "heartbeatAt") VALUES (\#(holder), \#(now), \#(now))
            ON CONFLICT (holder) DO UPDATE SET "heartbeatAt" = excluded."heartbeatAt"
            """#
        )
    }

    public func workerGone(holder: String) async throws {
        try await db.execute("DELETE FROM worker WHERE holder = \(holder)")
    }

    public func liveWorkers(since: Date) async throws -> [String] {
        try await db.rows(#"SELECT holder FROM worker WHERE "heartbeatAt" > \#(since) ORDER BY holder COLLATE "C""#) { try $0.get("holder", as: String.self) }
    }
}
