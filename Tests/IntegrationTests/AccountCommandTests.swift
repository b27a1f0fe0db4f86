import Foundation
import Testing

/// `outreach account …` end to end: the real binary against a real Dovecot and SMTP server over TLS.
@Suite("outreach account against real servers", .timeLimit(.minutes(5)))
struct AccountCommandTests {
    @Test("account add + account test: SMTP and IMAP OK, special-use folders found")
    func addAndTest() throws {
        let servers = try MailServers()
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }

        try #require(cli.run(["init"]).status == 0)
        // STARTTLS submission + implicit-TLS IMAP for one account, the other way round for the second.
        let added = try cli.run(
            ["account", "add", servers.alice.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile,
             "--name", "Alice Example", "--password-stdin"],
            stdin: servers.alice.password + "\n"
        )
        #expect(added.status == 0, "\(added.output)")
        try #require(cli.run(
            ["account", "add", servers.bob.email, "--smtp", servers.smtpsURL, "--imap", servers.imapURL, "--ca-file", servers.caFile, "--password-stdin"],
            stdin: servers.bob.password
        ).status == 0)

        for user in [servers.alice, servers.bob] {
            let tested = try cli.run(["account", "test", user.email])
            #expect(tested.status == 0, "\(tested.output)")
            #expect(tested.stdout.contains("SMTP smtp") && tested.stdout.contains(": OK"), "\(tested.output)")
            #expect(!tested.stdout.contains("FAILED"), "\(tested.output)")
            for folder in ["Sent", "Drafts", "Junk", "Archive"] {
                #expect(tested.stdout.contains("  \(folder): \"\(folder)\""), "\(folder) not reported:\n\(tested.output)")
            }
        }

        let listed = try cli.run(["account", "list", "--json"])
        let accounts = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
        #expect(accounts?.count == 2)
        #expect(accounts?.first?["name"] as? String == "Alice Example")
        #expect(!listed.stdout.contains(servers.alice.password) && !listed.stdout.contains(servers.bob.password))
    }

    @Test("an unknown CA fails IMAP and SMTP with a certificate error")
    func unknownCertificateAuthority() throws {
        let servers = try MailServers()
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try #require(cli.run(["init"]).status == 0)
        // One account trusts a CA that signed nothing here; the other uses the system store, which has never heard of the test CA.
        try #require(cli.run(
            ["account", "add", servers.alice.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.otherCAFile, "--password-stdin"],
            stdin: servers.alice.password
        ).status == 0)
        try #require(cli.run(
            ["account", "add", servers.bob.email, "--smtp", servers.smtpsURL, "--imap", servers.imapURL, "--password-stdin"], stdin: servers.bob.password
        ).status == 0)

        for user in [servers.alice, servers.bob] {
            let report = try testReport(cli, user.email)
            #expect(report.status != 0)
            #expect(report.smtp.errorKind == "certificate", "\(report.smtp.detail)")
            #expect(report.imap.errorKind == "certificate", "\(report.imap.detail)")
            #expect(report.imap.detail.contains("not trusted"), "\(report.imap.detail)")
            #expect(report.smtp.detail.contains("not trusted"), "\(report.smtp.detail)")
        }
    }

    @Test("--insecure connects despite an untrusted certificate and warns on every connection")
    func insecureSwitch() throws {
        let servers = try MailServers(certificateHost: "mail.elsewhere.test")
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try #require(cli.run(["init"]).status == 0)
        try #require(cli.run(
            ["account", "add", servers.alice.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--insecure", "--password-stdin"],
            stdin: servers.alice.password
        ).status == 0)
        let tested = try cli.run(["account", "test", servers.alice.email])
        #expect(tested.status == 0, "\(tested.output)")
        let warnings = tested.stderr.components(separatedBy: "TLS certificate NOT verified").count - 1
        #expect(warnings == 2, "expected one warning per connection (SMTP, IMAP):\n\(tested.stderr)")
    }

    @Test("a certificate issued for another host name fails IMAP and SMTP")
    func certificateForAnotherHost() throws {
        let servers = try MailServers(certificateHost: "mail.elsewhere.test")
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try #require(cli.run(["init"]).status == 0)
        try #require(cli.run(
            ["account", "add", servers.alice.email, "--smtp", servers.smtpsURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile, "--password-stdin"],
            stdin: servers.alice.password
        ).status == 0)
        let report = try testReport(cli, servers.alice.email)
        #expect(report.status != 0)
        #expect(report.smtp.errorKind == "certificate", "\(report.smtp.detail)")
        #expect(report.imap.errorKind == "certificate", "\(report.imap.detail)")
        #expect(report.imap.detail.contains("not issued for 127.0.0.1"), "\(report.imap.detail)")
    }

    @Test("a wrong password fails with an authentication error naming the server, never the password")
    func wrongPassword() throws {
        let servers = try MailServers()
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try #require(cli.run(["init"]).status == 0)
        let wrong = "Wr0ng-Pa55word-\(UUID().uuidString.prefix(6))"
        try #require(cli.run(
            ["account", "add", servers.alice.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile, "--password-stdin"],
            stdin: wrong
        ).status == 0)

        let plain = try cli.run(["account", "test", servers.alice.email])
        #expect(plain.status != 0)
        #expect(plain.stdout.contains("SMTP 127.0.0.1:\(servers.state.smtpPort): login failed"), "\(plain.output)")
        #expect(plain.stdout.contains("IMAP 127.0.0.1:\(servers.state.imapsPort): login failed"), "\(plain.output)")
        #expect(!plain.output.contains(wrong))

        let report = try testReport(cli, servers.alice.email)
        #expect(report.smtp.errorKind == "authentication")
        #expect(report.imap.errorKind == "authentication")
        #expect(!report.raw.contains(wrong))
    }

    @Test("the database file and its WAL hold no plaintext password")
    func noPlaintextAtRest() throws {
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try #require(cli.run(["init"]).status == 0)
        let password = "plaintext-canary-\(UUID().uuidString)"
        try #require(cli.run(
            ["account", "add", "carol@example.test", "--smtp", "smtps://127.0.0.1:1", "--imap", "imaps://127.0.0.1:1", "--password-stdin"], stdin: password
        ).status == 0)
        // `account list` opens the database again; the WAL then holds the pages written by add.
        try #require(cli.run(["account", "list"]).status == 0)

        let files = try FileManager.default.contentsOfDirectory(atPath: cli.directory).filter { $0.hasPrefix("outreach.db") && !$0.hasSuffix(".key") }
        #expect(files.contains("outreach.db"))
        let needles = [Data(password.utf8), Data(password.utf8.reversed()), Data(password.utf8).base64EncodedData()]
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/" + file))
            for needle in needles { #expect(bytes.range(of: needle) == nil, "\(file) contains the password") }
        }
        // And the key really is needed: without it the password cannot be read back.
        try FileManager.default.removeItem(atPath: cli.databasePath + ".key")
        let withoutKey = try cli.run(["account", "test", "carol@example.test"])
        #expect(withoutKey.status != 0)
        #expect(withoutKey.stderr.contains("no master key"), "\(withoutKey.output)")
    }

    @Test("a seed-style .env is a default account: listed, testable, never stored")
    func dotEnvDefaultAccount() throws {
        let servers = try MailServers()
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try #require(cli.run(["init"]).status == 0)
        let dotEnv = """
            SMTP_HOST=127.0.0.1
            SMTP_PORT=\(servers.state.smtpPort)
            SMTP_USERNAME=\(servers.alice.email)
            SMTP_PASSWORD=\(servers.alice.password)
            SMTP_USE_TLS=true
            SMTP_CA_FILE=\(servers.caFile)
            IMAP_HOST=127.0.0.1
            IMAP_PORT=\(servers.state.imapsPort)
            """
        try dotEnv.write(toFile: cli.directory + "/.env", atomically: true, encoding: .utf8)

        let listed = try cli.run(["account", "list", "--json"])
        let accounts = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.output)")
        #expect(accounts.count == 1)
        #expect(accounts.first?["origin"] as? String == "environment")
        #expect(!listed.stdout.contains(servers.alice.password))

        let tested = try cli.run(["account", "test", servers.alice.email])
        #expect(tested.status == 0, "\(tested.output)")
        let removed = try cli.run(["account", "remove", servers.alice.email])
        #expect(removed.status != 0)
        #expect(removed.stderr.contains(".env"), "\(removed.output)")
        let database = try Data(contentsOf: URL(fileURLWithPath: cli.databasePath))
        #expect(database.range(of: Data(servers.alice.email.utf8)) == nil, "the .env account was written to the database")
    }

    // MARK: - Helpers

    struct TestReport {
        struct Part {
            let ok: Bool
            let detail: String
            let errorKind: String?
        }
        let status: Int32
        let smtp: Part
        let imap: Part
        let raw: String
    }

    func testReport(_ cli: OutreachSandbox, _ email: String) throws -> TestReport {
        let result = try cli.run(["account", "test", email, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.output)")
        func part(_ key: String) throws -> TestReport.Part {
            let part = try #require(object[key] as? [String: Any])
            return .init(ok: part["ok"] as? Bool ?? false, detail: part["detail"] as? String ?? "", errorKind: part["errorKind"] as? String)
        }
        return TestReport(status: result.status, smtp: try part("smtp"), imap: try part("imap"), raw: result.output)
    }
}
