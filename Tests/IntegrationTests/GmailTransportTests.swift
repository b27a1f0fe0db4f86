import Foundation
import Logging
import OutreachCore
import OutreachTransport
import Testing

/// The Gmail transport (HTTP client, OAuth loopback flow, Gmail API calls) against `Fixtures/gmail/fake_gmail.py`,
/// which checks every request against Google's discovery document. Each test ends with no contract violations.
@Suite("Gmail API transport against the fake Gmail", .timeLimit(.minutes(3)))
struct GmailTransportTests {
    @Test("the loopback sign-in yields a refresh token for the hinted account; refresh works until the grant is revoked")
    func loopbackFlowAndRefresh() async throws {
        let fake = try FakeGmailServer()
        defer { fake.stop() }
        let http = HTTPClient(label: "test oauth", logger: Logger(label: "test"))
        let connected = try await fake.connect(loginHint: "bob@example.test", http: http)

        #expect(connected.tokens.email == "bob@example.test")
        #expect(connected.tokens.scopes.contains("https://www.googleapis.com/auth/gmail.modify"))
        #expect(connected.tokens.expiresAt > Date().addingTimeInterval(3000))
        #expect(connected.page.contains("Outreach is connected"))
        #expect(connected.faviconStatus == 404, "a request for another path is answered 404 and the listener keeps waiting")
        let refreshToken = try #require(connected.tokens.refreshToken)
        #expect(!"\(connected.tokens.accessToken)".contains(connected.tokens.accessToken.revealed), "a token's description is masked")

        let refreshed = try await fake.client.refresh(refreshToken, http: http)
        #expect(refreshed.accessToken != connected.tokens.accessToken)
        #expect(refreshed.refreshToken == refreshToken, "a refresh without rotation keeps the token that was used")

        // The account's grant is revoked: refreshing says the account must be connected again, and so does the API.
        try await fake.faults(["invalidGrant": true, "expireAccessTokens": true])
        await #expect(throws: OAuthError.self) { _ = try await fake.client.refresh(refreshToken, http: http) }
        do {
            _ = try await fake.client.refresh(refreshToken, http: http)
        } catch {
            guard case .invalidGrant(let detail) = error else { Issue.record("expected invalidGrant, got \(error)"); return }
            #expect(detail.contains("expired or revoked"))
            #expect(error.transportError.kind == .reauthorizationRequired)
        }
        let tokens = RefreshingTokenSource(client: fake.client, tokens: connected.tokens, http: http)
        let gmail = fake.api(tokens: tokens, http: http)
        do {
            _ = try await gmail.profile()
            Issue.record("the profile call succeeded with a revoked grant")
        } catch {
            #expect(error.kind == .reauthorizationRequired, "\(error)")
        }
        try await fake.expectNoViolations()
    }

    @Test("the sign-in refuses a redirect with someone else's state, and reports a refused consent")
    func loopbackFlowRefusals() async throws {
        let fake = try FakeGmailServer()
        defer { fake.stop() }
        let http = HTTPClient(label: "test oauth", logger: Logger(label: "test"))
        let browser = HTTPClient(label: "test browser", logger: Logger(label: "test"))

        // A forged redirect straight to the listener, without going through consent.
        let (urls, continuation) = AsyncStream.makeStream(of: String.self)
        let flow = OAuthLoopbackFlow(client: fake.client, scopes: FakeGmailServer.scopes, loginHint: nil, http: http, timeoutSeconds: FakeGmailServer.listenerTimeout)
        async let forged: OAuthTokens = flow.run { continuation.yield($0) }
        var iterator = urls.makeAsyncIterator()
        let consentURL = try #require(await iterator.next())
        let redirectURI = try #require(FormEncoding.decodeQuery(String(consentURL.split(separator: "?")[1]))["redirect_uri"])
        let page = try await browser.send(HTTPRequest(method: "GET", url: redirectURI + "?code=4%2F0Aforged&state=not-ours"))
        #expect(page.status == 400)
        #expect(String(decoding: page.body, as: UTF8.self).contains("Outreach was not connected"))
        // The forged redirect neither connected nor cancelled anything: the real consent still completes the flow,
        // with the real code (the forged one would have been refused at /token).
        let consent = try await browser.send(HTTPRequest(method: "GET", url: consentURL))
        let location = try #require(consent.header("location"))
        #expect(try await browser.send(HTTPRequest(method: "GET", url: location)).status == 200)
        let tokens = try await forged
        #expect(!tokens.accessToken.revealed.isEmpty)

        // The user clicks "Cancel" on the consent page.
        try await fake.faults(["denyConsent": true])
        do {
            _ = try await fake.connect(loginHint: nil, http: http)
            Issue.record("a refused consent connected the account")
        } catch let error as OAuthError {
            guard case .denied = error else { Issue.record("expected denied, got \(error)"); return }
            #expect(error.description.contains("allow access"))
        }
        try await fake.expectNoViolations()
    }

    @Test("send keeps our Message-ID, a reply joins the thread, a draft is created, a generated id with + is found by q")
    func sendReplyDraftAndSearch() async throws {
        let fake = try FakeGmailServer()
        defer { fake.stop() }
        let http = HTTPClient(label: "test gmail", logger: Logger(label: "test"))
        let connected = try await fake.connect(loginHint: "alice@example.test", http: http)
        let gmail = fake.api(tokens: RefreshingTokenSource(client: fake.client, tokens: connected.tokens, http: http), http: http)

        let profile = try await gmail.profile()
        #expect(profile.emailAddress == "alice@example.test")

        let firstID = "<first.\(UUID().uuidString)@outreach.test>"
        let first = try await gmail.send(raw: message(id: firstID, subject: "Quarterly plan"), threadID: nil)
        #expect(first.labelIDs == ["SENT"])
        let readBack = try await gmail.message(id: first.id, format: .metadata(headers: ["Message-ID", "Subject"]))
        #expect(readBack.header("message-id") == firstID)
        #expect(readBack.header("Subject") == "Quarterly plan")
        #expect(readBack.internalDate.map { abs($0.timeIntervalSinceNow) < 120 } == true)
        #expect((readBack.historyID ?? 0) > profile.historyID)

        let reply = try await gmail.send(
            raw: message(id: "<second.\(UUID().uuidString)@outreach.test>", subject: "Re: Quarterly plan", extra: "In-Reply-To: \(firstID)\r\nReferences: \(firstID)\r\n"),
            threadID: first.threadID
        )
        #expect(reply.threadID == first.threadID)

        let draft = try await gmail.createDraft(
            raw: message(id: "<draft.\(UUID().uuidString)@outreach.test>", subject: "Re: Quarterly plan", extra: "In-Reply-To: \(firstID)\r\n"), threadID: first.threadID
        )
        #expect(draft.draftID.hasPrefix("r"))
        #expect(draft.message.labelIDs.contains("DRAFT"))
        #expect(draft.message.threadID == first.threadID)

        let raw = try await gmail.message(id: reply.id, format: .raw)
        #expect(String(decoding: raw.raw ?? [], as: UTF8.self).contains("Subject: Re: Quarterly plan\r\n"))

        // No Message-ID: Gmail makes one up, with + and = in it, which a search must percent-encode.
        let anonymous = try await gmail.send(raw: message(id: nil, subject: "No id"), threadID: nil)
        let generated = try #require(try await gmail.message(id: anonymous.id, format: .metadata(headers: ["Message-ID"])).header("Message-ID"))
        #expect(generated.contains("+"))
        let found = try await gmail.listMessages(query: "rfc822msgid:\(generated)")
        #expect(found.messages.map(\.id) == [anonymous.id])
        let sent = try await gmail.listMessages(query: nil, labelIDs: ["SENT"], maxResults: 2)
        #expect(sent.messages.count == 2)
        let second = try #require(sent.nextPageToken as String?)
        let rest = try await gmail.listMessages(query: nil, labelIDs: ["SENT"], pageToken: second, maxResults: 2)
        #expect(Set(sent.messages.map(\.id) + rest.messages.map(\.id)) == Set([first.id, reply.id, anonymous.id]))
        let none = try await gmail.listMessages(query: "subject:\"nothing like this\"")
        #expect(none.messages.isEmpty && none.nextPageToken == nil)

        // Gmail's refusals, mapped for the operator.
        do {
            _ = try await gmail.message(id: "00000000000000ff", format: .minimal)
            Issue.record("an unknown id was found")
        } catch {
            #expect(error.kind == .rejectedPermanently && error.replyCode == 404, "\(error)")
        }
        do {
            _ = try await gmail.send(raw: message(id: nil, subject: "x"), threadID: "ffffffffffffffff")
            Issue.record("an unknown threadId was accepted")
        } catch {
            #expect(error.kind == .rejectedPermanently && error.detail.contains("Invalid thread_id value"), "\(error)")
        }
        let violations = try await fake.control("DELETE", "/__violations")
        #expect(violations["count"] as? Int == 1, "only the unknown threadId on purpose: \(violations)")
        #expect(await gmail.unitsSpent == 1 + 100 + 5 + 100 + 10 + 5 + 100 + 5 + 5 + 5 + 5 + 5 + 5 + 100)
        try await fake.expectNoViolations()
    }

    @Test("history pages through added messages, and a start id Gmail no longer keeps is the expired-history signal")
    func historyPagingAndExpiry() async throws {
        let fake = try FakeGmailServer()
        defer { fake.stop() }
        let http = HTTPClient(label: "test gmail", logger: Logger(label: "test"))
        let connected = try await fake.connect(loginHint: "alice@example.test", http: http)
        let gmail = fake.api(tokens: RefreshingTokenSource(client: fake.client, tokens: connected.tokens, http: http), http: http)

        let start = try await gmail.profile().historyID
        let nothing = try await gmail.history(startHistoryID: start, pageToken: nil)
        #expect(nothing.added.isEmpty && nothing.nextPageToken == nil && nothing.historyID == start)

        var delivered: [String] = []
        for n in 1...3 {
            let answer = try await fake.deliver(
                to: "alice@example.test", raw: "From: p\(n)@example.test\r\nTo: alice@example.test\r\nSubject: Hi \(n)\r\n\r\nHello.\r\n"
            )
            delivered.append(try #require(answer["id"] as? String))
        }
        var added: [GmailMessageRef] = []
        var token: String?
        var pages = 0
        var last: UInt64 = 0
        repeat {
            let page = try await gmail.history(startHistoryID: start, pageToken: token, maxResults: 2)
            added += page.added
            token = page.nextPageToken
            last = page.historyID
            pages += 1
        } while token != nil && pages < 10
        #expect(pages == 2)
        #expect(added.map(\.id) == delivered)
        #expect(added.allSatisfy { $0.labelIDs.contains("INBOX") })
        #expect(last > start)

        try await fake.faults(["expireHistoryBefore": "now"])
        do {
            _ = try await gmail.history(startHistoryID: last, pageToken: nil)
            Issue.record("an expired history id was accepted")
        } catch {
            #expect(error.isGmailHistoryExpired, "\(error)")
        }
        do {
            _ = try await gmail.message(id: "00000000000000ff", format: .minimal)
        } catch {
            #expect(!error.isGmailHistoryExpired, "a missing message is not the history signal")
        }
        try await fake.expectNoViolations()
    }

    @Test("rate limits are waited out (at least Retry-After), a 5xx on send is outcome-unknown, a 5xx on a read is retried")
    func rateLimitsAndServerErrors() async throws {
        let fake = try FakeGmailServer()
        defer { fake.stop() }
        let http = HTTPClient(label: "test gmail", logger: Logger(label: "test"))
        let connected = try await fake.connect(loginHint: "alice@example.test", http: http)
        let gmail = fake.api(tokens: RefreshingTokenSource(client: fake.client, tokens: connected.tokens, http: http), http: http)

        try await fake.faults(["rateLimit": 2, "retryAfter": 1])
        let sent = try await gmail.send(raw: message(id: "<limited.\(UUID().uuidString)@outreach.test>", subject: "Limited"), threadID: nil)
        #expect(await gmail.retriedCalls == 2)
        let state = try await fake.state()
        let sends = (state["requests"] as? [[String: Any]] ?? []).filter { ($0["path"] as? String ?? "").hasSuffix("/messages/send") }
        #expect(sends.map { $0["status"] as? Int } == [429, 429, 200])
        let times = sends.compactMap { ($0["t"] as? NSNumber)?.doubleValue }
        #expect(times.count == 3)
        for (earlier, later) in zip(times, times.dropFirst()) { #expect(later - earlier >= 0.99, "retried after \(later - earlier) s, Retry-After was 1") }
        let users = state["users"] as? [String: Any]
        #expect(((users?["alice@example.test"] as? [String: Any])?["messages"] as? [Any])?.count == 1, "the message went out once")
        _ = sent

        // Google's 403 flavour of the rate limit, no Retry-After: retried too.
        try await fake.faults(["rateLimit": 1, "rateLimitStatus": 403, "retryAfter": 0])
        _ = try await gmail.profile()
        #expect(await gmail.retriedCalls == 3)

        // A 5xx on send: Gmail may have sent it, so no second attempt.
        try await fake.faults(["serverError": 1])
        do {
            _ = try await gmail.send(raw: message(id: nil, subject: "Maybe"), threadID: nil)
            Issue.record("a send that got a 503 succeeded")
        } catch {
            #expect(error.kind == .outcomeUnknown, "\(error)")
        }
        #expect(await gmail.retriedCalls == 3)
        try await fake.faults(["serverError": 2, "serverErrorStatus": 500])
        let listed = try await gmail.listMessages(query: "subject:Limited")
        #expect(listed.messages.map(\.id) == [sent.id])
        #expect(await gmail.retriedCalls == 5)

        // A limit that outlasts every attempt is a temporary refusal quoting Google.
        try await fake.faults(["rateLimit": 10, "rateLimitStatus": 429, "retryAfter": 0])
        do {
            _ = try await gmail.profile()
            Issue.record("a permanent rate limit was not reported")
        } catch {
            #expect(error.kind == .rejectedTemporarily && error.detail.contains("User-rate limit exceeded"), "\(error)")
        }
        try await fake.faults(["clear": true])
        try await fake.expectNoViolations()
    }

    @Test("an access token that dies early is refreshed once on the 401 and the call goes through")
    func expiredAccessTokenIsRefreshed() async throws {
        let fake = try FakeGmailServer()
        defer { fake.stop() }
        let http = HTTPClient(label: "test gmail", logger: Logger(label: "test"))
        let connected = try await fake.connect(loginHint: "alice@example.test", http: http)
        let tokens = RefreshingTokenSource(client: fake.client, tokens: connected.tokens, http: http)
        let gmail = fake.api(tokens: tokens, http: http)
        _ = try await gmail.profile()
        #expect(await tokens.refreshes == 0)

        try await fake.faults(["expireAccessTokens": true])
        let profile = try await gmail.profile()
        #expect(profile.emailAddress == "alice@example.test")
        #expect(await tokens.refreshes == 1)
        let trail = try await fake.requests().suffix(3).map { "\($0["path"] ?? "") \($0["status"] ?? "")" }
        #expect(trail == ["/gmail/v1/users/me/profile 401", "/token 200", "/gmail/v1/users/me/profile 200"])
        try await fake.expectNoViolations()
    }

    @Test("the per-minute quota budget holds a call back until its units fit in the last 60 s")
    func quotaBudget() async throws {
        let fake = try FakeGmailServer()
        defer { fake.stop() }
        let http = HTTPClient(label: "test gmail", logger: Logger(label: "test"))
        let connected = try await fake.connect(loginHint: "alice@example.test", http: http)
        let sleeps = SleepRecorder()
        let gmail = GmailAPI(
            configuration: GmailAPIConfiguration(apiBase: fake.apiBase, quotaUnitsPerMinute: 150),
            tokens: RefreshingTokenSource(client: fake.client, tokens: connected.tokens, http: http), http: http, logger: Logger(label: "test"),
            sleep: { await sleeps.record($0) }
        )
        _ = try await gmail.send(raw: message(id: nil, subject: "One"), threadID: nil)
        _ = try await gmail.profile()
        #expect(await sleeps.all.isEmpty, "101 units fit in 150")
        _ = try await gmail.send(raw: message(id: nil, subject: "Two"), threadID: nil)
        let waited = await sleeps.all
        // 60 s after the first send's charge, less the time the calls in between took (more on a busy machine).
        #expect(waited.count == 1 && waited[0] > 45 && waited[0] <= 60, "the second send waited for the first to leave the window: \(waited)")
        #expect(await gmail.unitsSpent == 201)
        try await fake.expectNoViolations()
    }

    @Test("a connection that breaks after the request went out: a send is outcome-unknown and never repeated, a read is retried")
    func brokenConnection() async throws {
        let server = try HangUpServer()
        defer { server.stop() }
        let http = HTTPClient(label: "test hang-up", logger: Logger(label: "test"))
        let gmail = GmailAPI(
            configuration: GmailAPIConfiguration(apiBase: "http://127.0.0.1:\(server.port)", maxAttempts: 3, retryBaseSeconds: 0.01), tokens: FixedToken(),
            http: http, logger: Logger(label: "test")
        )
        do {
            _ = try await gmail.send(raw: message(id: nil, subject: "Once"), threadID: nil)
            Issue.record("a send without an answer succeeded")
        } catch {
            #expect(error.kind == .outcomeUnknown, "\(error)")
        }
        #expect(server.requests == ["POST /gmail/v1/users/me/messages/send"], "the send went out exactly once")
        #expect(await gmail.retriedCalls == 0)

        do {
            _ = try await gmail.profile()
            Issue.record("a read without an answer succeeded")
        } catch {
            #expect(error.kind == .connection, "\(error)")
        }
        #expect(server.requests.count == 1 + 3)
        #expect(await gmail.retriedCalls == 2)

        // Nobody listening: nothing went out, so even a send may be tried again.
        server.stop()
        do {
            _ = try await gmail.send(raw: message(id: nil, subject: "Refused"), threadID: nil)
            Issue.record("a send to a closed port succeeded")
        } catch {
            #expect(error.kind == .connection, "\(error)")
        }
        #expect(await gmail.retriedCalls == 4)
    }

    @Test("form encoding percent-encodes everything but RFC 3986's unreserved characters")
    func formEncoding() {
        #expect(FormEncoding.percentEncode("a+b=c/d&e f~_.-") == "a%2Bb%3Dc%2Fd%26e%20f~_.-")
        #expect(FormEncoding.encode([("q", "rfc822msgid:<CA+x=@mail.gmail.com>"), ("ü", "1")]) == "q=rfc822msgid%3A%3CCA%2Bx%3D%40mail.gmail.com%3E&%C3%BC=1")
        #expect(FormEncoding.decodeQuery("?state=a%2Bb&scope=x+y&code=4/0A&empty") == ["state": "a+b", "scope": "x y", "code": "4/0A", "empty": ""])
    }

    private func message(id: String?, subject: String, extra: String = "") -> [UInt8] {
        let idLine = id.map { "Message-ID: \($0)\r\n" } ?? ""
        return Array("From: Alice <alice@example.test>\r\nTo: Prospect <p@example.test>\r\nSubject: \(subject)\r\n\(idLine)\(extra)Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n".utf8)
    }
}

/// A token source built on the real token endpoint: refreshes near expiry or when asked after a 401.
actor RefreshingTokenSource: AccessTokenSource {
    private let client: OAuthClient
    private let http: HTTPClient
    private let refreshToken: Secret
    private var current: OAuthTokens
    private(set) var refreshes = 0

    init(client: OAuthClient, tokens: OAuthTokens, http: HTTPClient) {
        self.client = client
        self.http = http
        self.refreshToken = tokens.refreshToken ?? Secret("")
        self.current = tokens
    }

    func accessToken(forceRefresh: Bool) async throws(TransportError) -> Secret {
        if !forceRefresh && current.expiresAt > Date().addingTimeInterval(60) { return current.accessToken }
        do {
            current = try await client.refresh(refreshToken, http: http)
        } catch {
            throw error.transportError
        }
        refreshes += 1
        return current.accessToken
    }
}

actor SleepRecorder {
    private(set) var all: [Double] = []
    func record(_ seconds: Double) { all.append(seconds) }
}

struct FixedToken: AccessTokenSource {
    func accessToken(forceRefresh: Bool) async throws(TransportError) -> Secret { Secret("ya29.fixed") }
}

/// A loopback server that reads each whole request, notes its request line, and hangs up without answering.
final class HangUpServer: @unchecked Sendable {
    // @unchecked: `process` and `directory` are set once; Process is thread-safe for these calls.
    private let process = Process()
    private let directory: URL
    let port: Int

    private static let script = """
        import os, re, socket, sys
        d = sys.argv[1]
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
        open(os.path.join(d, "port.tmp"), "w").write(str(s.getsockname()[1])); os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
        while True:
            c, _ = s.accept(); data = b""
            while b"\\r\\n\\r\\n" not in data:
                chunk = c.recv(65536)
                if not chunk: break
                data += chunk
            head, _, body = data.partition(b"\\r\\n\\r\\n")
            m = re.search(rb"(?i)content-length: *(\\d+)", head)
            while m and len(body) < int(m.group(1)):
                chunk = c.recv(65536)
                if not chunk: break
                body += chunk
            if head:
                with open(os.path.join(d, "requests"), "a") as f: f.write(" ".join(head.split(b"\\r\\n")[0].decode().split(" ")[:2]) + "\\n")
            c.close()
        """

    init() throws {
        try RequiredTool.check("/usr/bin/python3", package: "python3")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-hangup-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, directory.path]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        var port: Int?
        while port == nil && Date() < deadline {
            port = (try? String(contentsOf: directory.appendingPathComponent("port"), encoding: .utf8)).flatMap { Int($0) }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            kill(process.processIdentifier, SIGKILL)
            throw HarnessError("the hang-up server did not start")
        }
        self.port = port
    }

    /// "METHOD /path" of each request received, in order.
    var requests: [String] {
        ((try? String(contentsOf: directory.appendingPathComponent("requests"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// SIGKILL: a child started from a test thread inherits its blocked signals, SIGTERM included.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
