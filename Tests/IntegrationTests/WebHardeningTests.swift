import Foundation
import OutreachCore
import OutreachStore
import Testing

/// `outreach serve` probed over raw HTTP, as an attacker or a broken client would: connections that send nothing or
/// trickle a header, bodies over the limits or malformed, a sign-in posted from another site, text smuggled into
/// banners, addresses and names, a Host header of the client's choosing, a grant revoked a moment ago.
@Suite("The web server's defences, over HTTP", .timeLimit(.minutes(3)))
struct WebHardeningTests {
    static let admin = (email: "admin@example.test", password: "admin-password-1")
    static let user = (email: "uma@example.test", password: "uma-password-1")
    static let account = "sales@example.test"

    /// What no answer may contain: the names of the types behind an error.
    static let internalNames = ["NIO", "Error(", "DecodingError", "CodingKeys", "Swift.", "HTTPParser", "GRDB", "SQLite"]

    /// A sandbox with an account (on servers that are never contacted), an admin, and a user granted the account
    /// with a campaign of their own; then `serve`, with `environment` added.
    struct Server {
        let cli: OutreachSandbox
        let serve: BackgroundProcess
        let port: Int

        init(environment: [String: String] = [:], removing: [String] = []) async throws {
            let cli = try OutreachSandbox()
            self.cli = cli
            try await offThePool { try Self.prepare(cli) }
            serve = try cli.startServe(extraEnvironment: environment, removing: removing)
            let base = try await BrowserTests.waitUntilListening(serve)
            port = try #require(Int(base.split(separator: ":").last ?? ""))
        }

        /// `outreach` commands: blocking, so run off the pool.
        static func prepare(_ cli: OutreachSandbox) throws {
            try cli.expectSuccess(["init"])
            try cli.expectSuccess(
                ["account", "add", WebHardeningTests.account, "--smtp", "smtps://127.0.0.1:1", "--imap", "imaps://127.0.0.1:1", "--password-stdin"],
                stdin: "app-password"
            )
            try cli.expectSuccess(["account", "set", WebHardeningTests.account, "--guard", "0"])
            try cli.expectSuccess(["user", "add", WebHardeningTests.admin.email, "--admin", "--password-stdin"], stdin: WebHardeningTests.admin.password)
            try cli.expectSuccess(["user", "add", WebHardeningTests.user.email, "--password-stdin"], stdin: WebHardeningTests.user.password)
            try cli.expectSuccess(["user", "grant", WebHardeningTests.user.email, WebHardeningTests.account])
        }

        func client() -> RawWebClient { RawWebClient(port: port) }

        /// The user's campaign (two prospects), uploaded as Module 1 does.
        func uploadCampaign(_ client: RawWebClient, name: String = "Q4 Leads") async throws -> Int64 {
            let answer = try await client.request(
                "POST", "/api/campaigns?name=\(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&account=\(WebHardeningTests.account)",
                headers: ["X-CSRF-Token": client.csrf, "Content-Type": "text/csv"], body: Data("email,first\np1@example.test,Ann\np2@example.test,Bruno\n".utf8)
            )
            guard answer.status == 201, let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any], let id = object["id"] as? Int else {
                throw HarnessError("the upload failed: \(answer)")
            }
            return Int64(id)
        }

        func stop() {
            serve.stop()
            cli.remove()
        }
    }

    static func expectNoInternalNames(_ response: RawHTTP.Response, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let leaked = internalNames.filter { response.text.contains($0) }
        #expect(leaked.isEmpty, "\(what) names internal types \(leaked): \(response.text.prefix(500))", sourceLocation: sourceLocation)
    }

    // MARK: - Item 5: timeouts

    @Test("a connection that sends nothing, or a header byte each second, is closed within the header timeout; an idle one after the idle timeout")
    func slowClientsAreClosed() async throws {
        let server = try await Server(environment: ["OUTREACH_HTTP_HEADER_TIMEOUT": "2s", "OUTREACH_HTTP_IDLE_TIMEOUT": "3s"])
        defer { server.stop() }
        // Five silent connections and five that trickle a request head, as in the probe that found them open after 75 s.
        var sockets: [(fd: Int32, trickle: Bool)] = []
        for index in 0..<10 { sockets.append((try RawHTTP.connect(port: server.port), index >= 5)) }
        defer { for socket in sockets { close(socket.fd) } }
        let watched = sockets
        let closed = try await offThePool { RawHTTP.secondsUntilClosed(watched, deadline: 20) }
        for (index, seconds) in closed.enumerated() {
            let kind = sockets[index].trickle ? "trickling" : "silent"
            #expect(seconds != nil && seconds! < 10, "the \(kind) connection #\(index) was \(seconds.map { "closed after \(String(format: "%.1f", $0)) s" } ?? "still open after 20 s")")
        }

        // A connection that finished a request and then says nothing: closed after the idle timeout.
        let fd = try RawHTTP.connect(port: server.port)
        defer { close(fd) }
        let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        let idle = try await offThePool { RawHTTP.secondsUntilClosed([(fd, false)], deadline: 20) }
        #expect(idle[0] != nil && idle[0]! < 12, "the idle connection was \(idle[0].map { "closed after \($0) s" } ?? "still open after 20 s")")

        // A prompt client is served as before.
        let health = try await server.client().request("GET", "/healthz")
        #expect(health.status == 200 && health.text == "ok", "\(health)")
    }

    // MARK: - Item 6: bodies

    @Test("oversized bodies answer 413 with the limit in words, malformed ones 400; no answer names an internal type; a job request is held to 1 MiB")
    func bodiesOverTheLimitOrMalformed() async throws {
        let server = try await Server()
        defer { server.stop() }
        let client = server.client()
        try await client.signIn(Self.user.email, Self.user.password)
        let campaign = try await server.uploadCampaign(client)

        // A 70 MB upload, announced by its length: refused before it is read.
        let upload = try await client.request(
            "POST", "/api/campaigns?name=Big&account=\(Self.account)",
            headers: ["X-CSRF-Token": client.csrf, "Content-Type": "text/csv", "Content-Length": "70000000"], body: Data(count: 1_000_000)
        )
        #expect(upload.status == 413, "\(upload)")
        #expect(upload.text.contains("The file is larger than the server takes here: at most 64 MiB."), "\(upload)")
        Self.expectNoInternalNames(upload, "the 70 MB upload")

        // A 3 MB preview, with its length and chunked.
        let big = try JSONSerialization.data(withJSONObject: ["row": 1, "subject": "Hi", "body": String(repeating: "x", count: 3_000_000)])
        let preview = try await client.request("POST", "/api/campaigns/\(campaign)/preview", headers: ["X-CSRF-Token": client.csrf, "Content-Type": "application/json"], body: big)
        let chunked = try await client.request(
            "POST", "/api/campaigns/\(campaign)/preview",
            headers: ["X-CSRF-Token": client.csrf, "Content-Type": "application/json", "Transfer-Encoding": "chunked"], body: RawHTTP.chunked(big)
        )
        for (name, answer) in [("preview", preview), ("chunked preview", chunked)] {
            #expect(answer.status == 413, "\(name): \(answer)")
            #expect(answer.text.contains("at most 1 MiB"), "\(name): \(answer)")
            Self.expectNoInternalNames(answer, name)
        }

        // A job request is a template, not a file: 2 MB of valid JSON is refused (the limit was 64 MiB).
        let job = try JSONSerialization.data(withJSONObject: [
            "round": 1, "subject": "Hello {first}", "body": "Hi {first}\n" + String(repeating: "y", count: 2_000_000), "mode": "send-all",
            "at": "2099-01-01T08:00:00Z",
        ])
        let bigJob = try await client.request("POST", "/api/campaigns/\(campaign)/jobs", headers: ["X-CSRF-Token": client.csrf, "Content-Type": "application/json"], body: job)
        #expect(bigJob.status == 413 && bigJob.text.contains("at most 1 MiB"), "\(bigJob)")

        // A chunk size that is not hexadecimal.
        let badChunk = try await client.request(
            "POST", "/api/campaigns/\(campaign)/preview",
            headers: ["X-CSRF-Token": client.csrf, "Content-Type": "application/json", "Transfer-Encoding": "chunked"], body: Data("zz\r\n{}\r\n0\r\n\r\n".utf8)
        )
        #expect(badChunk.status == 400, "\(badChunk)")
        Self.expectNoInternalNames(badChunk, "the bad chunk size")

        // JSON that is not JSON, or has the wrong shape: said in words.
        let notJSON = try await client.postJSONText("/api/campaigns/\(campaign)/preview", "{not json")
        #expect(notJSON.status == 400 && notJSON.text.contains("the request body is not valid JSON"), "\(notJSON)")
        let wrongType = try await client.postJSON("/api/campaigns/\(campaign)/preview", ["row": "one", "subject": "Hi", "body": "x"])
        #expect(wrongType.status == 400 && wrongType.text.contains("the field \\\"row\\\" should be a number"), "\(wrongType)")
        let missing = try await client.postJSON("/api/campaigns/\(campaign)/jobs", ["subject": "Hi", "body": "x"])
        #expect(missing.status == 400 && missing.text.contains("the request is missing the field \\\"round\\\""), "\(missing)")
        let badMode = try await client.postJSON("/api/campaigns/\(campaign)/jobs", ["round": 1, "subject": "Hi", "body": "x", "mode": "blast"])
        #expect(badMode.status == 400 && badMode.text.contains("the field \\\"mode\\\" has a value this address does not take"), "\(badMode)")
        for (name, answer) in [("not JSON", notJSON), ("wrong type", wrongType), ("missing field", missing), ("bad mode", badMode)] {
            Self.expectNoInternalNames(answer, name)
        }

        // A form body of bytes that are no form: a plain refusal, not a server error.
        let garbage = try await client.request(
            "POST", "/campaigns/\(campaign)/send",
            headers: ["X-CSRF-Token": client.csrf, "Content-Type": "application/x-www-form-urlencoded"], body: Data([0xFF, 0xFE, 0x25, 0x7A, 0x7A, 0x26, 0x3D, 0x00])
        )
        #expect(garbage.status == 400, "\(garbage)")
        Self.expectNoInternalNames(garbage, "the garbage form")

        let database = try SQLiteDatabase(path: server.cli.databasePath, create: false)
        #expect(try await database.jobs.jobs(states: nil, ownerID: nil, limit: 10).isEmpty, "a refused request created a job")
    }

    // MARK: - Item 7

    @Test("a CSV download is an attachment of type text/csv named with only the safe letters of the campaign's name, with the bytes `outreach campaign export` writes: formulas neutralised")
    func csvDownloads() async throws {
        let server = try await Server()
        defer { server.stop() }
        let client = server.client()
        try await client.signIn(Self.user.email, Self.user.password)
        let name = "Leads \"Q4\" / ü;x"
        let upload = try await client.request(
            "POST", "/api/campaigns?name=\(name.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "LeadsQ4x")) ?? "")&account=\(Self.account)",
            headers: ["X-CSRF-Token": client.csrf, "Content-Type": "text/csv"],
            body: Data("email,first,notes\np1@example.test,Ann,=1+2\np2@example.test,Bruno,+49 30 1234\n".utf8)
        )
        let created = try #require(try JSONSerialization.jsonObject(with: upload.body) as? [String: Any], "\(upload)")
        let id = try #require(created["id"] as? Int, "\(upload)")

        let master = try await client.request("GET", "/campaigns/\(id)/master.csv")
        #expect(master.status == 200, "\(master)")
        #expect(master.header("Content-Type") == "text/csv; charset=utf-8", "\(master.headers)")
        #expect(master.header("Content-Disposition") == "attachment; filename=\"Leads-Q4-x-master.csv\"", "\(master.headers)")
        #expect(master.text == "email,first,notes\r\np1@example.test,Ann,'=1+2\r\np2@example.test,Bruno,'+49 30 1234\r\n", "\(master.text)")
        let exported = try await offThePool { try server.cli.expectSuccess(["campaign", "export", name]).stdout }
        #expect(master.text == exported)

        let log = try await client.request("GET", "/campaigns/\(id)/log.csv?round=1")
        #expect(log.status == 200 && log.header("Content-Disposition") == "attachment; filename=\"Leads-Q4-x-round-1-log.csv\"", "\(log.headers)")
        #expect(log.text == "campaign,round,row,email,status,message_id,thread_key,sent_at,reply_code,reply_text\r\n", "\(log.text)")
        let badRound = try await client.request("GET", "/campaigns/\(id)/log.csv?round=0")
        #expect(badRound.status == 400 && badRound.shown.contains("round must be 1 or more"), "\(badRound)")
        // Not the user's: as for every other page, nothing is said about what exists.
        for path in ["/campaigns/\(id + 1)/master.csv", "/jobs/999/log.csv"] {
            let answer = try await client.request("GET", path)
            #expect(answer.status == 404, "\(path): \(answer)")
        }
    }

    @Test("every response — page, JSON, asset, redirect, error — says nosniff and a Referrer-Policy")
    func securityHeadersEverywhere() async throws {
        let server = try await Server()
        defer { server.stop() }
        let anonymous = server.client()
        let client = server.client()
        try await client.signIn(Self.user.email, Self.user.password)
        let answers: [(String, RawHTTP.Response)] = [
            ("asset", try await anonymous.request("GET", "/assets/app.js")),
            ("favicon", try await anonymous.request("GET", "/favicon.ico")),
            ("health", try await anonymous.request("GET", "/healthz")),
            ("login page", try await anonymous.request("GET", "/login")),
            ("redirect to login", try await anonymous.request("GET", "/jobs")),
            ("API without session", try await anonymous.request("GET", "/api/jobs")),
            ("JSON", try await client.request("GET", "/api/jobs")),
            ("JSON 404", try await client.request("GET", "/api/jobs/999")),
            ("page 404", try await client.request("GET", "/no/such/page")),
            ("CSRF refusal", try await client.request("POST", "/api/jobs/1/cancel")),
        ]
        for (name, answer) in answers {
            #expect(answer.header("X-Content-Type-Options") == "nosniff", "\(name): \(answer.headers)")
            #expect(answer.header("Referrer-Policy") == "same-origin", "\(name): \(answer.headers)")
        }
    }

    @Test("a sign-in posted from another site's page is refused even with a matching cookie and token; this site's own is accepted")
    func loginFromAnotherSite() async throws {
        let server = try await Server(environment: ["OUTREACH_PUBLIC_URL": "https://outreach.example.test"])
        defer { server.stop() }
        func attempt(_ headers: [String: String]) async throws -> (RawHTTP.Response, RawWebClient) {
            let client = server.client()
            let token = try await client.loginToken()
            let form = RawWebClient.formBody([("_csrf", token), ("email", Self.admin.email), ("password", Self.admin.password)])
            let answer = try await client.request("POST", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"].merging(headers) { $1 }, body: form)
            return (answer, client)
        }
        for headers in [["Origin": "http://evil.example"], ["Referer": "http://evil.example/login-trap.html"], ["Origin": "null"]] {
            let (answer, client) = try await attempt(headers)
            #expect(answer.status == 403 && answer.shown.contains("came from a page of another site"), "\(headers): \(answer)")
            #expect(client.cookies["outreach_session"] == nil, "\(headers) signed in")
        }
        // The browser on this server's own page; and through a proxy that passed the public host as Origin.
        for headers in [["Origin": "http://127.0.0.1:\(server.port)"], ["Referer": "http://127.0.0.1:\(server.port)/login"], ["Origin": "https://outreach.example.test"], [:]] {
            let (answer, client) = try await attempt(headers)
            #expect(answer.status == 303 && client.cookies["outreach_session"] != nil, "\(headers): \(answer)")
        }
    }

    @Test("banners come from the server, not the address: /users?done=… and /accounts?added=… show nothing; a real action's message shows once")
    func flashMessagesAreServerSide() async throws {
        let server = try await Server()
        defer { server.stop() }
        let admin = server.client()
        try await admin.signIn(Self.admin.email, Self.admin.password)
        let users = try await admin.request("GET", "/users?done=Your%20account%20is%20locked%2C%20call%20%2B1%20555%200100")
        #expect(users.status == 200 && !users.text.contains("Your account is locked"), "the banner repeated the query string")
        let accounts = try await admin.request("GET", "/accounts?added=nothing%2C%20call%20us")
        #expect(accounts.status == 200 && !accounts.text.contains("call us"), "the banner repeated the query string")

        let added = try await admin.postForm("/users", [("email", "nina@example.test"), ("password", "nina-password-1"), ("role", "user")])
        #expect(added.status == 303 && added.header("Location") == "/users", "\(added.status) \(added.headers)")
        let after = try await admin.request("GET", "/users")
        #expect(after.text.contains("class=\"flash ok\" role=\"status\">Added nina@example.test.</div>"), "\(after.text.prefix(2000))")
        let again = try await admin.request("GET", "/users")
        #expect(!again.text.contains("Added nina@example.test."), "the message showed twice")
    }

    @Test("add user takes only a valid address and a password of at most 72 bytes (counted in bytes), on the web and in `outreach user add`")
    func userAddressesAndPasswords() async throws {
        let server = try await Server()
        defer { server.stop() }
        let admin = server.client()
        try await admin.signIn(Self.admin.email, Self.admin.password)
        // 40 characters, 80 bytes: bcrypt would have ignored the last 8.
        let accented = String(repeating: "é", count: 40)
        for (email, password, expected) in [
            ("x y@example.test", "long-enough-pw", "The user's email address is not valid: 'x y@example.test' has characters that are not allowed before the @."),
            ("someone@", "long-enough-pw", "The user's email address is not valid: 'someone@' has a domain that is not a valid host name."),
            ("lea@example.test", accented, "a password may be at most 72 bytes long (bcrypt ignores the rest); this one is 80 bytes in UTF-8"),
        ] {
            let answer = try await admin.postForm("/users", [("email", email), ("password", password), ("role", "user")])
            #expect(answer.status == 400 && answer.shown.contains(expected), "\(email): \(answer)")
        }
        let cli = try server.cli.run(["user", "add", "x y@example.test", "--password-stdin"], stdin: "long-enough-pw")
        #expect(cli.status != 0 && cli.stderr.contains("'x y@example.test' has characters that are not allowed before the @"), "\(cli.output)")
        let long = try server.cli.run(["user", "add", "lea@example.test", "--password-stdin"], stdin: accented)
        #expect(long.status != 0 && long.stderr.contains("this one is 80 bytes in UTF-8"), "\(long.output)")
        // 72 bytes exactly is fine.
        let exact = try await admin.postForm("/users", [("email", "max@example.test"), ("password", String(repeating: "é", count: 36)), ("role", "user")])
        #expect(exact.status == 303, "\(exact)")
        let listed = try server.cli.expectSuccess(["user", "list", "--json"]).stdout
        #expect(!listed.contains("x y@") && !listed.contains("someone@\"") && !listed.contains("lea@"), "\(listed)")
    }

    @Test("an account's display name with a line break is refused by the form")
    func displayNameOnOneLine() async throws {
        let server = try await Server()
        defer { server.stop() }
        let admin = server.client()
        try await admin.signIn(Self.admin.email, Self.admin.password)
        let fields = [("email", "ops@example.test"), ("smtp", "smtps://127.0.0.1:1"), ("imap", "imaps://127.0.0.1:1"), ("password", "app-password")]
        let injected = try await admin.postForm("/accounts", fields + [("name", "Ops\r\nBcc: spy@evil.example")])
        #expect(injected.status == 400 && injected.shown.contains("The display name must be one line"), "\(injected)")
        #expect(!(try server.cli.expectSuccess(["account", "list", "--json"]).stdout.contains("ops@example.test")))
        let plain = try await admin.postForm("/accounts", fields + [("name", "Ops Team")])
        #expect(plain.status == 303, "\(plain)")
    }

    @Test("Connect with Google never builds its redirect address from the Host header: refused without OUTREACH_PUBLIC_URL, from it with")
    func oauthRedirectFromConfiguration() async throws {
        let google = ["GMAIL_CLIENT_ID": "test-client.apps.googleusercontent.com", "OUTREACH_OAUTH_AUTH_URL": "https://accounts.example.test/auth"]
        for publicURL in [nil, "https://outreach.example.test"] {
            let server = try await Server(
                environment: google.merging(publicURL.map { ["OUTREACH_PUBLIC_URL": $0] } ?? [:]) { $1 },
                removing: ["GMAIL_REDIRECT_URI", "OUTREACH_PUBLIC_URL"]
            )
            defer { server.stop() }
            let admin = server.client()
            try await admin.signIn(Self.admin.email, Self.admin.password)
            let answer = try await admin.postForm("/accounts/google", [("email", "alice@example.test")], headers: ["Host": "evil.example"])
            if publicURL == nil {
                #expect(answer.status == 400 && answer.shown.contains("Set OUTREACH_PUBLIC_URL to the address browsers use"), "\(answer)")
            } else {
                let location = answer.header("Location") ?? ""
                #expect(answer.status == 303 && location.contains("redirect_uri=https%3A%2F%2Foutreach.example.test%2Foauth2%2Fcallback"), "\(answer.status) \(location)")
                #expect(!location.contains("evil.example"), "\(location)")
            }
        }
    }

    @Test("a campaign name another user has is neither refused nor revealed; the same user twice is refused; the CLI asks which of two")
    func campaignNamesPerOwner() async throws {
        let server = try await Server()
        defer { server.stop() }
        try server.cli.expectSuccess(["user", "add", "otto@example.test", "--password-stdin"], stdin: "otto-password-1")
        try server.cli.expectSuccess(["user", "grant", "otto@example.test", Self.account])
        let otto = server.client()
        try await otto.signIn("otto@example.test", "otto-password-1")
        let ottos = try await server.uploadCampaign(otto, name: "Q4 Leads")
        let uma = server.client()
        try await uma.signIn(Self.user.email, Self.user.password)
        let umas = try await server.uploadCampaign(uma, name: "q4 leads")
        #expect(umas != ottos)
        do {
            _ = try await server.uploadCampaign(uma, name: "Q4 LEADS")
            Issue.record("the same user could use a name twice")
        } catch let error as HarnessError {
            #expect("\(error)".contains("a campaign named 'Q4 LEADS' already exists"), "\(error)")
        }
        let listed = try await uma.request("GET", "/api/campaigns")
        #expect(listed.text.contains("\"id\":\(umas)") && !listed.text.contains("\"id\":\(ottos)"), "\(listed)")

        let ambiguous = try server.cli.run(["campaign", "show", "Q4 Leads"])
        #expect(
            ambiguous.status != 0 && ambiguous.stderr.contains("several campaigns are named 'Q4 Leads': #\(ottos) (otto@example.test), #\(umas) (uma@example.test)"),
            "\(ambiguous.output)"
        )
        #expect(try server.cli.run(["campaign", "show", "#\(umas)"]).status == 0)
    }

    // MARK: - Item 2 (the web's part)

    @Test("a grant revoked a moment ago stops the user's next job at once, though the session is cached for two seconds")
    func revokedGrantCreatesNoJob() async throws {
        let server = try await Server()
        defer { server.stop() }
        let user = server.client()
        try await user.signIn(Self.user.email, Self.user.password)
        let campaign = try await server.uploadCampaign(user)
        let job: [String: Any] = ["round": 1, "subject": "Hello {first}", "body": "Hi {first}", "mode": "send-all", "at": "2099-01-01T08:00:00Z"]
        let first = try await user.postJSON("/api/campaigns/\(campaign)/jobs", job)
        #expect(first.status == 201, "\(first)")

        let database = try SQLiteDatabase(path: server.cli.databasePath, create: false)
        let userID = try #require(try await database.users.user(email: Self.user.email)?.id)
        let accountID = try #require(try await database.accounts.account(email: Self.account)?.id)
        let admin = server.client()
        try await admin.signIn(Self.admin.email, Self.admin.password)
        // The user's session is looked up (and cached), the grant revoked, and the user asks again at once.
        try await user.request("GET", "/api/jobs")
        let revoked = try await admin.postForm("/users/\(userID)/revoke", [("account", String(accountID))])
        #expect(revoked.status == 303, "\(revoked)")
        let viaAPI = try await user.postJSON("/api/campaigns/\(campaign)/jobs", job)
        let viaForm = try await user.postForm(
            "/campaigns/\(campaign)/send", [("subject", "Hello {first}"), ("body", "Hi"), ("mode", "send-all"), ("when", "at"), ("atInstant", "2099-01-02T08:00:00Z")]
        )
        #expect(viaAPI.status == 404, "the JSON API: \(viaAPI)")
        #expect(viaForm.status == 404, "the form: \(viaForm)")
        #expect(try await database.jobs.jobs(states: nil, ownerID: nil, limit: 10).count == 1, "a job was created after the grant was revoked")
    }
}

extension RawWebClient {
    /// A JSON API call with a body that need not be JSON.
    @discardableResult
    func postJSONText(_ path: String, _ text: String) async throws -> RawHTTP.Response {
        try await request("POST", path, headers: ["Content-Type": "application/json", "X-CSRF-Token": csrf], body: Data(text.utf8))
    }
}
