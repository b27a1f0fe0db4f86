import Foundation
import Testing

/// The original app's `.env` (Fixtures/seed.env, copied verbatim from its README) in the folder where `outreach`
/// runs: every command works, or says exactly what to change.
@Suite("The seed's .env", .timeLimit(.minutes(5)))
struct SeedEnvTests {
    static let seedEnv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/seed.env").path

    /// A sandbox holding the seed's `.env` as it is, plus `extra` lines.
    static func sandbox(extra: String = "") throws -> OutreachSandbox {
        let cli = try OutreachSandbox()
        let seed = try String(contentsOfFile: seedEnv, encoding: .utf8)
        try (seed + extra).write(toFile: cli.directory + "/.env", atomically: true, encoding: .utf8)
        return cli
    }

    @Test("account list, campaign import, send --dry-run and serve work with the seed's .env; drafts, follow-ups and weak admin settings say what to change")
    func seedEnvAsItIs() async throws {
        let cli = try Self.sandbox()
        defer { cli.remove() }
        try cli.expectSuccess(["init"])

        // The .env account has no IMAP server: listed as SMTP-only, with what that means.
        let list = try cli.expectSuccess(["account", "list"])
        #expect(list.stdout.contains("you@example.com") && list.stdout.contains("none (SMTP only)") && list.stdout.contains(".env"), "\(list.output)")
        #expect(list.stdout.contains("set IMAP_HOST (and IMAP_PORT, 993 by default) in .env"), "\(list.output)")

        try "email,first_name,company\nana@example.org,Ana,Acme\nbo@example.org,Bo,Beta\n".write(toFile: cli.directory + "/leads.csv", atomically: true, encoding: .utf8)
        let imported = try cli.expectSuccess(["campaign", "import", "Q4", cli.directory + "/leads.csv", "--account", "you@example.com"])
        #expect(imported.stdout.contains("Imported 2 of 2 rows") && imported.stdout.contains("Stored you@example.com from .env"), "\(imported.output)")
        try "Subject: Hello {first_name}\n\nHi {first_name} at {company}.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        let dryRun = try cli.expectSuccess(["send", "Q4", "--template", cli.directory + "/first.md", "--dry-run"])
        #expect(dryRun.stdout.contains("ana@example.org") && dryRun.stdout.contains("Hello Ana"), "\(dryRun.output)")

        // What needs the mailbox is refused where it is tried, saying what to set.
        let drafts = try cli.run(["send", "Q4", "--template", cli.directory + "/first.md", "--mode", "draft-all"])
        #expect(drafts.status != 0 && drafts.stderr.contains("SMTP-only account") && drafts.stderr.contains("set IMAP_HOST"), "\(drafts.output)")
        let plan = try cli.run(["plan", "Q4", "--round", "2"])
        #expect(plan.status != 0 && plan.stderr.contains("SMTP-only account") && plan.stderr.contains("IMAP_HOST"), "\(plan.output)")
        let sync = try cli.expectSuccess(["sync"])
        #expect(sync.stdout.contains("you@example.com: not synced"), "\(sync.output)")
        // Pacing of the stored .env account is the operator's to set.
        try cli.expectSuccess(["account", "set", "you@example.com", "--delay", "5s"])

        // serve starts; the replaced keys and the unusable admin settings get one line each saying what to do.
        let serve = try cli.startCommand(["serve", "--port", "0", "--host", "127.0.0.1"])
        defer { serve.stop() }
        let base = try await BrowserTests.waitUntilListening(serve, timeout: 90)
        let port = try #require(Int(base.split(separator: ":").last ?? ""))
        let page = try await offThePool { try RawHTTP.exchange(port: port, head: "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n") }
        #expect(page.status == 200, "\(page)")
        let output = serve.output
        for key in ["REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "APP_SECRET_KEY", "AUTH_MODE"] {
            #expect(output.contains("Note: \(key) is not used by Outreach: "), "\(key):\n\(output)")
        }
        #expect(output.contains("GMAIL_REDIRECT_URI=http://localhost:8501 is the original app's Streamlit address") && output.contains("/oauth2/callback"), "\(output)")
        #expect(output.contains("ADMIN_USERNAME=admin is not an email address") && output.contains("`outreach user add EMAIL --admin`"), "\(output)")
    }

    @Test("with an address and a password of its own, the seed's admin is created; the placeholder password is refused by name")
    func seedAdmin() async throws {
        let placeholder = try Self.sandbox(extra: "\nADMIN_USERNAME=boss@example.com\n")
        defer { placeholder.remove() }
        try placeholder.expectSuccess(["init"])
        let refused = try placeholder.startCommand(["serve", "--port", "0", "--host", "127.0.0.1", "--no-worker", "--no-sync"])
        _ = try await BrowserTests.waitUntilListening(refused, timeout: 90)
        refused.stop()
        #expect(refused.output.contains("ADMIN_PASSWORD is still the example's placeholder (change_me)"), "\(refused.output)")

        let cli = try Self.sandbox(extra: "\nADMIN_USERNAME=boss@example.com\nADMIN_PASSWORD=a-long-admin-secret\n")
        defer { cli.remove() }
        try cli.expectSuccess(["init"])
        let serve = try cli.startCommand(["serve", "--port", "0", "--host", "127.0.0.1", "--no-worker", "--no-sync"])
        _ = try await BrowserTests.waitUntilListening(serve, timeout: 90)
        serve.stop()
        #expect(serve.output.contains("Created the admin boss@example.com"), "\(serve.output)")
        #expect(try cli.expectSuccess(["user", "list"]).stdout.contains("boss@example.com"))
    }

    @Test("a seed-style .env account without IMAP sends round 1 through a real relay; nothing is copied to Sent")
    func smtpOnlySends() async throws {
        let sender = (email: "sales@example.test", password: "sales-pw")
        let prospects = JobTests.prospects(3)
        let servers = try MailServers(users: [sender] + prospects)
        defer { servers.stop() }
        let port = try #require(servers.smtpURL.split(separator: ":").last.map(String.init))
        // The seed's keys, pointed at the loopback relay (STARTTLS on its port, a private CA).
        let cli = try Self.sandbox(extra: """

            SMTP_HOST=127.0.0.1
            SMTP_PORT=\(port)
            SMTP_USERNAME=\(sender.email)
            SMTP_PASSWORD=\(sender.password)
            SMTP_CA_FILE=\(servers.caFile)

            """)
        defer { cli.remove() }
        try cli.expectSuccess(["init"])
        let campaign = try JobTests.campaign("S", prospects.map(\.email), in: cli, account: sender.email)
        try cli.expectSuccess(["account", "set", sender.email, "--delay", "0", "--jitter", "0"])
        let sent = try cli.expectSuccess(["send", "S", "--template", campaign, "--wait"])
        #expect(sent.stdout.contains("3 sent"), "\(sent.output)")
        let counts = try JobTests.delivered("Hello from S", to: prospects.map(\.email), servers: servers)
        #expect(counts.values.allSatisfy { $0 == 1 } && counts.count == 3, "\(counts)")
        let senderBoxes = try servers.mailboxes(of: [sender.email])[sender.email] ?? [:]
        let stored = senderBoxes.values.reduce(0) { $0 + $1.count }
        #expect(stored == 0, "an SMTP-only account appends nothing: \(senderBoxes.mapValues(\.count))")
    }
}
