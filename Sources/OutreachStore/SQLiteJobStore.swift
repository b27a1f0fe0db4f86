import Foundation
import GRDB
import OutreachCore

/// ``JobStore`` on SQLite. Writers are serialized by SQLite itself (one write transaction at a time, across
/// processes), which is what makes claim-and-lease atomic here; WAL lets readers (job lists, progress polling) go on.
public struct SQLiteJobStore: JobStore {
    let writer: any DatabaseWriter

    struct JobRow: Codable, FetchableRecord, MutablePersistableRecord {
        static let databaseTableName = "job"
        var id: Int64?
        var campaignID: Int64
        var accountID: Int64
        var round: Int
        var mode: String
        var variant: String?
        var force: Bool
        var domainReplies: Bool
        var template: String
        var templateName: String
        var state: String
        var control: String?
        var runAt: Date
        var createdAt: Date
        var startedAt: Date?
        var finishedAt: Date?
        var counters: Job.Counters
        var note: String?
        var ownerID: Int64?
        var leaseToken: Int64?

        mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

        /// Read column by column: the job list decodes a hundred rows for every poll of every open browser, and the
        /// Codable path (a keyed decoder per row, a JSON decoder per counters value) was most of that time.
        init(row: Row) throws {
            id = row["id"]
            campaignID = row["campaignID"]
            accountID = row["accountID"]
            round = row["round"]
            mode = row["mode"]
            variant = row["variant"]
            force = row["force"]
            domainReplies = row["domainReplies"]
            template = row["template"]
            templateName = row["templateName"]
            state = row["state"]
            control = row["control"]
            runAt = row["runAt"]
            createdAt = row["createdAt"]
            startedAt = row["startedAt"]
            finishedAt = row["finishedAt"]
            let json: String = row["counters"]
            counters = try Self.countersDecoder.decode(Job.Counters.self, from: Data(json.utf8))
            note = row["note"]
            ownerID = row["ownerID"]
            leaseToken = row["leaseToken"]
        }

        static let countersDecoder = JSONDecoder()

        init(_ job: Job) {
            id = job.id
            campaignID = job.campaignID
            accountID = job.accountID
            round = job.round
            mode = job.spec.mode.rawValue
            variant = job.spec.variant
            force = job.spec.force
            domainReplies = job.spec.domainReplies
            template = job.spec.template
            templateName = job.spec.templateName
            state = job.state.rawValue
            control = job.control?.rawValue
            runAt = job.runAt
            createdAt = job.createdAt
            startedAt = job.startedAt
            finishedAt = job.finishedAt
            counters = job.counters
            note = job.note
            ownerID = job.ownerID
        }

        func job() throws -> Job {
            guard let state = Job.State(rawValue: state), let mode = RoundMode(rawValue: mode) else {
                throw StoreError.corrupt("job \(id ?? 0) has state '\(state)' / mode '\(mode)'")
            }
            var job = Job(
                id: id, campaignID: campaignID, accountID: accountID, round: round,
                spec: .init(mode: mode, variant: variant, force: force, domainReplies: domainReplies, template: template, templateName: templateName), state: state, runAt: runAt,
                createdAt: createdAt, counters: counters, note: note, ownerID: ownerID
            )
            job.control = control.flatMap(Job.Control.init(rawValue:))
            job.startedAt = startedAt
            job.finishedAt = finishedAt
            return job
        }
    }

    struct LeaseRow: Codable, FetchableRecord, PersistableRecord {
        static let databaseTableName = "account_lease"
        var accountID: Int64
        var holder: String
        var token: Int64
        var jobID: Int64?
        var acquiredAt: Date
        var expiresAt: Date
    }

    // MARK: - Creating and reading

    public func create(_ job: Job, guardSeconds: Double, meanPauseSeconds: Double) async throws -> Job {
        try await writer.write { db in
            try Self.checkGuard(db, accountID: job.accountID, start: job.runAt, excluding: nil, guardSeconds: guardSeconds, meanPause: meanPauseSeconds)
            var row = JobRow(job)
            try row.insert(db)
            return try row.job()
        }
    }

    public func reschedule(jobID: Int64, to start: Date, guardSeconds: Double, meanPauseSeconds: Double) async throws -> Job {
        try await writer.write { db in
            guard var row = try JobRow.fetchOne(db, key: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
            let job = try row.job()
            guard job.state == .pending || job.state == .paused else { throw JobRuleError.notAllowed(jobID: jobID, state: job.state, action: "rescheduled") }
            try Self.checkGuard(db, accountID: job.accountID, start: start, excluding: jobID, guardSeconds: guardSeconds, meanPause: meanPauseSeconds)
            row.runAt = start
            try row.update(db)
            return try row.job()
        }
    }

    /// The guard window against the account's pending and running jobs, measured from their start to their
    /// projected end (remaining rows × the account's mean pause).
    static func checkGuard(_ db: Database, accountID: Int64, start: Date, excluding: Int64?, guardSeconds: Double, meanPause: Double) throws {
        guard guardSeconds > 0 else { return }
        let others = try JobRow.filter(Column("accountID") == accountID && [Job.State.pending.rawValue, Job.State.running.rawValue].contains(Column("state")))
            .fetchAll(db).map { try $0.job() }.filter { $0.id != excluding }
        let bookings = GuardWindow.bookings(of: others, meanPauseSeconds: meanPause)
        if case .rejected(let conflictID, let earliest) = GuardWindow.check(start: start, guardSeconds: guardSeconds, others: bookings),
            let conflict = others.first(where: { $0.id == conflictID })
        {
            throw JobRuleError.guardWindow(conflict: conflict, earliest: earliest, guardSeconds: guardSeconds)
        }
    }

    public func job(id: Int64) async throws -> Job? {
        try await writer.read { db in try JobRow.fetchOne(db, key: id)?.job() }
    }

    /// Listings leave the template text out (`spec.template` is empty): the job list is read many times a second
    /// by every open browser, and a template can be many kilobytes.
    public func jobs(states: Set<Job.State>?, ownerID: Int64?, before: Int64?, limit: Int) async throws -> [Job] {
        try await writer.read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let before { conditions.append("id < ?"); arguments.append(before) }
            if let states {
                conditions.append("state IN (\(Array(repeating: "?", count: states.count).joined(separator: ",")))")
                arguments += states.map(\.rawValue)
            }
            if let ownerID { conditions.append("ownerID = ?"); arguments.append(ownerID) }
            arguments.append(limit)
            let sql = """
                SELECT id, campaignID, accountID, round, mode, variant, force, domainReplies, '' AS template, templateName, state, control, runAt,
                createdAt, startedAt, finishedAt, counters, note, ownerID, leaseToken FROM job
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?
                """
            return try JobRow.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { try $0.job() }
        }
    }

    public func append(_ events: [JobEvent], fence: LeaseFence?) async throws {
        guard !events.isEmpty else { return }
        try await writer.write { db in
            try SQLiteDeliveryLedger.check(fence, db)
            try Self.insert(events, db)
        }
    }

    static func insert(_ events: [JobEvent], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT INTO job_event (jobID, at, kind, row, email, detail) VALUES (?, ?, ?, ?, ?, ?)")
        for event in events {
            try statement.execute(arguments: [event.jobID, StoredDate.format(event.at), event.kind.rawValue, event.row, event.email, event.detail])
        }
    }

    public func events(jobID: Int64, afterID: Int64, limit: Int) async throws -> [JobEvent] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, jobID, at, kind, row, email, detail FROM job_event WHERE jobID = ? AND id > ? ORDER BY id LIMIT ?",
                arguments: [jobID, afterID, limit]
            ).map { row in
                JobEvent(
                    id: row["id"], jobID: row["jobID"], at: row["at"], kind: JobEvent.Kind(rawValue: row["kind"]) ?? .info, row: row["row"], email: row["email"],
                    detail: row["detail"]
                )
            }
        }
    }

    // MARK: - Workers

    public func claim(
        holder: String, now: Date, leaseSeconds: Double, graceSeconds: Double, only: Int64?, holderAlive: @Sendable (String) -> Bool
    ) async throws -> JobClaim? {
        try await writer.write { db in
            try Self.markMissed(db, now: now, graceSeconds: graceSeconds)
            func leaseIsLive(_ lease: LeaseRow?) -> Bool {
                guard let lease, lease.jobID != nil else { return false }
                return lease.expiresAt > now && holderAlive(lease.holder)
            }
            var onlyAccount: Int64?
            if let only {
                guard let target = try JobRow.fetchOne(db, key: only) else { return nil }
                onlyAccount = target.accountID
            }
            // Jobs whose worker died come first: they hold the account until they finish.
            var orphans = JobRow.filter(Column("state") == Job.State.running.rawValue)
            if let onlyAccount { orphans = orphans.filter(Column("accountID") == onlyAccount) }
            for row in try orphans.order(Column("id")).fetchAll(db) {
                let lease = try LeaseRow.fetchOne(db, key: row.accountID)
                if leaseIsLive(lease) { continue }
                return try Self.take(db, row, lease: lease, holder: holder, now: now, leaseSeconds: leaseSeconds, interrupted: true)
            }
            var due = JobRow.filter(Column("state") == Job.State.pending.rawValue && Column("runAt") <= now)
            if let only { due = due.filter(Column("id") == only) }
            for var row in try due.order(Column("runAt"), Column("id")).fetchAll(db) {
                let lease = try LeaseRow.fetchOne(db, key: row.accountID)
                if leaseIsLive(lease), let busyID = lease?.jobID, busyID != row.id, row.startedAt != nil {
                    // A job that ran before (resumed, reopened, interrupted) waits for the account instead of failing:
                    // the operator already let it start once.
                    continue
                }
                if leaseIsLive(lease), let busyID = lease?.jobID, busyID != row.id {
                    // The seed's account lock: a job that would start while another of its account runs fails at once.
                    let busy = try JobRow.fetchOne(db, key: busyID)
                    let since = busy?.startedAt.map { " since \(JobTime.format($0))" } ?? ""
                    row.state = Job.State.failed.rawValue
                    row.finishedAt = now
                    row.note = "the account is busy: job #\(busyID) has been running\(since), and only one job per account runs at a time; "
                        + "schedule this round after it ends"
                    try row.update(db)
                    try Self.insert([JobEvent(jobID: row.id!, at: now, kind: .error, detail: row.note!)], db)
                    continue
                }
                return try Self.take(db, row, lease: lease, holder: holder, now: now, leaseSeconds: leaseSeconds, interrupted: false)
            }
            return nil
        }
    }

    static func markMissed(_ db: Database, now: Date, graceSeconds: Double) throws {
        let late = try JobRow.filter(Column("state") == Job.State.pending.rawValue && Column("startedAt") == nil && Column("runAt") < now.addingTimeInterval(-graceSeconds))
            .fetchAll(db)
        for var row in late {
            row.state = Job.State.missed.rawValue
            row.finishedAt = now
            row.note = "missed: it was due at \(JobTime.format(row.runAt)), and no worker ran it within the \(DurationText.format(seconds: graceSeconds)) grace period; "
                + "nothing was sent. Create it again for a new time"
            try row.update(db)
            try insert([JobEvent(jobID: row.id!, at: now, kind: .error, detail: row.note!)], db)
        }
    }

    /// Takes the account's lease (token + 1) and marks the job running under it.
    static func take(_ db: Database, _ row: JobRow, lease: LeaseRow?, holder: String, now: Date, leaseSeconds: Double, interrupted: Bool) throws -> JobClaim {
        let token = (lease?.token ?? 0) + 1
        try LeaseRow(accountID: row.accountID, holder: holder, token: token, jobID: row.id, acquiredAt: now, expiresAt: now.addingTimeInterval(leaseSeconds))
            .save(db)
        var row = row
        row.state = Job.State.running.rawValue
        row.startedAt = row.startedAt ?? now
        row.leaseToken = token
        row.note = nil
        try row.update(db)
        try insert([JobEvent(
            jobID: row.id!, at: now, kind: .info, detail: interrupted ? "resumed by \(holder) after its worker stopped" : "started by \(holder)"
        )], db)
        return JobClaim(job: try row.job(), token: token, holder: holder, interrupted: interrupted)
    }

    public func renew(_ claim: JobClaim, now: Date, leaseSeconds: Double) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE account_lease SET expiresAt = ? WHERE accountID = ? AND token = ? AND holder = ?",
                arguments: [now.addingTimeInterval(leaseSeconds), claim.job.accountID, claim.token, claim.holder]
            )
            return db.changesCount == 1
        }
    }

    public func progress(_ claim: JobClaim, counters: Job.Counters, note: String?) async throws -> Job.Control? {
        try await writer.write { db in
            let json = String(decoding: try JSONEncoder().encode(counters), as: UTF8.self)
            try db.execute(
                sql: "UPDATE job SET counters = ?, note = ? WHERE id = ? AND leaseToken = ? AND state = 'running'",
                arguments: [json, note, claim.job.id, claim.token]
            )
            guard db.changesCount == 1 else { throw JobRuleError.leaseLost(jobID: claim.job.id ?? 0) }
            return try String.fetchOne(db, sql: "SELECT control FROM job WHERE id = ?", arguments: [claim.job.id]).flatMap(Job.Control.init(rawValue:))
        }
    }

    public func finish(_ claim: JobClaim, state: Job.State, counters: Job.Counters, note: String?, runAt: Date?, now: Date) async throws {
        try await writer.write { db in
            guard var row = try JobRow.fetchOne(db, key: claim.job.id), row.leaseToken == claim.token, row.state == Job.State.running.rawValue else {
                throw JobRuleError.leaseLost(jobID: claim.job.id ?? 0)
            }
            // An operator's request that arrived while the run ended for another reason still holds.
            var state = state
            var note = note
            if !state.isFinal, let control = row.control.flatMap(Job.Control.init(rawValue:)) {
                state = control == .cancel ? .cancelled : .paused
                note = control == .cancel ? "cancelled by the operator" : "paused by the operator"
            }
            row.state = state.rawValue
            row.counters = counters
            row.note = note
            row.control = nil
            if state.isFinal { row.finishedAt = now }
            if let runAt { row.runAt = runAt }
            try row.update(db)
            try db.execute(
                sql: "UPDATE account_lease SET expiresAt = ?, jobID = NULL WHERE accountID = ? AND token = ?", arguments: [now, claim.job.accountID, claim.token]
            )
            let kind: JobEvent.Kind = state == .failed ? .error : .info
            try Self.insert([JobEvent(jobID: row.id!, at: now, kind: kind, detail: "\(state.rawValue)\(note.map { ": \($0)" } ?? "")")], db)
        }
    }

    // MARK: - Operator requests

    public func request(_ control: Job.Control, jobID: Int64, now: Date) async throws -> Job {
        try await writer.write { db in
            guard var row = try JobRow.fetchOne(db, key: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
            let job = try row.job()
            switch (control, job.state) {
            case (.pause, .running) where job.control == .cancel:
                return job  // a cancel already asked for is not softened into a pause
            case (_, .running):
                row.control = control.rawValue
            case (.cancel, .pending), (.cancel, .paused):
                row.state = Job.State.cancelled.rawValue
                row.finishedAt = now
                row.note = "cancelled by the operator"
            case (.pause, .pending):
                row.state = Job.State.paused.rawValue
                row.note = "paused by the operator"
            case (.pause, .paused):
                return job
            default:
                throw JobRuleError.notAllowed(jobID: jobID, state: job.state, action: control == .cancel ? "cancelled" : "paused")
            }
            try row.update(db)
            try Self.insert([JobEvent(jobID: jobID, at: now, kind: .info, detail: "\(control.rawValue) requested by the operator")], db)
            return try row.job()
        }
    }

    public func cancelJobs(ownerID: Int64, accountID: Int64?, reason: String, now: Date) async throws -> Int {
        try await writer.write { db in
            var open = JobRow.filter(Column("ownerID") == ownerID)
                .filter([Job.State.pending.rawValue, Job.State.paused.rawValue, Job.State.running.rawValue].contains(Column("state")))
            if let accountID { open = open.filter(Column("accountID") == accountID) }
            let rows = try open.fetchAll(db)
            for var row in rows {
                if row.state == Job.State.running.rawValue {
                    row.control = Job.Control.cancel.rawValue
                } else {
                    row.state = Job.State.cancelled.rawValue
                    row.finishedAt = now
                    row.note = "cancelled: \(reason)"
                }
                try row.update(db)
                try Self.insert([JobEvent(jobID: row.id!, at: now, kind: .info, detail: "cancelled: \(reason)")], db)
            }
            return rows.count
        }
    }

    public func resume(jobID: Int64, now: Date) async throws -> Job {
        try await writer.write { db in
            guard var row = try JobRow.fetchOne(db, key: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
            let job = try row.job()
            if job.state == .running, job.control == .pause {
                row.control = nil  // a pause not yet acted on is simply withdrawn
            } else {
                guard job.state == .paused else { throw JobRuleError.notAllowed(jobID: jobID, state: job.state, action: "resumed (only a paused job can)") }
                row.state = Job.State.pending.rawValue
                row.runAt = max(row.runAt, now)
                row.note = nil
            }
            try row.update(db)
            try Self.insert([JobEvent(jobID: jobID, at: now, kind: .info, detail: "resumed by the operator")], db)
            return try row.job()
        }
    }

    public func adjustCounters(jobID: Int64, _ change: @Sendable (inout Job.Counters) -> Void) async throws {
        try await writer.write { db in
            guard var row = try JobRow.fetchOne(db, key: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
            // A running job writes its own counters from the ledger; it will count the settled row itself.
            guard row.state != Job.State.running.rawValue else { return }
            change(&row.counters)
            try row.update(db)
        }
    }

    public func reopen(jobID: Int64, now: Date) async throws -> Job {
        try await writer.write { db in
            guard var row = try JobRow.fetchOne(db, key: jobID) else { throw JobRuleError.jobNotFound(id: jobID) }
            let job = try row.job()
            guard job.state != .running, job.state != .pending else { return job }
            row.state = Job.State.pending.rawValue
            row.runAt = now
            row.finishedAt = nil
            row.note = "reopened by the operator"
            try row.update(db)
            try Self.insert([JobEvent(jobID: jobID, at: now, kind: .info, detail: "reopened by the operator")], db)
            return try row.job()
        }
    }

    public func heartbeat(holder: String, now: Date) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO worker (holder, startedAt, heartbeatAt) VALUES (?, ?, ?) ON CONFLICT(holder) DO UPDATE SET heartbeatAt = excluded.heartbeatAt",
                arguments: [holder, now, now]
            )
        }
    }

    public func workerGone(holder: String) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM worker WHERE holder = ?", arguments: [holder]) }
    }

    public func liveWorkers(since: Date) async throws -> [String] {
        try await writer.read { db in try String.fetchAll(db, sql: "SELECT holder FROM worker WHERE heartbeatAt > ? ORDER BY holder", arguments: [since]) }
    }
}
