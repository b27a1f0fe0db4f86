import Foundation
import OutreachCore
import OutreachStore
import Testing

/// `outreach serve` as an operator runs it with LOG_FORMAT=json: its sync timer indexes new mail by itself, and its
/// log is one JSON object per line with the lock, the job and every row's outcome.
@Suite("serve: sync timer and JSON logs", .timeLimit(.minutes(5)))
struct ServeLogTests {
    static let sender = (email: "sales@example.test", password: "sales-pw")

    @Test("the sync timer indexes a message that arrives while serve runs; LOG_FORMAT=json logs the lock, the job and each row at info, one object per line")
    func syncTimerAndJSONLogs() async throws {
        let prospects = JobTests.prospects(2)
        let servers = try MailServers(users: [Self.sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--guard", "0"])
        let template = try JobTests.campaign("L", prospects.map(\.email), in: cli)
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let account = try #require(try await database.accounts.account(email: Self.sender.email))

        let serve = try cli.startServe(extraEnvironment: ["LOG_FORMAT": "json", "LOG_LEVEL": "info", "OUTREACH_SYNC_EVERY": "10s"])
        defer { serve.stop() }
        _ = try await BrowserTests.waitUntilListening(serve, timeout: 90)
        // The timer's first pass runs at start; a message that arrives after it is indexed by a later pass.
        try await FaultTests.waitUntil("the first timed sync", timeout: 60) { try await database.syncStatus.statuses()[account.id!] != nil }
        let before = try await database.threads.messageCount(accountID: account.id!)
        try servers.deliver(
            "From: someone@example.org\r\nTo: \(Self.sender.email)\r\nSubject: Hi\r\nMessage-ID: <timer-1@example.org>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n",
            from: "someone@example.org", to: Self.sender.email
        )
        try await FaultTests.waitUntil("the timer to index the new message", timeout: 60) {
            try await database.threads.messageCount(accountID: account.id!) > before
        }

        // A job the worker inside serve runs.
        try cli.expectSuccess(["send", "L", "--template", template])
        _ = try await JobTests.wait(for: 1, in: database, timeout: 60, "completed") { $0.state.isFinal }
        serve.stop()

        // Every line the process wrote is a JSON object (the one "listening" line on standard output aside).
        var records: [[String: Any]] = []
        for line in serve.output.split(separator: "\n") where !line.hasPrefix("Outreach is listening on ") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let record = try #require(object, "not a JSON object: \(line)")
            #expect(record["time"] is String && record["level"] is String && record["message"] is String, "\(line)")
            records.append(record)
        }
        func find(_ message: String, _ where: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
            records.first { ($0["message"] as? String)?.contains(message) == true && `where`($0) }
        }
        #expect(find("synced") { $0["account.email"] as? String == Self.sender.email && $0["level"] as? String == "info" } != nil, "\(serve.output)")
        let acquired = find("account lock acquired")
        #expect(acquired?["job"] as? String == "#1" && acquired?["round"] as? String == "1", "\(serve.output)")
        #expect(find("account lock released") { $0["job.state"] as? String == "completed" } != nil, "\(serve.output)")
        for row in ["1", "2"] {
            #expect(find("SENT") { $0["row"] as? String == row && $0["job"] as? String == "#1" } != nil, "row \(row):\n\(serve.output)")
        }
    }

    @Test("an unknown LOG_FORMAT is refused, naming the two there are")
    func unknownFormat() throws {
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let result = try cli.run(["init"], extraEnvironment: ["LOG_FORMAT": "xml"])
        #expect(result.status != 0 && result.stderr.contains("LOG_FORMAT=xml is not a log format: use text (the default) or json"), "\(result.output)")
    }
}
