import Foundation
import OutreachCore
import OutreachStore
import Testing

/// The web UI end to end in real headless Chromium (Debian's, driven by Playwright from `.venv-test`), against
/// `outreach serve` and the private Dovecot: an admin sets up users, a user sends round 1 from the browser and watches
/// it finish, Module 2 explains a reply and a bounce; isolation between users and CSRF refusals are probed in the same
/// browser. `Fixtures/browser_flow.py` only drives the pages and reports what they showed; what arrived where is
/// checked here, on the servers.
@Suite("The web UI in a real browser", .timeLimit(.minutes(5)))
struct BrowserTests {
    static let sender = (email: "sales@example.test", password: "sales-pw")
    static let otherSender = (email: "other@example.test", password: "other-pw")
    static let admin = (email: "admin@example.test", password: "admin-password-1")
    static let user = (email: "uma@example.test", password: "uma-password-1")
    static let otherUser = (email: "otto@example.test", password: "otto-password-1")
    static let campaign = "Q4 Leads"
    static let otherCampaign = "Otto's own list"

    struct Prospect {
        let row: Int
        let first: String
        let company: String
        /// The file's select column as written.
        let select: String
        let variant: String
        var email: String { "p\(row)@example.test" }
        var selectedInFile: Bool { ["1", "yes", "x"].contains(select) }
    }

    static let prospects: [Prospect] = [
        .init(row: 1, first: "Ann", company: "Acme", select: "1", variant: "A"),
        .init(row: 2, first: "Bruno", company: "Globex", select: "1", variant: "B"),
        .init(row: 3, first: "Chloé", company: "Initech", select: "", variant: "A"),
        .init(row: 4, first: "Dmitri", company: "Umbrella", select: "yes", variant: "B"),
        .init(row: 5, first: "Elif", company: "Stark & Sons", select: "x", variant: "A"),
        .init(row: 6, first: "Farid", company: "Wayne, Ltd", select: "", variant: "B"),
        .init(row: 7, first: "Grace", company: "Hooli", select: "1", variant: "A"),
        .init(row: 8, first: "Hiro", company: "Soylent", select: "", variant: "B"),
        .init(row: 9, first: "Inès", company: "Wonka", select: "1", variant: "A"),
    ]
    /// The user changes the file's selection in the browser: these rows unticked, these ticked.
    static let untick = [2, 9]
    static let tick = [3]
    static let selected = Set(prospects.filter(\.selectedInFile).map(\.row)).subtracting(untick).union(tick)
    static let previewed = prospects[4]
    /// After round 1: row 1 answers, row 3's message bounces, and a colleague of row 7's prospect answers row 7's
    /// message (which counts only with "Count a reply from a colleague").
    static let replied = prospects[0]
    static let bounced = prospects[2]
    static let colleagueAnswered = prospects[6]
    static let colleague = "boss@example.test"
    /// The master file's Notes column: a cell a spreadsheet would run as a formula, and an ordinary one.
    static let notes = [1: "=1+2", 4: "call back"]
    /// Module 2 for one variant: the follow-up goes to variant A's rows that neither replied nor bounced, nor had a
    /// colleague answer (row 5 only).
    static let followupVariant = "A"
    static let followupBody = "Just following up, {first}."

    static let subject = "Quick question for {company}"
    static let bodyBefore = "Hi "
    static let bodyAfter = ",\n\nA short note about **{company}**: would a call next week suit you?\n\nBest,\nSam"

    /// The master file, with the headers a CRM export has, a quoted comma, and one row that cannot be imported.
    static var csv: String {
        "E-mail Address,First Name,Company Name,Select,Variant,Notes\n"
            + prospects.map { p in
                [p.email, p.first, p.company.contains(",") ? "\"\(p.company)\"" : p.company, p.select, p.variant, notes[p.row] ?? ""].joined(separator: ",")
            }
            .joined(separator: "\n")
            + "\nnot-an-address,Nobody,Nowhere,1,A,\n"
    }

    // MARK: - Where things are

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/browser_flow.py").path
    }

    /// The virtual environment with Playwright; the test fails (never skips) without it.
    static func playwrightPython() throws -> String {
        let python = repositoryRoot.appendingPathComponent(".venv-test/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw HarnessError("\(python) is missing: the browser tests need Playwright in .venv-test; run `scripts/install-deps --test`")
        }
        return python
    }

    /// `$OUTREACH_TEST_ARTIFACTS/browser`, else `.test-artifacts/browser` in the checkout; emptied at each run. Each
    /// test has its own (`name`): the tests of this suite run at the same time.
    static func artifactDirectory(_ name: String = "browser") throws -> URL {
        let environment = ProcessInfo.processInfo.environment["OUTREACH_TEST_ARTIFACTS"].flatMap { $0.isEmpty ? nil : $0 }
        let base = environment.map { URL(fileURLWithPath: $0) } ?? repositoryRoot.appendingPathComponent(".test-artifacts")
        let directory = base.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    // MARK: - The test

    @Test("admin sets up a user; the user uploads, composes with placeholders, previews, sends the selected rows and watches the bar reach 100% as the mail arrives; Module 2 explains the reply and the bounce; another user's job is 404; a form post without its CSRF token is refused")
    func endToEnd() async throws {
        try RequiredTool.check("/usr/bin/chromium", package: "chromium")
        let python = try Self.playwrightPython()
        let artifacts = try Self.artifactDirectory()
        print("Browser test screenshots: \(artifacts.path)")

        let servers = try MailServers(users: [Self.sender, Self.otherSender] + Self.prospects.map { (email: $0.email, password: "pw\($0.row)") })
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(
            ["account", "add", Self.otherSender.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile, "--password-stdin"],
            stdin: Self.otherSender.password
        )
        try cli.expectSuccess(["user", "add", Self.admin.email, "--admin", "--password-stdin"], stdin: Self.admin.password)

        let directory = URL(fileURLWithPath: cli.directory)
        try Self.csv.write(to: directory.appendingPathComponent("leads.csv"), atomically: true, encoding: .utf8)
        try "email,first\np1@example.test,Ann\np2@example.test,Bruno\n".write(to: directory.appendingPathComponent("otto.csv"), atomically: true, encoding: .utf8)
        let config: [String: Any] = [
            "admin": ["email": Self.admin.email, "password": Self.admin.password],
            "user": ["email": Self.user.email, "password": Self.user.password],
            "other": ["email": Self.otherUser.email, "password": Self.otherUser.password],
            "account": Self.sender.email, "otherAccount": Self.otherSender.email,
            "csv": directory.appendingPathComponent("leads.csv").path, "otherCsv": directory.appendingPathComponent("otto.csv").path,
            "campaign": Self.campaign, "otherCampaign": Self.otherCampaign, "untick": Self.untick, "tick": Self.tick,
            "subject": Self.subject, "bodyBefore": Self.bodyBefore, "bodyAfter": Self.bodyAfter,
            "previewRow": ["row": Self.previewed.row, "email": Self.previewed.email],
        ]
        let configPath = try Self.write(config, in: directory)

        let serve = try cli.startServe()
        defer { Self.stop(serve, keepingLogIn: artifacts) }
        let base = try await Self.waitUntilListening(serve)
        func flow(_ phase: String) throws -> Data {
            try Self.runPhase(phase, python: python, base: base, artifacts: artifacts, configPath: configPath, serve: serve)
        }

        // Phase 1: set-up, round 1 from the browser, isolation and CSRF probes.
        let sent = try JSONDecoder().decode(SendPhase.self, from: try flow("send"))
        try checkSendPhase(sent)

        // What really arrived: exactly one message for each row ticked in the browser, none for the others, with
        // every placeholder filled from that row; nothing from the other user's job.
        let boxes = try servers.mailboxes(of: Self.prospects.map(\.email))
        var roots: [Int: String] = [:]
        for prospect in Self.prospects {
            let inbox = boxes[prospect.email]?["INBOX"] ?? []
            guard Self.selected.contains(prospect.row) else {
                #expect(inbox.isEmpty, "row \(prospect.row) was not selected but received \(inbox.map { $0.subject ?? "" })")
                continue
            }
            try #require(inbox.count == 1, "row \(prospect.row) received \(inbox.count) messages: \(inbox.map { $0.subject ?? "" })")
            let message = inbox[0]
            #expect(message.from?.contains(Self.sender.email) == true, "\(message.from ?? "")")
            #expect(message.subject == "Quick question for \(prospect.company)")
            let text = message.text ?? ""
            #expect(text.hasPrefix("Hi \(prospect.first),"), "\(text)")
            #expect(text.contains("A short note about \(prospect.company): would a call"), "\(text)")
            let html = message.html ?? ""
            let escaped = prospect.company.replacingOccurrences(of: "&", with: "&amp;")
            #expect(html.contains("Hi \(prospect.first),") && html.contains("<strong>\(escaped)</strong>"), "\(html)")
            #expect(!text.contains("{") && !(message.subject ?? "").contains("{"), "a placeholder was left unfilled: \(message.subject ?? "") / \(text)")
            #expect(message.defects.isEmpty, "\(message.defects)")
            let messageID: String = try #require(message.messageId)
            roots[prospect.row] = messageID
        }
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let job = try #require(try await database.jobs.job(id: sent.jobID))
        #expect(job.state == .completed && job.counters.sent == Self.selected.count && job.counters.failed == 0, "\(job.state) \(job.counters)")
        let otherJob = try #require(try await database.jobs.job(id: sent.otherJob.id))
        #expect(otherJob.state == .cancelled, "the other user's job: \(otherJob.state)")
        #expect(try await database.deliveries.deliveries(campaignID: sent.otherJob.campaignID, round: 1).isEmpty)
        #expect(try await database.jobs.jobs(states: nil, ownerID: nil, limit: 10).count == 2, "a refused (CSRF) post must not create a job")

        // Between the phases, the prospects' mail systems answer: row 1 replies in the thread, row 3 bounces.
        try servers.deliver(Self.reply(from: Self.replied, to: try #require(roots[Self.replied.row])), from: Self.replied.email, to: Self.sender.email)
        try servers.deliver(Self.bounce(for: Self.bounced, of: try #require(roots[Self.bounced.row])), from: "", to: Self.sender.email)
        try servers.deliver(
            Self.reply(from: Self.colleagueAnswered, to: try #require(roots[Self.colleagueAnswered.row]), as: Self.colleague), from: Self.colleague, to: Self.sender.email
        )

        // Phase 2: Module 2's plan (it syncs the account first), the downloads, the A/B page, Module 2 for variant A.
        var followupConfig = config
        followupConfig["jobID"] = sent.jobID
        followupConfig["followupVariant"] = Self.followupVariant
        followupConfig["followupBody"] = Self.followupBody
        _ = try Self.write(followupConfig, in: directory)
        let followup = try JSONDecoder().decode(FollowupPhase.self, from: try flow("followup"))
        try checkFollowupPhase(followup, roots: roots, jobID: sent.jobID)

        // The follow-up for variant A, with colleagues' replies counting, reached row 5 alone.
        let followupJob = try await Self.finished(followup.followupJobID, in: database)
        #expect(followupJob.state == .completed && followupJob.counters.sent == 1, "\(followupJob.state) \(followupJob.counters)")
        #expect(followupJob.spec.variant == Self.followupVariant && followupJob.spec.domainReplies, "\(followupJob.spec)")
        let after = try servers.mailboxes(of: Self.prospects.map(\.email))
        for prospect in Self.prospects where Self.selected.contains(prospect.row) {
            let subjects = (after[prospect.email]?["INBOX"] ?? []).compactMap(\.subject)
            let expected = prospect.row == 5 ? 2 : 1
            #expect(subjects.count == expected, "row \(prospect.row): \(subjects)")
            if prospect.row == 5 { #expect(subjects.contains("Re: Quick question for \(prospect.company)"), "\(subjects)") }
        }
        print("Browser test: \(sent.screenshots.count + followup.screenshots.count) screenshots in \(artifacts.path)")
    }

    // MARK: - A campaign larger than the page

    /// The page shows 500 rows with check boxes; this campaign has 2,100.
    static let bigRows = 2_100
    /// The text filter: it matches every row but each 21st (2,000 rows), most of them beyond the rows shown.
    static let bigFilter = "keeper"
    static func bigCompany(_ row: Int) -> String { row % 21 == 0 ? "Other Ltd" : "Keeper Inc \(row)" }
    /// The rows the file's select column ticks.
    static let bigFileSelected: Set<Int> = [1, 2, 3]

    /// The job drafts rather than sends: 2,000 drafts land in one Drafts folder in a third of the time 2,000 deliveries
    /// to 2,000 mailboxes take, and the job chooses its rows by the selection the same way in both modes.
    @Test("a campaign of 2,100 rows: all rows, the file's select column and a text filter select beyond the 500 rows shown; a draft-selected job over the 2,000 filtered rows drafts exactly those")
    func selectBeyondThePage() async throws {
        try RequiredTool.check("/usr/bin/chromium", package: "chromium")
        let python = try Self.playwrightPython()
        let artifacts = try Self.artifactDirectory("browser-select")
        let began = Date()
        let servers = try MailServers(users: [Self.sender])
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--daily-cap", "0", "--guard", "0"])
        try cli.expectSuccess(["user", "add", Self.admin.email, "--admin", "--password-stdin"], stdin: Self.admin.password)
        let directory = URL(fileURLWithPath: cli.directory)
        let csv = "email,first,company,select\n"
            + (1...Self.bigRows).map { "b\($0)@example.test,N\($0),\(Self.bigCompany($0)),\(Self.bigFileSelected.contains($0) ? "1" : "")" }.joined(separator: "\n") + "\n"
        try csv.write(to: directory.appendingPathComponent("big.csv"), atomically: true, encoding: .utf8)
        let config: [String: Any] = [
            "admin": ["email": Self.admin.email, "password": Self.admin.password], "account": Self.sender.email,
            "csv": directory.appendingPathComponent("big.csv").path, "campaign": "Big list", "filter": Self.bigFilter,
            "subject": "Hello {first}", "body": "A note for {company}.", "mode": "draft-selected",
        ]
        let configPath = try Self.write(config, in: directory)

        let serve = try cli.startServe()
        defer { Self.stop(serve, keepingLogIn: artifacts) }
        let base = try await Self.waitUntilListening(serve)
        let phase = try JSONDecoder().decode(
            SelectPhase.self, from: try Self.runPhase("select", python: python, base: base, artifacts: artifacts, configPath: configPath, serve: serve)
        )

        // What the page showed: 500 boxes, and the counts of the one-step selections over all 2,100 rows.
        #expect(phase.boxes == 500 && phase.moreRows.hasPrefix("Showing the first 500 of 2100 rows."), "\(phase.boxes) \(phase.moreRows)")
        #expect(phase.pickOptions == ["boxes", "all", "filter", "file"], "\(phase.pickOptions)")
        let matching = (1...Self.bigRows).filter { Self.bigCompany($0).lowercased().contains(Self.bigFilter) }
        #expect(phase.counts == [
            "all": "\(Self.bigRows) of \(Self.bigRows) rows selected", "file": "\(Self.bigFileSelected.count) of \(Self.bigRows) rows selected",
            "filter": "\(matching.count) of \(Self.bigRows) rows selected",
        ], "\(phase.counts)")
        #expect(matching.count == 2_000)
        #expect(phase.boxesDisabled, "the check boxes stay usable while a one-step selection is chosen")
        #expect(phase.shownMatching == matching.filter { $0 <= 500 }.count)
        #expect(phase.consoleErrors.isEmpty, "the browser logged errors: \(phase.consoleErrors)")
        #expect(phase.screenshots.map(Self.screenName) == ["campaign-2000"], "\(phase.screenshots)")

        // The job: every one of the 2,000 rows drafted, the 100 others skipped; the ledger names exactly those rows.
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let job = try await Self.finished(phase.jobID, in: database, within: 240)
        if let started = job.startedAt, let ended = job.finishedAt {
            print("Browser test (2,000 rows): the job ran \(String(format: "%.1f", ended.timeIntervalSince(started))) s; the test so far \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
        }
        #expect(job.state == .completed && job.counters.drafted == 2_000 && job.counters.skipped == 100 && job.counters.sent == 0, "\(job.state) \(job.counters)")
        var rowByID: [Int64: Int] = [:]
        try await database.campaigns.forEachProspect(campaignID: phase.campaignID) { prospect in rowByID[prospect.id ?? 0] = prospect.row }
        let deliveries = try await database.deliveries.deliveries(campaignID: phase.campaignID, round: 1)
        let draftedRows = deliveries.filter { $0.value.state == .drafted }.compactMap { rowByID[$0.key] }.sorted()
        #expect(draftedRows == matching, "drafted \(draftedRows.count) rows; first differences: \(Array(Set(draftedRows).symmetricDifference(matching).sorted().prefix(10)))")
        // And the drafts are in the mailbox, one for each of those rows, addressed to its prospect.
        let drafts = try servers.mailboxes(of: [Self.sender.email])[Self.sender.email]?["Drafts"] ?? []
        // "N5 <b5@example.test>" or a bare address: the address.
        let addressed = Set(drafts.compactMap(\.to).map { to in to.range(of: "<").map { String(to[$0.upperBound...].dropLast()) } ?? to })
        #expect(drafts.count == matching.count && addressed == Set(matching.map { "b\($0)@example.test" }), "\(drafts.count) drafts")
        #expect(drafts.contains { $0.to?.contains("b2099@example.test") == true && $0.subject == "Hello N2099" })
    }

    struct SelectPhase: Decodable {
        let screenshots: [String]
        let consoleErrors: [String]
        let campaignID: Int64
        let boxes: Int
        let moreRows: String
        let pickOptions: [String]
        let counts: [String: String]
        let boxesDisabled: Bool
        let shownMatching: Int
        let jobID: Int64
    }

    // MARK: - Connect with Google

    static let gmailAccount = (email: "alice@example.test", name: "Alice Outreach")
    /// The fake's other mailbox: the consent the fake is told to refuse.
    static let refusedAccount = (email: "bob@example.test", name: "Bob Outreach")

    @Test("an admin connects a Gmail account with Google's consent screen; a refused consent stores nothing")
    func connectGmailAccount() async throws {
        try RequiredTool.check("/usr/bin/chromium", package: "chromium")
        let python = try Self.playwrightPython()
        let artifacts = try Self.artifactDirectory("browser-google")
        print("Browser test (Connect with Google) screenshots: \(artifacts.path)")

        let gmail = try FakeGmailServer()
        defer { gmail.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.expectSuccess(["init"])
        let config: [String: Any] = [
            "admin": ["email": Self.admin.email, "password": Self.admin.password],
            "connect": ["email": Self.gmailAccount.email, "name": Self.gmailAccount.name],
            "refuse": ["email": Self.refusedAccount.email, "name": Self.refusedAccount.name],
            "fakeGoogle": gmail.apiBase,
        ]
        let configPath = try Self.write(config, in: URL(fileURLWithPath: cli.directory))

        // The fake as Google; the first admin from ADMIN_USERNAME/ADMIN_PASSWORD; no GMAIL_REDIRECT_URI, so the
        // callback is /oauth2/callback at OUTREACH_PUBLIC_URL, the address the browser uses (http://127.0.0.1:PORT).
        let port = try FreePort.pick()
        let serve = try cli.startServe(
            extraEnvironment: gmail.environment.merging([
                "ADMIN_USERNAME": Self.admin.email, "ADMIN_PASSWORD": Self.admin.password, "OUTREACH_PUBLIC_URL": "http://127.0.0.1:\(port)",
            ]) { $1 },
            removing: ["GMAIL_REDIRECT_URI", "GMAIL_SCOPES"], port: port
        )
        defer { Self.stop(serve, keepingLogIn: artifacts) }
        let base = try await Self.waitUntilListening(serve)
        try #require(base.hasPrefix("http://127.0.0.1:"), "the fake Google only redirects to http://127.0.0.1:PORT: \(base)")
        let g = try JSONDecoder().decode(
            GooglePhase.self, from: try Self.runPhase("google", python: python, base: base, artifacts: artifacts, configPath: configPath, serve: serve)
        )
        try checkGooglePhase(g, base: base, fake: gmail.apiBase)

        // What was stored: the connected mailbox as a Gmail API account with an OAuth grant; nothing for the refusal.
        let listed = try cli.expectSuccess(["account", "list", "--json"]).stdout
        let accounts = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]], "\(listed)")
        #expect(accounts.map { $0["email"] as? String } == [Self.gmailAccount.email], "\(listed)")
        let stored = try #require(accounts.first)
        #expect(stored["provider"] as? String == "gmail-api" && stored["auth"] as? String == "oauth", "\(stored)")
        #expect(stored["name"] as? String == Self.gmailAccount.name, "\(stored)")
        #expect(stored["needsReconnect"] == nil || stored["needsReconnect"] is NSNull, "\(stored)")

        // What Google saw: two consents asked for with the derived redirect URI; one code, exchanged once, with
        // success; the profile asked for with its token; no request that Google would refuse.
        let requests = try await gmail.requests()
        let auths = requests.filter { ($0["path"] as? String) == "/auth" }
        #expect(auths.count == 2 && auths.allSatisfy { ($0["status"] as? Int) == 302 }, "\(auths)")
        for auth in auths {
            let query = auth["query"] as? [String: [String]] ?? [:]
            #expect(query["redirect_uri"] == [base + "/oauth2/callback"], "\(query)")
        }
        #expect(auths.map { (($0["query"] as? [String: [String]])?["login_hint"]) ?? [] } == [[Self.gmailAccount.email], [Self.refusedAccount.email]])
        let tokens = requests.filter { ($0["path"] as? String) == "/token" }
        #expect(tokens.map { $0["status"] as? Int } == [200], "one successful exchange of the code, none for the refusal: \(tokens)")
        let profiles = requests.filter { ($0["path"] as? String)?.hasSuffix("/profile") == true }
        #expect(profiles.map { $0["status"] as? Int } == [200] && profiles.first?["user"] as? String == Self.gmailAccount.email, "\(profiles)")
        let violations = try await gmail.violations()
        #expect(violations.isEmpty, "the fake Google saw requests Google would refuse: \(violations)")
    }

    struct GooglePhase: Decodable {
        struct Form: Decodable {
            let count: Int
            let heading: String
            let button: String
        }
        struct Hop: Decodable {
            let method: String
            let url: String
            let query: [String]
            let status: Int
        }
        struct Attempt: Decodable {
            let hops: [Hop]
            let finalURL: String
            let status: Int
            let heading: String
            let text: String
            let flash: String
            var accounts: [[String]]? = nil
        }
        let screenshots: [String]
        let consoleErrors: [String]
        let googleForm: Form
        let accountsBefore: [[String]]
        let connected: Attempt
        let denyFault: Bool
        let refused: Attempt
        let accountsAfter: [[String]]
        let flashAfter: String
    }

    func checkGooglePhase(_ g: GooglePhase, base: String, fake: String) throws {
        #expect(g.googleForm.count == 1 && g.googleForm.heading == "Connect a Gmail account" && g.googleForm.button == "Connect with Google", "\(g.googleForm)")
        #expect(g.accountsBefore.count == 1 && g.accountsBefore[0].first?.hasPrefix("No accounts") == true, "\(g.accountsBefore)")

        // The browser went to the consent screen and came back to the callback, which showed the Accounts page.
        let c = g.connected
        #expect(c.hops.map { "\($0.method) \($0.url) \($0.status)" } == [
            "POST \(base)/accounts/google 303", "GET \(fake)/auth 302", "GET \(base)/oauth2/callback 303", "GET \(base)/accounts 200",
        ], "\(c.hops)")
        #expect(c.hops.dropFirst(2).first?.query == ["authuser", "code", "prompt", "scope", "state"], "\(c.hops)")
        // The banner comes from the server: nothing of it is in the address.
        #expect(c.finalURL == base + "/accounts", "\(c.finalURL)")
        #expect(c.heading == "Accounts / Settings")
        #expect(c.flash == "Added \(Self.gmailAccount.email).", "\(c.flash)")
        let rows = c.accounts ?? []
        try #require(rows.count == 1, "\(rows)")
        #expect(rows[0].count == 6 && rows[0][0] == "\(Self.gmailAccount.email)\n\(Self.gmailAccount.name)", "\(rows[0])")
        #expect(rows[0].count > 1 && rows[0][1].hasPrefix("Gmail API (OAuth)") && !rows[0][1].contains("Needs reconnecting"), "\(rows[0])")

        // The refusal: Google said no; the page says so and that nothing was stored; the list is unchanged.
        #expect(g.denyFault)
        let r = g.refused
        #expect(r.hops.map { "\($0.method) \($0.url) \($0.status)" } == [
            "POST \(base)/accounts/google 303", "GET \(fake)/auth 302", "GET \(base)/oauth2/callback 400",
        ], "\(r.hops)")
        #expect(r.hops.last?.query == ["error", "state"], "\(r.hops)")
        #expect(r.status == 400 && r.heading == "Google did not connect the account", "\(r.status) \(r.heading)")
        #expect(r.text.contains("access_denied") && r.text.contains("nothing was stored"), "\(r.text)")
        #expect(r.flash.isEmpty)
        #expect(g.accountsAfter.map { $0.first ?? "" } == ["\(Self.gmailAccount.email)\n\(Self.gmailAccount.name)"], "\(g.accountsAfter)")
        #expect(g.flashAfter.isEmpty, "\(g.flashAfter)")

        #expect(g.consoleErrors.isEmpty, "the browser logged errors: \(g.consoleErrors)")
        #expect(g.screenshots.map(Self.screenName) == ["accounts-form", "accounts-connected", "consent-refused", "accounts-after"], "\(g.screenshots)")
    }

    // MARK: - Phase 1

    struct SendPhase: Decodable {
        struct LoginProbe: Decodable {
            let status: Int
            let text: String
            let cookies: [String]
        }
        struct LoginCSRF: Decodable {
            let withoutCookie: LoginProbe
            let withoutField: LoginProbe
            let jobsAfterwards: String
        }
        struct OtherJob: Decodable {
            let status: Int
            let id: Int64
            let state: String
            let campaignID: Int64
        }
        struct Preview: Decodable {
            let headers: String
            let html: String
            let text: String
        }
        struct Sample: Decodable {
            let width: String
            let aria: String?
            let counts: String
            let state: String
            var percent: Int? { width.hasSuffix("%") ? Int(width.dropLast()) : nil }
        }
        struct Probe: Decodable {
            let status: Int
            var leaks: [String]? = nil
            var text: String? = nil
            var stateAfter: String? = nil
        }
        struct Isolation: Decodable {
            let jobPage: Int
            let jobPageLeaks: [String]
            let jobPageHeading: String
            let apiJob, apiEvents, campaignPage, apiPlan, module2Plan, cancelOthers: Probe
            let masterCSV, roundLogCSV, jobLogCSV, apiSelection: Probe
            let apiJobsByIDs: [Int64]
        }
        struct CSRF: Decodable {
            let formWithoutToken, formWrongToken, apiWithoutHeader, cancelWithoutToken: Probe
            let jobsAfter: [Int64]
            let cancelWithButton: String
        }
        let screenshots: [String]
        let consoleErrors: [String]
        let loginCSRF: LoginCSRF
        let adminLanding: String
        let adminFlashes: [String]
        let users: [[String]]
        let otherJob: OtherJob
        let userLanding: String
        let userJobsBefore: [[String]]
        let module1Accounts: [String]
        let campaignID: Int64
        let importReport: String
        let columns: [String]
        let previewTable: [[String]]
        let checkedFromFile: [Int]
        let checkedSent: [Int]
        let selectedCount: String
        let placeholderMenu: [String]
        let subjectValue: String
        let bodyValue: String
        let preview: Preview
        let scheduleCheck: String
        let jobID: Int64
        let progress: [Sample]
        let jobLog: [[String]]
        let jobActions: [String]
        let userJobsAfter: [[String]]
        let jobsListBar: String
        let isolation: Isolation
        let csrf: CSRF
        let userAccounts: [[String]]
        let helpHeading: String
    }

    func checkSendPhase(_ s: SendPhase) throws {
        // Sign-in refuses a post without the login form's token, with or without its cookie.
        for probe in [s.loginCSRF.withoutCookie, s.loginCSRF.withoutField] {
            #expect(probe.status == 403 && probe.text.contains("The sign-in form expired"), "\(probe.status) \(probe.text.prefix(300))")
            #expect(!probe.cookies.contains("outreach_session"), "\(probe.cookies)")
        }
        #expect(s.loginCSRF.jobsAfterwards.contains("/login"), "still signed out: \(s.loginCSRF.jobsAfterwards)")

        // The admin's forms.
        #expect(s.adminLanding.hasSuffix("/jobs"))
        #expect(s.adminFlashes == [
            "Added \(Self.user.email).", "\(Self.user.email) may now send from \(Self.sender.email).",
            "Added \(Self.otherUser.email).", "\(Self.otherUser.email) may now send from \(Self.otherSender.email).",
        ])
        #expect(s.users.contains { $0.count == 3 && $0[0] == Self.user.email && $0[1] == "user" && $0[2].contains(Self.sender.email) }, "\(s.users)")
        #expect(s.otherJob.status == 201 && s.otherJob.state == "pending")

        // Module 1: only the granted account; the file's rows and selection; the import report.
        #expect(s.userLanding.hasSuffix("/jobs"))
        #expect(s.userJobsBefore.count == 1 && s.userJobsBefore[0].first?.hasPrefix("No jobs yet") == true, "\(s.userJobsBefore)")
        #expect(s.module1Accounts == [Self.sender.email])
        #expect(s.importReport.contains("9 imported, 1 not imported") && s.importReport.contains("row 10"), "\(s.importReport)")
        #expect(s.columns.map { $0.lowercased() } == ["", "row", "email", "first", "company", "notes", "variant"])
        #expect(s.previewTable.map { Array($0.dropFirst()) } == Self.prospects.map { [String($0.row), $0.email, $0.first, $0.company, Self.notes[$0.row] ?? "", $0.variant] })
        #expect(s.checkedFromFile == Self.prospects.filter(\.selectedInFile).map(\.row))
        #expect(s.checkedSent == Self.selected.sorted())
        #expect(s.selectedCount == "\(Self.selected.count) selected")

        // The editor: {first} came from the placeholder menu, at the cursor; the preview is row 5's message.
        #expect(s.placeholderMenu.contains("first") && s.placeholderMenu.contains("company"), "\(s.placeholderMenu)")
        #expect(s.subjectValue == Self.subject)
        #expect(s.bodyValue == Self.bodyBefore + "{first}" + Self.bodyAfter)
        #expect(s.preview.headers == "To: \(Self.previewed.email) · Subject: Quick question for \(Self.previewed.company)")
        #expect(s.preview.text.hasPrefix("Hi \(Self.previewed.first),"), "\(s.preview.text)")
        #expect(s.preview.html.contains("<strong>Stark &amp; Sons</strong>"), "\(s.preview.html)")
        #expect(s.scheduleCheck.contains("\(Self.sender.email) is free"), "\(s.scheduleCheck)")

        // The bar, as drawn: it moves, never backwards, and ends full with the job completed.
        let percents = s.progress.compactMap(\.percent)
        #expect(percents == percents.sorted(), "the bar went backwards: \(percents)")
        #expect(percents.contains { $0 > 0 && $0 < 100 }, "the bar never showed a job part-way: \(s.progress)")
        let last = try #require(s.progress.last)
        #expect(last.percent == 100 && last.state == "completed" && last.aria == "100", "\(last)")
        let total = Self.prospects.count
        #expect(last.counts == "\(total)/\(total) · sent \(Self.selected.count) · drafted 0 · skipped \(total - Self.selected.count) · failed 0 · held 0")
        let sentRows = s.jobLog.filter { $0.count > 2 && $0[1] == "SENT" }.compactMap { Int($0[2]) }
        #expect(sentRows.sorted() == Self.selected.sorted(), "\(s.jobLog)")
        #expect(s.jobActions.isEmpty, "a completed job still offers \(s.jobActions)")
        #expect(s.userJobsAfter.map { $0.first } == ["#\(s.jobID)"], "the user's job list: \(s.userJobsAfter)")
        #expect(s.jobsListBar == "100%")

        // Isolation: the other user's job and campaign answer 404 everywhere, and say nothing about themselves.
        let i = s.isolation
        #expect(i.jobPage == 404 && i.jobPageHeading == "Not found" && i.jobPageLeaks.isEmpty, "\(i)")
        for (name, probe) in [
            ("api job", i.apiJob), ("events", i.apiEvents), ("campaign page", i.campaignPage), ("plan API", i.apiPlan), ("Module 2", i.module2Plan),
            ("master file CSV", i.masterCSV), ("round log CSV", i.roundLogCSV), ("job log CSV", i.jobLogCSV), ("selection count", i.apiSelection),
        ] {
            #expect(probe.status == 404 && probe.leaks == [], "\(name): \(probe)")
        }
        #expect(i.cancelOthers.status == 404, "cancelling another user's job: \(i.cancelOthers.status)")
        #expect(i.apiJobsByIDs == [s.jobID])

        // CSRF: refused before anything happens; the page's own button (with the token) works.
        let c = s.csrf
        for (name, probe) in [("form without token", c.formWithoutToken), ("form with a wrong token", c.formWrongToken), ("API without header", c.apiWithoutHeader)] {
            #expect(probe.status == 403, "\(name): \(probe.status)")
        }
        #expect(c.formWithoutToken.text?.contains("missing its security token") == true)
        #expect(c.jobsAfter == [s.jobID], "a refused post created a job: \(c.jobsAfter)")
        #expect(c.cancelWithoutToken.status == 403 && c.cancelWithoutToken.stateAfter == "pending", "\(c.cancelWithoutToken)")
        #expect(c.cancelWithButton == "cancelled")

        #expect(s.userAccounts.count == 1 && s.userAccounts.first?.first == Self.sender.email, "\(s.userAccounts)")
        #expect(s.helpHeading == "Help")
        #expect(s.consoleErrors.isEmpty, "the browser logged errors: \(s.consoleErrors)")
        let expected = ["login", "users", "accounts-admin", "jobs-empty", "module1", "campaign-compose", "job-running", "job-100", "jobs", "not-found", "accounts", "help"]
        #expect(Set(s.screenshots.map(Self.screenName)) == Set(expected), "\(s.screenshots)")
    }

    // MARK: - Phase 2

    struct FollowupPhase: Decodable {
        struct PlanRow: Decodable {
            let row: String
            let email: String
            let decision: String
            let reason: String
        }
        let screenshots: [String]
        let consoleErrors: [String]
        let module2Campaigns: [String]
        let planHeading: String
        let plan: [PlanRow]
        struct Download: Decodable {
            let name: String
            let text: String
            var lines: [String] { text.components(separatedBy: "\r\n").filter { !$0.isEmpty } }
        }
        struct Downloads: Decodable {
            let master, roundLog, jobLog: Download
            let jobLogHeaders: [String: String]
        }
        let followupForm: Int
        let downloads: Downloads
        let ab: [[String]]
        let abChart: Int
        let variantOptions: [String]
        let variantPlanHeading: String
        let variantPlan: [[String]]
        let variantPlanURL: String
        let variantScheduleHeading: String
        let followupJobID: Int64
        let followupJobFacts: String
    }

    func checkFollowupPhase(_ f: FollowupPhase, roots: [Int: String], jobID: Int64) throws {
        #expect(f.module2Campaigns == [Self.campaign], "only the user's own campaigns: \(f.module2Campaigns)")
        let sends = Self.selected.count - 2
        #expect(f.planHeading == "Plan for round 2 of \(Self.campaign): \(sends) to send, \(Self.prospects.count - sends) to skip")
        try #require(f.plan.count == Self.prospects.count, "\(f.plan)")
        for (prospect, row) in zip(Self.prospects, f.plan) {
            #expect(row.row == String(prospect.row) && row.email == prospect.email)
            let line = "\(row.decision): \(row.reason)"
            switch prospect.row {
            case Self.replied.row: #expect(line.hasPrefix("skip: replied ") && line.hasSuffix("from \(prospect.email)"), "\(line)")
            case Self.bounced.row: #expect(line.hasPrefix("skip: bounced ") && line.hasSuffix("for \(prospect.email)"), "\(line)")
            case _ where Self.selected.contains(prospect.row): #expect(line == "send: no reply", "row \(prospect.row): \(line)")
            default: #expect(line.hasPrefix("skip: no first email went out"), "row \(prospect.row): \(line)")
            }
        }
        #expect(f.followupForm == 1)
        try checkDownloads(f.downloads, roots: roots, jobID: jobID)
        // Variant A went to rows 1, 3, 5 and 7 and row 1 replied; B went to row 4.
        #expect(f.ab.map { Array($0.prefix(3)) } == [["A", "4", "1"], ["B", "1", "0"]], "\(f.ab)")
        #expect(f.abChart == 1)

        // Module 2 for variant A with colleagues' replies counting: A's rows only; row 7's colleague counts now.
        #expect(f.variantOptions == ["all", "A", "B"], "\(f.variantOptions)")
        #expect(f.variantPlanHeading == "Plan for round 2 of \(Self.campaign), variant A: 1 to send, 4 to skip", "\(f.variantPlanHeading)")
        let variantA = Self.prospects.filter { $0.variant == Self.followupVariant }
        #expect(f.variantPlan.map { $0.first ?? "" } == variantA.map { String($0.row) }, "\(f.variantPlan)")
        let row7 = f.variantPlan.first { $0.first == String(Self.colleagueAnswered.row) } ?? []
        #expect(row7.count == 3 && row7[1] == Self.colleagueAnswered.email && row7[2] == "skip", "\(row7)")
        let row5 = f.variantPlan.first { $0.first == "5" } ?? []
        #expect(row5.last == "send", "\(row5)")
        #expect(f.variantPlanURL.contains("variant=A") && f.variantPlanURL.contains("domainReplies=on"), "\(f.variantPlanURL)")
        #expect(f.variantScheduleHeading == "Schedule round 2 for variant A")
        #expect(f.followupJobFacts.contains("variant A") && f.followupJobFacts.contains("replies from the prospect's domain count"), "\(f.followupJobFacts)")
        #expect(f.consoleErrors.isEmpty, "the browser logged errors: \(f.consoleErrors)")
        #expect(Set(f.screenshots.map(Self.screenName)) == ["module2-plan", "ab", "module2-variant", "jobs"], "\(f.screenshots)")
    }

    /// The CSV files as the browser saved them: what `outreach campaign export` writes (its guard against formulas
    /// included), round 1's log, the job's log; safe names, CSV type.
    func checkDownloads(_ d: FollowupPhase.Downloads, roots: [Int: String], jobID: Int64) throws {
        let master = d.master.lines
        #expect(d.master.name == "Q4-Leads-master.csv")
        #expect(master.first == "E-mail Address,First Name,Company Name,Select,Variant,Notes,r1_message_id,r1_thread_key,r1_status,r1_sent_at", "\(master.first ?? "")")
        #expect(master.count == 1 + Self.prospects.count, "\(d.master.text)")
        for prospect in Self.prospects {
            let line = master.first { $0.hasPrefix(prospect.email + ",") } ?? ""
            if let root = roots[prospect.row] {
                #expect(line.contains(",\(root),") && line.contains(",sent,"), "row \(prospect.row): \(line)")
            } else {
                #expect(!line.isEmpty && !line.contains(",sent,"), "row \(prospect.row): \(line)")
            }
        }
        // The formula is written with an apostrophe in front, so a spreadsheet shows it as text; no cell starts with '='.
        #expect(master.first { $0.hasPrefix("p1@") }?.contains(",'=1+2,") == true, "\(d.master.text)")
        #expect(master.allSatisfy { !$0.hasPrefix("=") && !$0.contains(",=") }, "\(d.master.text)")
        #expect(master.first { $0.hasPrefix("p4@") }?.contains(",call back,") == true, "\(d.master.text)")

        let log = d.roundLog.lines
        #expect(d.roundLog.name == "Q4-Leads-round-1-log.csv")
        #expect(log.first == "campaign,round,row,email,status,message_id,thread_key,sent_at,reply_code,reply_text")
        // Every row of round 1: sent to the rows ticked, the others skipped (and recorded as such).
        let expected = Self.prospects.map { "\(Self.campaign),1,\($0.row),\($0.email),\(Self.selected.contains($0.row) ? "sent" : "skipped")" }
        #expect(log.dropFirst().map { $0.split(separator: ",").prefix(5).joined(separator: ",") } == expected, "\(d.roundLog.text)")

        let jobLog = d.jobLog.lines
        #expect(d.jobLog.name == "Q4-Leads-job-\(jobID)-log.csv")
        #expect(jobLog.first == "time,what,row,address,detail")
        let jobLogCells: [[Substring]] = jobLog.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let sentRows: [Int] = jobLogCells.filter { $0.count > 2 && $0[1] == "SENT" }.compactMap { Int($0[2]) }
        #expect(sentRows.sorted() == Self.selected.sorted(), "\(d.jobLog.text)")
        #expect(d.jobLogHeaders["content-type"] == "text/csv; charset=utf-8", "\(d.jobLogHeaders)")
        #expect(d.jobLogHeaders["content-disposition"] == "attachment; filename=\"Q4-Leads-job-\(jobID)-log.csv\"", "\(d.jobLogHeaders)")
        #expect(d.jobLogHeaders["x-content-type-options"] == "nosniff", "\(d.jobLogHeaders)")
    }

    /// The job once it has ended (the worker of `outreach serve` runs it), within a generous bound.
    static func finished(_ id: Int64, in database: SQLiteDatabase, within seconds: TimeInterval = 120) async throws -> Job {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let job = try #require(try await database.jobs.job(id: id))
            if job.state.isFinal || Date() > deadline { return job }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// "send-07-job-100.png" → "job-100".
    static func screenName(_ file: String) -> String {
        file.split(separator: "-").dropFirst(2).joined(separator: "-").replacingOccurrences(of: ".png", with: "")
    }

    // MARK: - Mail the prospects' side sends

    /// The prospect's answer in the thread, or (`colleague`) an answer from someone else at their domain.
    static func reply(from prospect: Prospect, to root: String, as colleague: String? = nil) -> String {
        """
        From: \(colleague.map { "Boss <\($0)>" } ?? "\(prospect.first) <\(prospect.email)>")\r
        To: \(sender.email)\r
        Subject: Re: Quick question for \(prospect.company)\r
        Date: \(rfc5322(Date()))\r
        Message-ID: <reply-\(prospect.row)\(colleague == nil ? "" : "-colleague")@example.test>\r
        In-Reply-To: \(root)\r
        References: \(root)\r
        \r
        Yes, Tuesday works for me.\r

        """
    }

    /// A Postfix-style DSN: the failed recipient and the returned headers of our message.
    static func bounce(for prospect: Prospect, of root: String) -> String {
        """
        From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r
        To: \(sender.email)\r
        Subject: Undelivered Mail Returned to Sender\r
        Message-ID: <bounce-\(prospect.row)@mx.example.test>\r
        Date: \(rfc5322(Date()))\r
        Auto-Submitted: auto-replied\r
        MIME-Version: 1.0\r
        Content-Type: multipart/report; report-type=delivery-status; boundary="B\(prospect.row)"\r
        \r
        --B\(prospect.row)\r
        Content-Type: text/plain\r
        \r
        The mail system could not deliver your message to <\(prospect.email)>.\r
        --B\(prospect.row)\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.test\r
        \r
        Final-Recipient: rfc822; \(prospect.email)\r
        Action: failed\r
        Status: 5.1.1\r
        Diagnostic-Code: smtp; 550 5.1.1 <\(prospect.email)>: Recipient address rejected: User unknown\r
        \r
        --B\(prospect.row)\r
        Content-Type: text/rfc822-headers\r
        \r
        Message-ID: \(root)\r
        Subject: Quick question for \(prospect.company)\r
        \r
        --B\(prospect.row)--\r

        """
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    // MARK: - The server

    /// Writes the flow's configuration as `browser-config.json` in `directory`; answers its path.
    static func write(_ config: [String: Any], in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("browser-config.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Stops `outreach serve` and keeps what it printed beside the screenshots.
    static func stop(_ serve: BackgroundProcess, keepingLogIn artifacts: URL) {
        serve.stop()
        try? serve.output.write(to: artifacts.appendingPathComponent("serve.log"), atomically: true, encoding: .utf8)
    }

    /// Runs one phase of `Fixtures/browser_flow.py` against `serve` and answers its report; the report is kept beside
    /// the screenshots.
    static func runPhase(_ phase: String, python: String, base: String, artifacts: URL, configPath: String, serve: BackgroundProcess) throws -> Data {
        let result = try CommandRunner.run(python, [script, base, artifacts.path, configPath, "--phase", phase], timeout: 180)
        try? result.stdout.write(to: artifacts.appendingPathComponent("\(phase).json"), atomically: true, encoding: .utf8)
        guard result.status == 0 else {
            throw HarnessError("browser_flow.py --phase \(phase) failed (\(result.status)):\n\(result.stderr)\n--- outreach serve:\n\(serve.output.suffix(3000))")
        }
        return Data(result.stdout.utf8)
    }

    /// The base URL `outreach serve` prints once it listens.
    /// It polls on a thread of its own: with tests running side by side, the two-thread cooperative pool can be busy
    /// with other tests' blocking work for longer than the deadline, and a listening server would seem silent.
    static func waitUntilListening(_ serve: BackgroundProcess, timeout: TimeInterval = 30) async throws -> String {
        try await offThePool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let line = serve.output.split(separator: "\n").first(where: { $0.hasPrefix("Outreach is listening on ") }) {
                    return String(line.dropFirst("Outreach is listening on ".count))
                }
                guard serve.isRunning else { throw HarnessError("outreach serve ended before listening:\n\(serve.output)") }
                usleep(50_000)
            }
            throw HarnessError("outreach serve did not say it was listening within \(Int(timeout)) s:\n\(serve.output)")
        }
    }
}

extension OutreachSandbox {
    /// `outreach serve` on `port` (0: a free loopback port it picks), its worker polling ten times a second; `extraEnvironment` added and
    /// the `removing` variables taken out of this process's environment.
    func startServe(extraEnvironment: [String: String] = [:], removing: [String] = [], port: Int = 0) throws -> BackgroundProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["OUTREACH_DB"] = nil
        environment["OUTREACH_MASTER_KEY"] = nil
        environment["OUTREACH_WORKER_POLL"] = "100ms"
        for name in removing { environment[name] = nil }
        environment.merge(extraEnvironment) { $1 }
        return try BackgroundProcess(binary, ["serve", "--port", String(port), "--host", "127.0.0.1"], environment: environment, workingDirectory: directory)
    }
}
