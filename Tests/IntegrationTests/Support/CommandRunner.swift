import Foundation

/// Runs a program to completion with its output captured in files (never the test runner's own descriptors, so a
/// stray child cannot hold CI's output open), with a deadline after which it is killed.
enum CommandRunner {
    struct Result: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String
        var output: String { stdout + stderr }
    }

    static func run(
        _ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil,
        workingDirectory: String? = nil, timeout: TimeInterval = 120
    ) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((stdin ?? "").utf8))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        let started = Date()
        try process.run()
        defer { if ProcessInfo.processInfo.environment["OUTREACH_TEST_TRACE"] != nil { FileHandle.standardError.write(Data("[\(String(format: "%.2f", Date().timeIntervalSince(started)))s] \(executable) \(arguments.prefix(3).joined(separator: " "))\n".utf8)) } }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            usleep(500_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
            throw HarnessError("\(executable) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s; output so far:\n\(out)")
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        )
    }
}

/// The binaries SwiftPM built next to the test bundle.
enum BuiltProducts {
    static var directory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    static func path(_ name: String) throws -> String {
        let candidates = [directory, directory.deletingLastPathComponent()].map { $0.appendingPathComponent(name).path }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("the \(name) binary was not found next to the tests (\(directory.path)); run `swift build` first")
        }
        return found
    }
}

/// A scratch folder for one `outreach` session: its own database, key file and no `.env`.
struct OutreachSandbox {
    let directory: String
    let binary: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-cli-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        binary = try BuiltProducts.path("outreach")
    }

    var databasePath: String { directory + "/outreach.db" }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, extraEnvironment: [String: String] = [:]) throws -> CommandRunner.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["OUTREACH_DB"] = nil
        environment["OUTREACH_MASTER_KEY"] = nil
        environment.merge(extraEnvironment) { $1 }
        return try CommandRunner.run(binary, arguments, stdin: stdin, environment: environment, workingDirectory: directory, timeout: 120)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// `outreach init`, then `sender` as an account on the test servers (STARTTLS submission, implicit-TLS IMAP),
    /// sending without a pause between messages.
    /// - Parameter environment: for every command (`OUTREACH_DB` elsewhere, `LOG_LEVEL`, …).
    func initialize(sender: (email: String, password: String), servers: MailServers, name: String? = nil, environment: [String: String] = [:]) throws {
        try expectSuccess(["init"], environment: environment)
        try expectSuccess(
            ["account", "add", sender.email, "--smtp", servers.smtpURL, "--imap", servers.imapsURL, "--ca-file", servers.caFile, "--password-stdin"]
                + (name.map { ["--name", $0] } ?? []), stdin: sender.password, environment: environment
        )
        try expectSuccess(["account", "set", sender.email, "--delay", "0", "--jitter", "0"], environment: environment)
    }

    /// Runs a command that must succeed; its output is in the error otherwise.
    @discardableResult
    func expectSuccess(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> CommandRunner.Result {
        let result = try run(arguments, stdin: stdin, extraEnvironment: environment)
        guard result.status == 0 else { throw HarnessError("outreach \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.output)") }
        return result
    }
}
