import Foundation
import GRDB
import OutreachCore
import OutreachStore
import Testing

/// Jobs against real servers: the account lock and the guard window, crash safety under SIGKILL, two workers on one
/// database, the SMTP failures a real server produces, missed schedules, and pause/resume.
/// Serialized: each test starts its own Dovecot, relay and worker processes, and the crash test needs the CPU to
/// itself often enough to kill workers mid-run.
@Suite("Jobs against real servers", .serialized, .timeLimit(.minutes(5)))
struct JobTests {
    static let sender = (email: "sales@example.test", password: "sales-pw")

    static func prospects(_ count: Int, prefix: String = "p") -> [(email: String, password: String)] {
        (1...count).map { (email: "\(prefix)\($0)@example.test", password: "pw\($0)") }
    }

    /// A campaign of these addresses, and a template whose subject names it.
    static func campaign(_ name: String, _ emails: [String], in cli: OutreachSandbox, account: String = sender.email) throws -> String {
        let csv = "email,first\n" + emails.map { "\($0),P" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: "\(cli.directory)/\(name).csv", atomically: true, encoding: .utf8)
        try cli.expectSuccess(["campaign", "import", name, "\(cli.directory)/\(name).csv", "--account", account])
        let template = "\(cli.directory)/\(name).md"
        try "Subject: Hello from \(name)\n\nHi {first}.\n".write(toFile: template, atomically: true, encoding: .utf8)
        return template
    }

    /// An ISO 8601 time with seconds and an offset, as `--at` takes it.
    static func at(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// Polls the job until `done` holds for it (or fails the test after `timeout`).
    @discardableResult
    static func wait(
        for id: Int64, in database: SQLiteDatabase, timeout: TimeInterval = 60, _ what: String, until done: (Job) -> Bool
    ) async throws -> Job {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let job = try await database.jobs.job(id: id), done(job) { return job }
            try await Task.sleep(for: .milliseconds(50))
        }
        let job = try await database.jobs.job(id: id)
        throw HarnessError("job #\(id) never became \(what) within \(Int(timeout)) s; it is \(job?.state.rawValue ?? "gone"): \(job?.note ?? "")")
    }

    /// Messages in each address's INBOX with this subject, read by Python's parser.
    static func delivered(_ subject: String, to emails: [String], servers: MailServers) throws -> [String: Int] {
        let boxes = try servers.mailboxes(of: emails)
        var counts: [String: Int] = [:]
        for email in emails { counts[email] = boxes[email]?["INBOX"]?.filter { $0.subject == subject }.count ?? 0 }
        return counts
    }

    @Test("the guard window refuses a start too close to another job and names the earliest accepted; a job that would start while another of its account runs fails at once, naming it")
    func guardWindowAndAccountLock() async throws {
        let prospects = Self.prospects(6)
        let servers = try MailServers(users: [Self.sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        let template = try Self.campaign("T", prospects.map(\.email), in: cli)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--delay", "30s", "--jitter", "0"])

        // Job #1 three hours from now: 6 rows × 30 s end it 3 minutes after its start.
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.up) * 60 + 3 * 3600)
        try cli.expectSuccess(["send", "T", "--template", template, "--at", Self.at(start)])
        let earliest = start.addingTimeInterval(6 * 30 + 2 * 3600)
        let expected = "job #1 of the same account is scheduled for \(JobTime.format(start)); jobs of one account must start at least 2h apart "
            + "from another job's start and projected end (the guard window). The earliest start accepted is \(JobTime.format(earliest)): "
            + "use --at \(JobTime.argument(earliest))"
        for tooClose in [start.addingTimeInterval(3600), start.addingTimeInterval(-3600), start] {
            let refused = try cli.run(["send", "T", "--template", template, "--at", Self.at(tooClose)])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains(expected), "\(refused.output)")
        }
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        #expect(try await database.jobs.jobs(states: nil, ownerID: nil, limit: 10).count == 1, "a refused job must not be created")
        // The earliest time it named is accepted; moving that job back inside the window is refused by the same rule.
        let accepted = try cli.run(["send", "T", "--template", template, "--at", JobTime.argument(earliest)])
        #expect(accepted.status == 0 && accepted.stdout.contains("Job #2 created"), "\(accepted.output)")
        let moved = try cli.run(["job", "reschedule", "2", "--at", Self.at(start.addingTimeInterval(1800))])
        #expect(moved.status != 0 && moved.stderr.contains("job #1 of the same account is scheduled for"), "\(moved.output)")
        try cli.expectSuccess(["job", "cancel", "1"])
        try cli.expectSuccess(["job", "cancel", "2"])

        // Guard off: the account lock alone. Job #3 runs (3 s between messages: 15 s at least); job #4 of the same
        // account, due 10 s after #3, fails at once and says which job holds it. Both exist before the worker starts,
        // so a slow machine cannot let #3 finish before #4 is claimed: #3 is always claimed first (it is due first),
        // and #4 is claimed once due, while #3 runs.
        try cli.expectSuccess(["account", "set", Self.sender.email, "--guard", "0", "--delay", "3s"])
        let otherTemplate = try Self.campaign("U", prospects.map(\.email), in: cli)
        try cli.expectSuccess(["send", "T", "--template", template])
        try cli.expectSuccess(["send", "U", "--template", otherTemplate, "--at", Self.at(Date().addingTimeInterval(10))])
        let worker = try cli.startWorker()
        defer { worker.stop() }
        // Started (running, or already done if this test's polls came late on a busy machine: its start time stays).
        let running = try await Self.wait(for: 3, in: database, "started") { $0.startedAt != nil }
        let refused = try await Self.wait(for: 4, in: database, "failed") { $0.state.isFinal }
        #expect(refused.state == .failed)
        let since = JobTime.format(try #require(running.startedAt))
        #expect(
            refused.note == "the account is busy: job #3 has been running since \(since), and only one job per account runs at a time; schedule this round after it ends",
            "\(refused.note ?? "")"
        )
        let finished = try await Self.wait(for: 3, in: database, "completed") { $0.state.isFinal }
        #expect(finished.state == .completed && finished.counters.sent == 6)
        worker.stop()
        #expect(try Self.delivered("Hello from U", to: prospects.map(\.email), servers: servers).values.allSatisfy { $0 == 0 })
        #expect(try Self.delivered("Hello from T", to: prospects.map(\.email), servers: servers).values.allSatisfy { $0 == 1 })
    }

    @Test("a 200-row job whose worker is killed (SIGKILL) at 10 random moments ends with exactly one message per prospect and counters that match the mailboxes")
    func crashSafeUnderSIGKILL() async throws {
        let prospects = Self.prospects(200)
        // As at Gmail or Microsoft 365, the server files what it relays in Sent: a row whose reply was lost in a crash
        // is confirmed there by its Message-ID instead of being held.
        let servers = try MailServers(users: [Self.sender] + prospects, fileSent: true, latencyMilliseconds: 60)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--no-copy-to-sent"])
        let template = try Self.campaign("T", prospects.map(\.email), in: cli)
        try cli.expectSuccess(["send", "T", "--template", template])
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)

        // The kills are timed on a thread of their own, reading the database synchronously: on the cooperative pool,
        // which other suites keep busy, a poll may wake seconds late and the kill would land after the job ended.
        let databasePath = cli.databasePath
        let (killedWhileRunning, trace) = try await offThePool { () throws -> (Int, [String]) in
            let reader = try DatabaseQueue(path: databasePath, configuration: { var c = Configuration(); c.readonly = true; return c }())
            func sent() throws -> Int {
                try reader.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM delivery WHERE round = 1 AND state = 'sent'") ?? 0 }
            }
            func jobState() throws -> String? { try reader.read { try String.fetchOne($0, sql: "SELECT state FROM job WHERE id = 1") } }
            var killedWhileRunning = 0
            var trace: [String] = []
            for _ in 1...10 {
                let worker = try cli.startWorker()
                // Kill at a random moment of the run itself, not while the process starts: once this worker has sent
                // a message, within the next 0 to 300 ms (the server takes 60 ms a message, so up to 5 more go out).
                let before = try sent()
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline, try sent() == before, try jobState() != Job.State.completed.rawValue { usleep(10_000) }
                usleep(UInt32.random(in: 0...300_000))
                worker.kill()
                let state = try jobState()
                if state == Job.State.running.rawValue { killedWhileRunning += 1 }
                trace.append("\(state ?? "?") at \(try sent()) sent: \(worker.output.suffix(400))")
                // Done before ten kills: the rest would only wait.
                if state == Job.State.completed.rawValue { break }
            }
            return (killedWhileRunning, trace)
        }
        let worker = try cli.startWorker()
        defer { worker.stop() }
        let job = try await Self.wait(for: 1, in: database, timeout: 120, "completed") { $0.state.isFinal }
        worker.stop()

        let counts = try Self.delivered("Hello from T", to: prospects.map(\.email), servers: servers)
        let wrong = counts.filter { $0.value != 1 }.sorted { $0.key < $1.key }
        #expect(wrong.isEmpty, "prospects without exactly one message: \(wrong.prefix(10))")
        #expect(job.state == .completed, "\(job.note ?? "")")
        #expect(job.counters.sent == counts.values.reduce(0, +) && job.counters.sent == 200, "counters \(job.counters)")
        #expect(job.counters.failed == 0 && job.counters.held == 0, "counters \(job.counters)")
        let ledger = try await database.deliveries.deliveries(campaignID: 1, round: 1)
        #expect(ledger.values.filter { $0.state == .sent }.count == 200)
        // Every row has its log line, including those a killed worker had not written yet.
        var sentLines = Set<Int>()
        var resumed = 0
        var confirmed = 0
        for event in try await database.jobs.events(jobID: 1, afterID: 0, limit: 100_000) {
            if event.kind == .sent, let row = event.row { sentLines.insert(row) }
            if event.detail.contains("resumed by") { resumed += 1 }
            if event.detail.contains("confirmed in Sent") { confirmed += 1 }
        }
        #expect(sentLines.count == 200)
        #expect(killedWhileRunning >= 5, "only \(killedWhileRunning) of the 10 kills hit a running job; the test did not test much:\n\(trace.joined(separator: "\n"))")
        print("crash test: \(killedWhileRunning) kills while running, \(resumed) resumptions, \(confirmed) rows confirmed in Sent after a kill")
    }

    @Test("two workers started together on one database run 20 jobs over 5 accounts: no two jobs of one account overlap, no job runs twice")
    func twoWorkersShareTheQueue() async throws {
        let senders = (1...5).map { (email: "s\($0)@example.test", password: "spw\($0)") }
        let prospects = Self.prospects(5)
        let servers = try MailServers(users: senders + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: senders[0], servers: servers)
        for sender in senders.dropFirst() {
            try cli.expectSuccess(
                ["account", "add", sender.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile, "--password-stdin"],
                stdin: sender.password
            )
        }
        let base = Date().addingTimeInterval(3)
        var subjects: [Int64: String] = [:]
        var jobAccount: [Int64: String] = [:]
        for (a, sender) in senders.enumerated() {
            try cli.expectSuccess(["account", "set", sender.email, "--guard", "0", "--delay", "100ms", "--jitter", "0"])
            for k in 1...4 {
                let name = "A\(a + 1)-\(k)"
                let template = try Self.campaign(name, prospects.map(\.email), in: cli, account: sender.email)
                // Each account's jobs 1.2 s apart: about as long as one takes, so some collide and meet the lock.
                let result = try cli.expectSuccess(["send", name, "--template", template, "--at", Self.at(base.addingTimeInterval(Double(k) * 1.2))])
                let id = try #require(result.stdout.split(separator: " ").dropFirst().first.flatMap { Int64($0.dropFirst()) })
                subjects[id] = "Hello from \(name)"
                jobAccount[id] = sender.email
            }
        }
        let workers = try [cli.startWorker(), cli.startWorker()]
        defer { for worker in workers { worker.stop() } }
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        for id in subjects.keys { try await Self.wait(for: id, in: database, timeout: 90, "finished") { $0.state.isFinal } }
        for worker in workers { worker.stop() }

        var intervals: [String: [(id: Int64, from: Date, to: Date)]] = [:]
        var completed = 0
        var holders = Set<String>()
        for (id, subject) in subjects.sorted(by: { $0.key < $1.key }) {
            let job = try #require(try await database.jobs.job(id: id))
            let events = try await database.jobs.events(jobID: id, afterID: 0, limit: 1000)
            let starts = events.filter { $0.detail.hasPrefix("started by") || $0.detail.hasPrefix("resumed by") }
            let sent = events.filter { $0.kind == .sent }.map(\.at)
            let counts = try Self.delivered(subject, to: prospects.map(\.email), servers: servers)
            switch job.state {
            case .completed:
                completed += 1
                #expect(starts.count == 1, "job #\(id) started \(starts.count) times")
                holders.formUnion(starts.map { String($0.detail.dropFirst("started by ".count)) })
                #expect(counts.values.allSatisfy { $0 == 1 }, "job #\(id): \(counts)")
                #expect(sent.count == 5)
                // The span in which the job held the account: from its start line to its last message.
                if let first = starts.first?.at, let last = sent.max() { intervals[jobAccount[id]!, default: []].append((id, first, last)) }
            case .failed:
                #expect(job.note?.hasPrefix("the account is busy: job #") == true, "job #\(id): \(job.note ?? "")")
                #expect(starts.isEmpty && counts.values.allSatisfy { $0 == 0 }, "job #\(id) failed on the lock but sent: \(counts)")
            default:
                Issue.record("job #\(id) ended \(job.state.rawValue): \(job.note ?? "")")
            }
        }
        for (account, spans) in intervals {
            let sorted = spans.sorted { $0.from < $1.from }
            for (earlier, later) in zip(sorted, sorted.dropFirst()) {
                #expect(earlier.to < later.from, "\(account): job #\(earlier.id) (until \(earlier.to)) overlaps job #\(later.id) (from \(later.from))")
            }
        }
        #expect(completed >= 5, "only \(completed) of 20 jobs completed")
        print("two workers: \(completed) of 20 jobs completed, the rest failed on the account lock; holders \(holders.sorted())")
    }

    @Test("SMTP failures: 451 is retried, 550 and 552 fail their row, a drop after the final dot is held and settled by the operator, 550 5.4.5 and 421 pause the job, a refused login fails it")
    func smtpFailures() async throws {
        let ok = Self.prospects(3, prefix: "ok")
        let faults = [("fault-rcpt451x2-a@example.test", "pw"), ("fault-drop-d@example.test", "pw")]
        let servers = try MailServers(users: [Self.sender] + ok + faults)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--guard", "0"])
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let fast = ["OUTREACH_RETRY_BASE": "300ms"]

        // Job #1: one row of each kind.
        let rows = [ok[0].email, "fault-rcpt451x2-a@example.test", "fault-rcpt550-b@example.test", "fault-data552-c@example.test", "fault-drop-d@example.test", ok[1].email]
        let f = try Self.campaign("F", rows, in: cli)
        let first = try cli.run(["send", "F", "--template", f, "--wait"], extraEnvironment: fast)
        #expect(first.status != 0, "a job with failed rows must not exit 0:\n\(first.output)")
        let out = first.stdout
        #expect(out.contains("ERROR row 2 fault-rcpt451x2-a@example.test: the server refused the message: 451 4.3.0"), "\(out)")
        #expect(out.contains("will try again at"))
        #expect(out.contains("ERROR row 3 fault-rcpt550-b@example.test: the server refused the message: 550 5.1.1"), "\(out)")
        #expect(out.contains("ERROR row 4 fault-data552-c@example.test: the server refused the message: 552 5.3.4"), "\(out)")
        #expect(out.contains("ERROR row 5 fault-drop-d@example.test:") && out.contains("held: it is not resent automatically"), "\(out)")
        var job = try #require(try await database.jobs.job(id: 1))
        #expect(job.state == .completed)
        #expect(job.counters == Job.Counters(total: 6, sent: 3, failed: 2, held: 1), "\(job.counters)")
        let ledger = try await database.deliveries.deliveries(campaignID: 1, round: 1)
        #expect(ledger.values.first { $0.replyText?.contains("451") == true || $0.attempts == 2 }?.state == .sent)
        #expect(try Self.delivered("Hello from F", to: ["fault-rcpt451x2-a@example.test"], servers: servers).values.first == 1)
        // The dropped message did arrive; it is held, not resent, until the operator says what happened.
        #expect(try Self.delivered("Hello from F", to: ["fault-drop-d@example.test"], servers: servers).values.first == 1)
        let resolved = try cli.run(["job", "resolve", "1", "--row", "5", "--sent"])
        #expect(resolved.status == 0 && resolved.stdout.contains("row 5 (fault-drop-d@example.test) counts as sent"), "\(resolved.output)")
        job = try #require(try await database.jobs.job(id: 1))
        #expect(job.counters == Job.Counters(total: 6, sent: 4, failed: 2, held: 0), "\(job.counters)")

        // Account-level limits pause the job; the row that met the limit is not failed and nothing else is tried.
        let g = try Self.campaign("G", [ok[0].email, "fault-quota545-x@example.test", ok[1].email], in: cli)
        let quota = try cli.run(["send", "G", "--template", g, "--wait"])
        #expect(quota.status != 0)
        job = try #require(try await database.jobs.job(id: 2))
        #expect(job.state == .paused && job.counters.sent == 1 && job.counters.failed == 0, "\(job.state) \(job.counters)")
        #expect(job.note?.contains("5.4.5") == true && job.note?.contains("outreach job resume 2") == true, "\(job.note ?? "")")
        #expect(try await database.deliveries.deliveries(campaignID: 2, round: 1).values.filter { $0.state == .failed }.isEmpty)

        let h = try Self.campaign("H", ["fault-rcpt421-y@example.test", ok[2].email], in: cli)
        _ = try cli.run(["send", "H", "--template", h, "--wait"])
        job = try #require(try await database.jobs.job(id: 3))
        #expect(job.state == .paused && job.counters.failed == 0 && job.counters.sent == 0, "\(job.state) \(job.counters) \(job.note ?? "")")
        #expect(job.note?.contains("421") == true, "\(job.note ?? "")")

        // 421 at the greeting: paused, nothing failed; once the server is back, resume sends every row once.
        try servers.failGreeting("421 4.7.0 Service not available")
        let i = try Self.campaign("I", [ok[0].email, ok[1].email], in: cli)
        _ = try cli.run(["send", "I", "--template", i, "--wait"])
        job = try #require(try await database.jobs.job(id: 4))
        #expect(job.state == .paused && job.counters.failed == 0 && job.counters.sent == 0, "\(job.state) \(job.counters) \(job.note ?? "")")
        #expect(job.note?.contains("421") == true, "\(job.note ?? "")")
        try servers.failGreeting(nil)
        try cli.expectSuccess(["job", "resume", "4"])
        let watch = try cli.startWorker()
        defer { watch.stop() }
        job = try await Self.wait(for: 4, in: database, "completed") { $0.state.isFinal }
        watch.stop()
        #expect(job.state == .completed && job.counters.sent == 2)
        #expect(try Self.delivered("Hello from I", to: [ok[0].email, ok[1].email], servers: servers).values.allSatisfy { $0 == 1 })

        // A refused login fails the job with the reason, and no row is marked failed.
        try cli.expectSuccess(
            ["account", "add", "wrong@example.test", "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile, "--password-stdin"],
            stdin: "not-the-password"
        )
        let j = try Self.campaign("J", [ok[0].email], in: cli, account: "wrong@example.test")
        let login = try cli.run(["send", "J", "--template", j, "--wait"])
        #expect(login.status != 0)
        job = try #require(try await database.jobs.job(id: 5))
        #expect(job.state == .failed && job.note?.contains("login failed") == true && job.counters.failed == 0, "\(job.state) \(job.note ?? "")")
    }

    @Test("a scheduled job missed beyond its grace period is marked missed and sends nothing; pause and resume of a running job send nothing twice")
    func missedScheduleAndPauseResume() async throws {
        let prospects = Self.prospects(30)
        let servers = try MailServers(users: [Self.sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--guard", "0", "--delay", "150ms", "--jitter", "0"])
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let emails = prospects.map(\.email)
        let template = try Self.campaign("T", emails, in: cli)

        // Due in a second; no worker runs until three seconds later, with a one-second grace period.
        try cli.expectSuccess(["send", "T", "--template", template, "--at", Self.at(Date().addingTimeInterval(1))])
        try await Task.sleep(for: .seconds(3))
        let late = try cli.startWorker(extraEnvironment: ["OUTREACH_GRACE": "1s"])
        defer { late.stop() }
        let missed = try await Self.wait(for: 1, in: database, "missed") { $0.state.isFinal }
        late.stop()
        #expect(missed.state == .missed, "\(missed.state)")
        #expect(missed.note?.contains("no worker ran it within the 1s grace period") == true, "\(missed.note ?? "")")
        #expect(try await database.deliveries.deliveries(campaignID: 1).isEmpty)
        let listing = try cli.expectSuccess(["jobs"]).stdout
        #expect(listing.contains("#1") && listing.contains("missed"), "\(listing)")

        // Pause while it runs, check that nothing moves, resume: 30 prospects, one message each.
        try cli.expectSuccess(["send", "T", "--template", template])
        let worker = try cli.startWorker()
        defer { worker.stop() }
        _ = try await Self.wait(for: 2, in: database, "running with 5 sent") { $0.counters.sent >= 5 }
        try cli.expectSuccess(["job", "pause", "2"])
        let paused = try await Self.wait(for: 2, in: database, "paused") { $0.state == .paused }
        let atPause = try Self.delivered("Hello from T", to: emails, servers: servers).values.reduce(0, +)
        try await Task.sleep(for: .seconds(1))
        let stillPaused = try #require(try await database.jobs.job(id: 2))
        #expect(stillPaused.state == .paused && stillPaused.counters.sent == paused.counters.sent)
        #expect(try Self.delivered("Hello from T", to: emails, servers: servers).values.reduce(0, +) == atPause)
        #expect(atPause < 30, "the job finished before the pause took effect; nothing was tested")
        try cli.expectSuccess(["job", "resume", "2"])
        let done = try await Self.wait(for: 2, in: database, "completed") { $0.state.isFinal }
        worker.stop()
        #expect(done.state == .completed && done.counters.sent == 30, "\(done.state) \(done.counters)")
        let counts = try Self.delivered("Hello from T", to: emails, servers: servers)
        #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value != 1 })")
    }
}
