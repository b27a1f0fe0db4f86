import Foundation
import Logging
import OutreachTransport

/// The loopback fake of the Gmail API and Google's OAuth endpoints (Fixtures/gmail/fake_gmail.py), started detached
/// with its output in its state folder, and its test controls (/__faults, /__deliver, /__state, /__violations).
struct FakeGmailServer {
    let directory: String
    let apiBase: String
    let tokenURL: String
    let authURL: String
    let clientID: String
    let clientSecret: String

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/gmail/fake_gmail.py").path
    }

    static func start(options: [String] = []) throws -> FakeGmailServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-gmail-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let result = try CommandRunner.run("/usr/bin/python3", [script, "start", directory] + options, timeout: 30)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").last,
            let info = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let apiBase = info["apiBase"] as? String, let tokenURL = info["tokenURL"] as? String, let authURL = info["authURL"] as? String,
            let clientID = info["clientId"] as? String, let clientSecret = info["clientSecret"] as? String
        else { throw HarnessError("the fake Gmail server did not start:\n\(result.output)") }
        return FakeGmailServer(directory: directory, apiBase: apiBase, tokenURL: tokenURL, authURL: authURL, clientID: clientID, clientSecret: clientSecret)
    }

    func stop() {
        _ = try? CommandRunner.run("/usr/bin/python3", [Self.script, "stop", directory], timeout: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The environment that points `outreach` at this server instead of Google.
    var environment: [String: String] {
        [
            "OUTREACH_GMAIL_API_BASE": apiBase, "OUTREACH_OAUTH_AUTH_URL": authURL, "OUTREACH_OAUTH_TOKEN_URL": tokenURL, "GMAIL_CLIENT_ID": clientID,
            "GMAIL_CLIENT_SECRET": clientSecret,
        ]
    }

    @discardableResult
    func control(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let http = HTTPClient(label: "fake gmail controls", logger: Logger(label: "test"))
        defer { Task { await http.close() } }
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let response = try await http.send(
            HTTPRequest(
                method: method, url: apiBase + path, headers: body == nil ? [] : [(name: "Content-Type", value: "application/json")],
                body: data.map { Array($0) }
            )
        )
        guard response.status == 200, let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw HarnessError("\(method) \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return object
    }

    func faults(_ faults: [String: Any]) async throws { try await control("POST", "/__faults", faults) }

    /// Adds a received message to `to`'s mailbox, threaded as Gmail would (or into `threadID`).
    @discardableResult
    func deliver(to: String, raw: String, threadID: String? = nil) async throws -> [String: Any] {
        var body: [String: Any] = ["to": to, "raw": raw]
        if let threadID { body["threadId"] = threadID }
        return try await control("POST", "/__deliver", body)
    }

    func state() async throws -> [String: Any] { try await control("GET", "/__state") }

    /// The requests the server recorded (every API, /auth and /token call), oldest first.
    func requests() async throws -> [[String: Any]] { (try await state()["requests"] as? [[String: Any]]) ?? [] }

    /// Every request the discovery document does not allow, and every mistake at /auth or /token.
    func violations() async throws -> [[String: Any]] { (try await control("GET", "/__violations")["violations"] as? [[String: Any]]) ?? [] }

    /// One mailbox's messages as the fake keeps them.
    func messages(of user: String) async throws -> [[String: Any]] {
        let users = try await state()["users"] as? [String: Any]
        return ((users?[user] as? [String: Any])?["messages"] as? [[String: Any]]) ?? []
    }
}
