import Foundation
import OutreachCore
import OutreachStore
import Testing

/// What the project promises about secrets, files and rights (README "Security"), checked on real runs: no secret in
/// a debug-level log, the database files readable by their owner only, and a revoked grant that stops its jobs.
@Suite("Security", .serialized, .timeLimit(.minutes(5)))
struct SecurityTests {
    static let sender = (email: "sales@example.test", password: "Sender-pw-5f1c9e")
    static let debug = ["LOG_LEVEL": "debug"]

    @Test("at debug level no log line holds the master key, a password, a client secret or an OAuth token: serve, account test, a round, a sync, a Gmail connect")
    func debugLogsHoldNoSecret() async throws {
        let prospects = JobTests.prospects(2)
        let servers = try MailServers(users: [Self.sender] + prospects)
        defer { servers.stop() }
        let gmail = try FakeGmailServer()
        defer { gmail.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        var logs = ""
        let environment = Self.debug.merging(gmail.environment) { $1 }
        func run(_ arguments: [String], stdin: String? = nil) throws { logs += try cli.expectSuccess(arguments, stdin: stdin, environment: environment).output }
        try run(["init"])
        try run(
            ["account", "add", Self.sender.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile, "--password-stdin"],
            stdin: Self.sender.password
        )
        try run(["account", "set", Self.sender.email, "--delay", "0", "--jitter", "0"])
        try run(["account", "test", Self.sender.email])
        let template = try JobTests.campaign("L", prospects.map(\.email), in: cli)
        try run(["send", "L", "--template", template, "--wait"])
        try run(["sync", "--account", Self.sender.email])
        logs += try await GmailEndToEndTests().connect(cli: cli, environment: environment, gmail: gmail)
        try run(["account", "test", GmailEndToEndTests.sender])
        try run(["sync", "--account", GmailEndToEndTests.sender])

        let adminPassword = "Admin-pw-0b7d2a"
        let serve = try cli.startServe(
            extraEnvironment: Self.debug.merging(["ADMIN_USERNAME": "boss@example.test", "ADMIN_PASSWORD": adminPassword]) { $1 }.merging(gmail.environment) { $1 }
        )
        defer { serve.stop() }
        _ = try await BrowserTests.waitUntilListening(serve)
        try await Task.sleep(for: .seconds(1))  // the worker and the sync timer start and log
        serve.stop()
        logs += serve.output
        #expect(logs.contains("debug"), "the runs logged at debug level")

        let keyText = try String(contentsOfFile: cli.databasePath + ".key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let keyBytes = stride(from: 0, to: keyText.count, by: 2).map { offset -> UInt8 in
            let start = keyText.index(keyText.startIndex, offsetBy: offset)
            return UInt8(keyText[start..<keyText.index(start, offsetBy: 2)], radix: 16)!
        }
        var secrets: [String: String] = [
            "the master key (hex)": keyText,
            "the master key (bytes)": keyBytes.prefix(4).map(String.init).joined(separator: ", "),
            "the master key (base64)": Data(keyBytes).base64EncodedString(),
            "the mailbox password": Self.sender.password,
            "the admin password": adminPassword,
            "the OAuth client secret": gmail.clientSecret,
        ]
        for (index, token) in try await gmail.issuedTokens().enumerated() { secrets["OAuth token \(index + 1)"] = token }
        #expect(secrets.count > 7, "the fake issued the Gmail account's tokens")
        for (what, secret) in secrets {
            #expect(!logs.contains(secret), "\(what) is in the log:\n\(logs.split(separator: "\n").filter { $0.contains(secret) }.prefix(3).joined(separator: "\n"))")
        }
    }

    @Test("the database and its -wal and -shm files are created readable by their owner only")
    func databaseFilesOwnerOnly() async throws {
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.expectSuccess(["init"])
        let serve = try cli.startServe()
        defer { serve.stop() }
        let deadline = Date().addingTimeInterval(30)
        let files = ["", "-wal", "-shm"].map { cli.databasePath + $0 }
        while !(serve.output.contains("listening on") && files.allSatisfy { FileManager.default.fileExists(atPath: $0) }), Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        for file in files {
            let stat = try CommandRunner.run("/usr/bin/stat", ["-c", "%a", file], timeout: 10)
            #expect(stat.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "600", "\(file): mode \(stat.output)")
        }
    }

    @Test("a job re-checks its owner's grant when it starts: revoked, it fails with the reason and sends nothing; `user revoke` and `user remove` cancel the jobs that have not ended, and say how many")
    func revokedGrantStopsJobs() async throws {
        let prospects = JobTests.prospects(3)
        let servers = try MailServers(users: [Self.sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        let template = try JobTests.campaign("G", prospects.map(\.email), in: cli)
        try cli.expectSuccess(["user", "add", "rep@example.test", "--password-stdin"], stdin: "Rep-password-1")
        try cli.expectSuccess(["user", "grant", "rep@example.test", Self.sender.email])

        // Jobs as the web creates them for the user: owned by rep.
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let user = try #require(try await database.users.user(email: "rep@example.test"))
        let campaign = try #require(try await database.campaigns.campaign(named: "G"))
        let text = try String(contentsOfFile: template, encoding: .utf8)
        func ownedJob(at start: Date) async throws -> Job {
            try await database.jobs.create(
                Job(
                    campaignID: campaign.id!, accountID: campaign.accountID, round: 1, spec: Job.Spec(mode: .sendAll, template: text, templateName: "first.md"),
                    runAt: start, counters: Job.Counters(total: 3), ownerID: user.id
                ),
                guardSeconds: 0, meanPauseSeconds: 0
            )
        }
        // Revoked behind the job's back (as a web session's cached grant could still schedule after a revoke):
        // the worker must see it when the job starts.
        let first = try await ownedJob(at: Date())
        try await database.users.revoke(userID: user.id!, accountID: campaign.accountID)
        let worker = try cli.startWorker()
        defer { worker.stop() }
        let failed = try await JobTests.wait(for: first.id!, in: database, "failed") { $0.state.isFinal }
        worker.stop()
        #expect(failed.state == .failed)
        #expect(failed.note == "rep@example.test may no longer send from \(Self.sender.email) (an admin revoked the grant); nothing more was sent", "\(failed.note ?? "")")
        #expect(try JobTests.delivered("Hello from G", to: prospects.map(\.email), servers: servers).values.allSatisfy { $0 == 0 })

        // Granted again, two jobs booked; a revoke cancels both and says so.
        try cli.expectSuccess(["user", "grant", "rep@example.test", Self.sender.email])
        let later = try await ownedJob(at: Date().addingTimeInterval(3600))
        let paused = try await ownedJob(at: Date().addingTimeInterval(7200))
        _ = try await database.jobs.request(.pause, jobID: paused.id!, now: Date())
        let revoked = try cli.expectSuccess(["user", "revoke", "rep@example.test", Self.sender.email])
        #expect(revoked.stdout.contains("rep@example.test may no longer send from \(Self.sender.email); 2 jobs that had not ended cancelled."), "\(revoked.output)")
        for id in [later.id!, paused.id!] {
            let job = try #require(try await database.jobs.job(id: id))
            #expect(job.state == .cancelled && job.note == "cancelled: rep@example.test may no longer send from \(Self.sender.email)", "\(job.state) \(job.note ?? "")")
        }

        // Removing the user cancels what they still had booked.
        try cli.expectSuccess(["user", "grant", "rep@example.test", Self.sender.email])
        let booked = try await ownedJob(at: Date().addingTimeInterval(3 * 3600))
        let removed = try cli.expectSuccess(["user", "remove", "rep@example.test"])
        #expect(removed.stdout.contains("Removed rep@example.test; 1 job that had not ended cancelled."), "\(removed.output)")
        #expect(try await database.jobs.job(id: booked.id!)?.state == .cancelled)
        #expect(try await database.users.user(email: "rep@example.test") == nil)
    }
}
