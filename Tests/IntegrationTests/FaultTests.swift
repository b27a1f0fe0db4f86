import Foundation
import OutreachCore
import OutreachStore
import Testing

/// An operator's bad day against real servers and a real file system: the SMTP relay restarts mid-round, the disk
/// holding the database fills up, the database file becomes unwritable. Each ends in a defined state, nothing is
/// sent twice, and `--wait` ends in time with what to do.
@Suite("Faults", .serialized, .timeLimit(.minutes(5)))
struct FaultTests {
    static let sender = (email: "sales@example.test", password: "sales-pw")

    /// Rows of this campaign sent so far, from the ledger.
    static func sentRows(_ campaign: String, in database: SQLiteDatabase) async throws -> Int {
        guard let found = try await database.campaigns.campaign(named: campaign), let id = found.id else { return 0 }
        return try await database.deliveries.deliveries(campaignID: id, round: 1).values.filter { $0.state == .sent }.count
    }

    static func waitUntil(_ what: String, timeout: TimeInterval = 60, _ done: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("\(what) did not happen within \(Int(timeout)) s")
    }

    @Test("a relay that is down for 3 s mid-round is waited out: the job completes, every prospect mailed exactly once, with no operator action")
    func relayRestartMidRound() async throws {
        let prospects = JobTests.prospects(6)
        // The relay files what it accepts in Sent, so even a message cut between its dot and the reply is settled
        // by the Sent lookup without the operator.
        let servers = try MailServers(users: [Self.sender] + prospects, fileSent: true)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--delay", "3s", "--jitter", "0", "--no-copy-to-sent"])
        let template = try JobTests.campaign("R", prospects.map(\.email), in: cli)
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)

        let send = try cli.startCommand(["send", "R", "--template", template, "--wait"], extraEnvironment: ["OUTREACH_RECONNECT_BASE": "1s"])
        defer { send.stop() }
        // Right after the second message: the round is in its 3-second pause, so the relay dies between messages.
        // Watched and killed on a thread of its own: the cooperative pool may be busy with other tests for seconds.
        let sentBeforeKill = try await offThePool { () -> Int in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, send.output.components(separatedBy: "SENT row").count - 1 < 2 { usleep(20_000) }
            try servers.killRelay()
            return send.output.components(separatedBy: "SENT row").count - 1
        }
        #expect(sentBeforeKill >= 2 && sentBeforeKill < 6, "the relay went down mid-round (after \(sentBeforeKill) messages)")
        try servers.relayOutage(seconds: 3)

        let status = send.waitForExit(timeout: 120)
        #expect(status == 0, "send --wait ended \(String(describing: status)):\n\(send.output)")
        let job = try #require(try await database.jobs.jobs(states: nil, ownerID: nil, limit: 10).first)
        #expect(job.state == .completed && job.counters.sent == 6 && job.counters.held == 0, "\(job.state) \(job.counters) \(job.note ?? "")")
        #expect(send.output.contains("trying again at"), "the log says the job waits for the server:\n\(send.output)")
        #expect(!send.output.contains("could not connect") || send.output.contains("trying again"), "\(send.output)")
        let counts = try JobTests.delivered("Hello from R", to: prospects.map(\.email), servers: servers)
        #expect(counts.values.allSatisfy { $0 == 1 }, "each prospect exactly once: \(counts)")
    }

    /// How a test takes the database's writes away mid-round.
    enum StorageFailure: String, CaseIterable, CustomTestStringConvertible {
        /// The small file system that holds the database fills up.
        case diskFull
        /// The database file and its WAL become immutable (chattr +i): every write is refused, even root's.
        case unwritable

        var testDescription: String { rawValue }
    }

    @Test("a storage error mid-round: `send --wait` ends in time with what to do, nothing is sent twice, and a worker finishes the job once the database can be written", arguments: StorageFailure.allCases)
    func storageErrorMidRound(_ failure: StorageFailure) async throws {
        let prospects = JobTests.prospects(6)
        let servers = try MailServers(users: [Self.sender] + prospects)
        defer { servers.stop() }
        let disk = try SmallDisk(megabytes: failure == .diskFull ? 8 : 0)
        defer { disk.remove() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let environment = ["OUTREACH_DB": disk.path + "/outreach.db", "OUTREACH_LEASE": "3s"]
        func expectSuccess(_ arguments: [String]) throws { try cli.expectSuccess(arguments, environment: environment) }
        try cli.initialize(sender: Self.sender, servers: servers, environment: environment)
        // 3 s between messages: the disk fills while four messages are still to go, however late this test notices the second.
        try expectSuccess(["account", "set", Self.sender.email, "--delay", "3s", "--jitter", "0"])
        try "email,first\n".appending(prospects.map { "\($0.email),P\n" }.joined()).write(toFile: cli.directory + "/s.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello from S\n\nHi {first}.\n".write(toFile: cli.directory + "/s.md", atomically: true, encoding: .utf8)
        try expectSuccess(["campaign", "import", "S", cli.directory + "/s.csv", "--account", Self.sender.email])
        let database = try SQLiteDatabase(path: environment["OUTREACH_DB"]!, create: false)

        let send = try cli.startCommand(["send", "S", "--template", cli.directory + "/s.md", "--wait"], extraEnvironment: environment)
        defer { send.stop() }
        try await Self.waitUntil("the second message") { try await Self.sentRows("S", in: database) >= 2 }
        switch failure {
        case .diskFull: try disk.fill()
        case .unwritable: try disk.makeImmutable(["outreach.db", "outreach.db-wal"])
        }
        let status = send.waitForExit(timeout: 60)
        let expected = failure == .diskFull ? "the database could not be written: its disk is full" : "the database could not be written: the disk refused a write"
        #expect(status != nil && status != 0, "send --wait must end, non-zero: \(String(describing: status))\n\(send.output)")
        #expect(send.output.contains(expected), "\(send.output)")
        #expect(send.output.contains("Nothing was sent twice"), "\(send.output)")
        #expect(!send.output.contains("SQLite error"), "no raw SQLite error text:\n\(send.output)")

        // Space back (or the file writable again): a worker continues the job from the ledger.
        switch failure {
        case .diskFull: try disk.emptyFiller()
        case .unwritable: try disk.makeWritable(["outreach.db", "outreach.db-wal"])
        }
        let worker = try cli.startWorker(extraEnvironment: environment)
        defer { worker.stop() }
        let job = try await JobTests.wait(for: 1, in: database, timeout: 90, "ended") { $0.state.isFinal || $0.state == .paused }
        if job.state == .paused {
            // The foreground run recorded its stop before giving up: the operator resumes it.
            try expectSuccess(["job", "resume", "1"])
        }
        let ended = try await JobTests.wait(for: 1, in: database, timeout: 90, "completed") { $0.state.isFinal }
        worker.stop()
        #expect(ended.state == .completed, "\(ended.state): \(ended.note ?? "")\n\(worker.output)")
        let counts = try JobTests.delivered("Hello from S", to: prospects.map(\.email), servers: servers)
        #expect(counts.values.allSatisfy { $0 == 1 }, "each prospect exactly once: \(counts)")
    }

    @Test("a storage error during a sync ends it in time with what to do; once the database can be written, the next sync indexes everything", arguments: StorageFailure.allCases)
    func storageErrorDuringSync(_ failure: StorageFailure) async throws {
        let servers = try MailServers(users: [Self.sender, (email: "friend@example.test", password: "f")])
        defer { servers.stop() }
        let disk = try SmallDisk(megabytes: failure == .diskFull ? 8 : 0)
        defer { disk.remove() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let environment = ["OUTREACH_DB": disk.path + "/outreach.db"]
        func run(_ arguments: [String]) throws -> CommandRunner.Result { try cli.run(arguments, extraEnvironment: environment) }
        try cli.initialize(sender: Self.sender, servers: servers, environment: environment)
        // Enough mail that the index must grow past what the disk has left once the sync has started: every
        // message cites a long thread (References are stored as edges, one row each).
        let count = 40
        for n in 1...count {
            let references = (1...60).map { "<thread-\(n)-\($0)-\(UUID().uuidString)@example.test>" }.joined(separator: "\n ")
            try servers.deliver(
                "From: friend@example.test\nTo: \(Self.sender.email)\nSubject: note \(n)\nMessage-ID: <note-\(n)@example.test>\n"
                    + "References: \(references)\nDate: Tue, 1 Dec 2026 10:00:00 +0000\n\nA note.\n",
                from: "friend@example.test", to: Self.sender.email
            )
        }
        switch failure {
        case .diskFull: try disk.fill(leavingKilobytes: 160)
        case .unwritable: try disk.makeImmutable(["outreach.db"])
        }
        let started = Date()
        let refused = try run(["sync", "--account", Self.sender.email])
        #expect(refused.status != 0, "\(refused.output)")
        #expect(Date().timeIntervalSince(started) < 60)
        let expected = failure == .diskFull ? "the database could not be written: its disk is full" : "the database could not be written: its file cannot be written"
        #expect(refused.stderr.contains(expected), "\(refused.output)")
        #expect(!refused.output.contains("SQLite error"), "\(refused.output)")

        switch failure {
        case .diskFull: try disk.emptyFiller()
        case .unwritable: try disk.makeWritable(["outreach.db"])
        }
        let synced = try run(["sync", "--account", Self.sender.email])
        #expect(synced.status == 0, "\(synced.output)")
        let database = try SQLiteDatabase(path: environment["OUTREACH_DB"]!, create: false)
        let account = try #require(try await database.accounts.account(email: Self.sender.email))
        #expect(try await database.threads.messageCount(accountID: account.id!) >= count)
    }
}

extension FaultTests {
    @Test("a server that hangs up mid-conversation is reported as a connection that broke, with when — not as 'could not connect … check the host name'; a closed port still is")
    func hangUpIsNotCouldNotConnect() async throws {
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        // An SMTP server that greets, reads the client's EHLO and hangs up, every time.
        let script = """
            import socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 0)); s.listen(8)
            print(s.getsockname()[1], flush=True)
            while True:
                c, _ = s.accept(); c.sendall(b"220 hangup.test ESMTP\\r\\n"); c.recv(1024); c.close()
            """
        let server = try BackgroundProcess("/usr/bin/python3", ["-c", script], environment: [:], workingDirectory: cli.directory)
        defer { server.stop() }
        try await Self.waitUntil("the hang-up server to listen", timeout: 10) { Int(server.output.trimmingCharacters(in: .whitespacesAndNewlines)) != nil }
        let port = Int(server.output.trimmingCharacters(in: .whitespacesAndNewlines))!
        try cli.expectSuccess(["init"])
        try cli.expectSuccess(
            ["account", "add", "a@example.test", "--smtp", "smtp://127.0.0.1:\(port)", "--imap", "imaps://127.0.0.1:1", "--password-stdin"], stdin: "pw"
        )
        let tested = try cli.run(["account", "test", "a@example.test"])
        #expect(tested.status != 0)
        let smtpLine = tested.output.split(separator: "\n").first { $0.contains("SMTP") } ?? ""
        #expect(smtpLine.contains("the connection broke") && smtpLine.contains(" at 20"), "\(tested.output)")
        #expect(!smtpLine.contains("could not connect") && !smtpLine.contains("check the host name"), "\(tested.output)")
        #expect(!tested.output.contains(".."), "no doubled full stop: \(tested.output)")
        // Port 1 on loopback refuses: that one really could not connect.
        #expect(tested.output.contains("IMAP") && tested.output.contains("could not connect"), "\(tested.output)")
    }

    @Test("a database that refuses writes: the web answers 503 saying what is wrong (no internal name), and works again once it is fixed")
    func storageErrorInTheWeb() async throws {
        let server = try await WebHardeningTests.Server()
        defer { server.stop() }
        let client = server.client()
        try await client.signIn(WebHardeningTests.user.email, WebHardeningTests.user.password)
        let disk = SmallDisk(existing: server.cli.directory)
        try disk.makeImmutable(["outreach.db", "outreach.db-wal"])
        defer { try? disk.makeWritable(["outreach.db", "outreach.db-wal"]) }
        let refused = try await client.request(
            "POST", "/api/campaigns?name=Blocked&account=\(WebHardeningTests.account)",
            headers: ["X-CSRF-Token": client.csrf, "Content-Type": "text/csv"], body: Data("email,first\np1@example.test,Ann\n".utf8)
        )
        #expect(refused.status == 503, "\(refused)")
        #expect(refused.text.contains("the database could not be written"), "\(refused.text)")
        WebHardeningTests.expectNoInternalNames(refused, "the 503")
        try disk.makeWritable(["outreach.db", "outreach.db-wal"])
        let id = try await server.uploadCampaign(client, name: "After")
        #expect(id > 0)
    }
}

/// A folder for a test's database: a small tmpfs the test can fill (megabytes > 0), or a folder on the machine's
/// disk whose files the test can make immutable (chattr +i works on ext4, not on tmpfs).
struct SmallDisk {
    let path: String
    let mounted: Bool

    init(megabytes: Int) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-disk-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        mounted = megabytes > 0
        if mounted {
            let mount = try CommandRunner.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0755", "tmpfs", path], timeout: 30)
            guard mount.status == 0 else { throw HarnessError("cannot mount a tmpfs for the disk-full test (run the tests as root): \(mount.output)") }
        }
    }

    /// Fills the file system with a filler file until no space (or only `leavingKilobytes`) is left.
    /// A folder that exists already (a sandbox's), on the machine's disk.
    init(existing path: String) {
        self.path = path
        mounted = false
    }

    func fill(leavingKilobytes: Int = 0) throws {
        let free = try CommandRunner.run("/usr/bin/df", ["--output=avail", "-k", path], timeout: 10).stdout.split(separator: "\n").last.flatMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        } ?? 0
        let count = max(0, free - leavingKilobytes)
        _ = try CommandRunner.run("/usr/bin/dd", ["if=/dev/zero", "of=\(path)/filler", "bs=1k", "count=\(count)"], timeout: 60)
        if leavingKilobytes == 0 {
            // Whatever dd could not place: the last blocks.
            _ = try CommandRunner.run("/usr/bin/dd", ["if=/dev/zero", "of=\(path)/filler2", "bs=512"], timeout: 60)
        }
    }

    func emptyFiller() throws {
        try? FileManager.default.removeItem(atPath: path + "/filler")
        try? FileManager.default.removeItem(atPath: path + "/filler2")
    }

    func makeImmutable(_ names: [String]) throws {
        for name in names {
            let result = try CommandRunner.run("/usr/bin/chattr", ["+i", path + "/" + name], timeout: 10)
            guard result.status == 0 else { throw HarnessError("chattr +i \(name) failed (the test needs root and an ext4 /tmp): \(result.output)") }
        }
    }

    func makeWritable(_ names: [String]) throws {
        for name in names { _ = try CommandRunner.run("/usr/bin/chattr", ["-i", path + "/" + name], timeout: 10) }
    }

    func remove() {
        if let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
            for name in names { _ = try? CommandRunner.run("/usr/bin/chattr", ["-i", path + "/" + name], timeout: 10) }
        }
        if mounted { _ = try? CommandRunner.run("/usr/bin/umount", ["-l", path], timeout: 30) }
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension OutreachSandbox {
    /// Starts any `outreach` command in the background (output in a file), on this sandbox's database.
    func startCommand(_ arguments: [String], extraEnvironment: [String: String] = [:]) throws -> BackgroundProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["OUTREACH_DB"] = nil
        environment["OUTREACH_MASTER_KEY"] = nil
        environment.merge(extraEnvironment) { $1 }
        return try BackgroundProcess(binary, arguments, environment: environment, workingDirectory: directory)
    }
}
