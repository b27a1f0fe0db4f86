import Foundation
import Testing

/// A private Dovecot (IMAP, IMAPS, LMTP) and an SMTP submission server that delivers into it, on free loopback
/// ports in a temporary folder, with TLS from a CA made for this run. `Fixtures/mailservers.py` does the work;
/// this type starts it, reads what it reports, and stops everything again.
final class MailServers: @unchecked Sendable {
    // @unchecked: all properties are immutable after init; stop() is idempotent through the file system.

    struct User: Decodable, Sendable {
        let email: String
        let password: String
    }

    struct State: Decodable, Sendable {
        let dir: String
        let caFile: String
        let otherCAFile: String
        let serverCertHost: String?
        let imapPort: Int
        let imapsPort: Int
        let lmtpPort: Int
        let smtpPort: Int
        let smtpsPort: Int
        let users: [User]
    }

    let state: State
    private let directory: URL

    var caFile: String { state.caFile }
    var otherCAFile: String { state.otherCAFile }
    var alice: User { state.users[0] }
    var bob: User { state.users[1] }
    var smtpURL: String { "smtp://127.0.0.1:\(state.smtpPort)" }
    var smtpsURL: String { "smtps://127.0.0.1:\(state.smtpsPort)" }
    var imapURL: String { "imap://127.0.0.1:\(state.imapPort)" }
    var imapsURL: String { "imaps://127.0.0.1:\(state.imapsPort)" }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/mailservers.py").path
    }

    /// - Parameters:
    ///   - certificateHost: issue the server certificate for this name only, instead of localhost/127.0.0.1.
    ///   - users: mailboxes to create (default: alice and bob); the first is the usual sender.
    ///   - fileSent: the SMTP relay files a copy of what it accepts in the sender's Sent folder, as Gmail's does.
    ///   - latencyMilliseconds: the relay waits this long before answering each final dot, as a real server does.
    ///   - oauthTokenInfoURL: also accept OAuth access tokens (IMAP AUTH=XOAUTH2 through Dovecot's oauth2 passdb, SMTP
    ///     AUTH XOAUTH2), each checked at this Google-style tokeninfo URL (the fake Gmail's `/tokeninfo`). Passwords still work.
    ///   - alsoListen: IMAP(S) and SMTP(S) also listen on this address of the machine (same ports; the certificate names
    ///     it too), for clients in other network namespaces.
    init(
        certificateHost: String? = nil, users: [(email: String, password: String)]? = nil, fileSent: Bool = false, latencyMilliseconds: Int = 0,
        oauthTokenInfoURL: String? = nil, alsoListen: String? = nil
    ) throws {
        try RequiredTool.check("/usr/bin/python3", package: "python3")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-mail-\(UUID().uuidString.prefix(8))")
        var arguments = [Self.script, "start", directory.path]
        if let certificateHost { arguments += ["--cert-host", certificateHost] }
        if let users { arguments += ["--users", users.map { "\($0.email):\($0.password)" }.joined(separator: ",")] }
        if fileSent { arguments.append("--file-sent") }
        if latencyMilliseconds > 0 { arguments += ["--latency", String(latencyMilliseconds)] }
        if let oauthTokenInfoURL { arguments += ["--oauth-tokeninfo", oauthTokenInfoURL] }
        if let alsoListen { arguments += ["--also-listen", alsoListen] }
        let result = try CommandRunner.run("/usr/bin/python3", arguments, timeout: 60)
        guard result.status == 0 else {
            _ = try? CommandRunner.run("/usr/bin/python3", [Self.script, "stop", directory.path], timeout: 30)
            throw HarnessError("the test mail servers did not start (exit \(result.status)):\n\(result.stderr)")
        }
        state = try JSONDecoder().decode(State.self, from: Data(result.stdout.utf8))
    }

    /// Delivers raw message bytes into a user's INBOX over LMTP, as another mail client's message would arrive.
    func deliver(_ message: String, from sender: String, to recipient: String) throws {
        let result = try CommandRunner.run(
            "/usr/bin/python3", [Self.script, "deliver", directory.path, "--from", sender, "--to", recipient, "-"], stdin: message, timeout: 90
        )
        guard result.status == 0 else { throw HarnessError("LMTP delivery failed: \(result.stderr)") }
    }

    /// Every message of these users' folders, read by Python's strict email parser (`Fixtures/inspect_maildir.py`).
    func mailboxes(of users: [String]) throws -> [String: [String: [MaildirMessage]]] {
        let script = URL(fileURLWithPath: Self.script).deletingLastPathComponent().appendingPathComponent("inspect_maildir.py").path
        let result = try CommandRunner.run("/usr/bin/python3", [script, state.dir + "/mail"] + users, timeout: 60)
        guard result.status == 0 else { throw HarnessError("inspect_maildir.py failed: \(result.stderr)") }
        return try JSONDecoder().decode([String: [String: [MaildirMessage]]].self, from: Data(result.stdout.utf8))
    }

    /// Makes the SMTP relay answer every new connection with this greeting and hang up (nil: greet normally again).
    func failGreeting(_ line: String?) throws {
        let arguments = [Self.script, "fault", directory.path] + (line.map { ["--greeting", $0] } ?? ["--clear"])
        let result = try CommandRunner.run("/usr/bin/python3", arguments, timeout: 30)
        guard result.status == 0 else { throw HarnessError("mailservers.py fault failed: \(result.stderr)") }
    }

    /// The SMTP relay's log: which faults it injected, what it delivered.
    var relayLog: String { (try? String(contentsOfFile: directory.path + "/smtp-relay.log", encoding: .utf8)) ?? "" }

    /// Kills the SMTP relay at once (SIGKILL, from this process: no interpreter to start first), as in a crash.
    func killRelay() throws {
        let text = try String(contentsOfFile: directory.path + "/smtp-relay.pid", encoding: .utf8)
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, SIGKILL) == 0 else {
            throw HarnessError("the relay could not be killed (pid file: \(text))")
        }
    }

    /// Kills the SMTP relay unless ``killRelay()`` did (open connections are cut, as in a crash), keeps its ports
    /// closed for `seconds`, then starts it again and returns once it greets.
    func relayOutage(seconds: Double) throws {
        let result = try CommandRunner.run("/usr/bin/python3", [Self.script, "relay-outage", directory.path, "--seconds", String(seconds)], timeout: 60)
        guard result.status == 0 else { throw HarnessError("the relay outage failed: \(result.stderr)") }
    }

    func stop() {
        _ = try? CommandRunner.run("/usr/bin/python3", [Self.script, "stop", directory.path], timeout: 30)
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}

/// One stored message as an independent parser (Python's email package, strict policy) reads it.
struct MaildirMessage: Decodable, Sendable {
    let messageId: String?
    let from: String?
    let to: String?
    let subject: String?
    /// In-Reply-To and References as written (unfolded), angle brackets included.
    let inReplyTo: String?
    let references: String?
    let contentType: String?
    let text: String?
    let html: String?
    let flags: String?
    let defects: [String]
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A test that needs a program fails with the Debian package to install, instead of skipping quietly.
enum RequiredTool {
    static func check(_ path: String, package: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) is missing: install it with `apt-get install \(package)`")
        }
    }
}
