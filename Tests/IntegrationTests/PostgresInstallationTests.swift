import Foundation
import Logging
import OutreachCore
import OutreachStore
import PostgresTestSupport
import Testing

/// An installation on a shared PostgreSQL server instead of the SQLite file: the real binary's commands, a separate
/// worker process, the web UI, and `db copy` moving a SQLite installation over — against real Dovecot/SMTP and a
/// real PostgreSQL server the test starts itself.
@Suite("PostgreSQL installations against real servers", .timeLimit(.minutes(6)))
struct PostgresInstallationTests {
    static let sender = (email: "sales@example.test", password: "sales-secret-pw")
    static let prospects = (1...5).map { (email: "p\($0)@example.test", password: "pw\($0)") }
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A campaign "T" of five prospects and two templates in the sandbox.
    static func writeInputs(_ cli: OutreachSandbox) throws {
        let csv = "email,first\n" + prospects.enumerated().map { "\($0.element.email),Name\($0.offset + 1)" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: cli.directory + "/l.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try "Subject:\n\nJust following up, {first}.\n".write(toFile: cli.directory + "/next.md", atomically: true, encoding: .utf8)
    }

    /// p1 answers round 1 in its thread, as a mail client would.
    static func p1Replies(_ servers: MailServers, stores: Stores) async throws {
        let campaign = try #require(try await stores.campaigns.campaign(named: "T"))
        let p1 = try #require(try await stores.campaigns.prospect(campaignID: campaign.id!, row: 1))
        let root = try #require(try await stores.deliveries.deliveries(campaignID: campaign.id!, round: 1)[p1.id!]?.messageID)
        let reply = """
            From: Name1 <p1@example.test>\r
            To: \(sender.email)\r
            Subject: Re: Hello Name1\r
            Message-ID: <reply-p1@example.test>\r
            In-Reply-To: <\(root)>\r
            References: <\(root)>\r
            Date: \(BrowserTests.rfc5322(Date()))\r
            \r
            Thanks, not now.\r

            """
        try servers.deliver(reply, from: "p1@example.test", to: sender.email)
    }

    @Test("on OUTREACH_DB=postgres://…: init, account test, import, round 1 with --wait, sync, plan, a follow-up run by a separate worker process, and the web's job list")
    func wholeFlowOnPostgres() async throws {
        let postgres = try await PostgresServer.start()
        defer { postgres.stop() }
        let url = try await postgres.createDatabase("outreach")
        let servers = try MailServers(users: [Self.sender] + Self.prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let environment = ["OUTREACH_DB": url, "OUTREACH_MASTER_KEY_FILE": cli.directory + "/master.key"]
        try Self.writeInputs(cli)

        let initialized = try await offThePool { try cli.expectSuccess(["init"], environment: environment) }
        #expect(initialized.stdout.contains("is up to date") && !initialized.output.contains(PostgresServer.password), "\(initialized.output)")
        try await offThePool {
            try cli.initialize(sender: Self.sender, servers: servers, environment: environment)
            try cli.expectSuccess(["account", "test", Self.sender.email], environment: environment)
            try cli.expectSuccess(["campaign", "import", "T", cli.directory + "/l.csv", "--account", Self.sender.email], environment: environment)
        }
        #expect(!FileManager.default.fileExists(atPath: cli.databasePath), "no SQLite file was made beside")
        let round1 = try await offThePool { try cli.run(["send", "T", "--template", cli.directory + "/first.md", "--wait"], extraEnvironment: environment) }
        #expect(round1.status == 0 && round1.stdout.contains(" 5 sent"), "\(round1.output)")

        let stores = try await Stores.open(url, logger: Self.quiet)
        try await Self.p1Replies(servers, stores: stores)
        let plan = try await offThePool { try cli.expectSuccess(["plan", "T", "--round", "2"], environment: environment) }
        #expect(plan.stdout.contains("p1@example.test: skip: replied"), "\(plan.output)")
        #expect(plan.stdout.components(separatedBy: "send: no reply").count - 1 == 4, "\(plan.output)")

        // The follow-up is only queued here; a worker process of its own (another machine's, as far as the database
        // can tell) runs it.
        try await offThePool { _ = try cli.expectSuccess(["followup", "T", "--round", "2", "--template", cli.directory + "/next.md"], environment: environment) }
        let worker = try cli.startWorker(extraEnvironment: environment)
        defer { worker.stop() }
        var followUp: Job?
        for _ in 0..<300 {
            followUp = try await stores.jobs.jobs(states: nil, ownerID: nil, limit: 10).first { $0.round == 2 }
            if followUp?.state.isFinal == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(followUp?.state == .completed && followUp?.counters.sent == 4 && followUp?.counters.skipped == 1, "\(String(describing: followUp))\n\(worker.output)")
        worker.stop()
        let inboxes = try servers.mailboxes(of: Self.prospects.map(\.email))
        #expect(Self.prospects.map { inboxes[$0.email]?["INBOX"]?.count ?? 0 } == [1, 2, 2, 2, 2], "p1 replied and got no follow-up; the others got one")

        // The web, on the same database.
        _ = try await offThePool { try cli.expectSuccess(["user", "add", "admin@example.test", "--admin", "--password-stdin"], stdin: "admin-password-1", environment: environment) }
        let serve = try cli.startServe(extraEnvironment: environment)
        defer { serve.stop() }
        let base = try await BrowserTests.waitUntilListening(serve)
        let client = RawWebClient(port: try #require(Int(base.split(separator: ":").last ?? "")))
        try await client.signIn("admin@example.test", "admin-password-1")
        let jobs = try await client.request("GET", "/jobs")
        #expect(jobs.status == 200 && jobs.text.contains("completed"), "\(jobs.status)\n\(serve.output)")
        let health = try await offThePool { try cli.run(["health", "--url", base + "/healthz"], extraEnvironment: environment) }
        #expect(health.status == 0 && !health.output.contains(PostgresServer.password), "\(health.output)")
        await stores.close()
    }

    @Test("db copy moves a SQLite installation (round 1 sent, index synced, a paused job) to PostgreSQL: same plan, the account still logs in, new ids follow the copied ones")
    func copyFromSQLite() async throws {
        let servers = try MailServers(users: [Self.sender] + Self.prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try Self.writeInputs(cli)
        try await offThePool {
            try cli.initialize(sender: Self.sender, servers: servers)
            try cli.expectSuccess(["campaign", "import", "T", cli.directory + "/l.csv", "--account", Self.sender.email])
            try cli.expectSuccess(["send", "T", "--template", cli.directory + "/first.md", "--wait"])
        }
        let sqlite = Stores(try SQLiteDatabase(path: cli.databasePath, create: false))
        try await Self.p1Replies(servers, stores: sqlite)
        let tomorrow = JobTests.at(Date().addingTimeInterval(86_400))
        let before = try await offThePool {
            try cli.expectSuccess(["sync"])
            try cli.expectSuccess(["followup", "T", "--round", "2", "--template", cli.directory + "/next.md", "--at", tomorrow])
            try cli.expectSuccess(["job", "pause", "2"])
            return try cli.expectSuccess(["plan", "T", "--round", "2", "--no-sync"]).stdout
        }

        let postgres = try await PostgresServer.start()
        defer { postgres.stop() }
        let url = try await postgres.createDatabase("outreach")
        let copied = try await offThePool { try cli.run(["db", "copy", "--to", url]) }
        #expect(copied.status == 0, "\(copied.output)")
        for table in ["account", "campaign", "prospect", "delivery", "message", "job", "job_event", "account_lease"] {
            #expect(copied.stdout.split(separator: "\n").contains { $0.hasPrefix(table + " ") }, "no count for \(table):\n\(copied.output)")
        }
        #expect(!copied.output.contains(PostgresServer.password), "the password is printed:\n\(copied.output)")
        let again = try await offThePool { try cli.run(["db", "copy", "--to", url]) }
        #expect(again.status != 0 && again.stderr.contains("already holds data") && again.stderr.contains("nothing was copied"), "\(again.output)")

        let environment = ["OUTREACH_DB": url, "OUTREACH_MASTER_KEY_FILE": cli.databasePath + ".key"]
        let after = try await offThePool { try cli.expectSuccess(["plan", "T", "--round", "2", "--no-sync"], environment: environment).stdout }
        #expect(after == before, "the plan differs after the copy:\nSQLite:\n\(before)\nPostgreSQL:\n\(after)")
        let test = try await offThePool { try cli.run(["account", "test", Self.sender.email], extraEnvironment: environment) }
        #expect(test.status == 0, "the sealed password no longer opens the account:\n\(test.output)")

        let stores = try await Stores.open(url, logger: Self.quiet)
        #expect(try await stores.jobs.job(id: 2)?.state == .paused)
        // New rows continue after the copied ids instead of colliding with them.
        try await offThePool { _ = try cli.expectSuccess(["followup", "T", "--round", "3", "--template", cli.directory + "/next.md", "--at", tomorrow], environment: environment) }
        #expect(try await stores.jobs.jobs(states: nil, ownerID: nil, limit: 1).first?.id == 3)
        await stores.close()
    }
}
