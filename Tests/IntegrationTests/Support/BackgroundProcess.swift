import Foundation

/// A long-running program (an `outreach worker`) started by a test, with its output in files, that the test can kill
/// outright (SIGKILL, as a crash) or stop politely (SIGTERM).
final class BackgroundProcess: @unchecked Sendable {
    // @unchecked: the test drives it from one task; Process itself is thread-safe for these calls.
    private let process = Process()
    private let outputURL: URL

    init(_ executable: String, _ arguments: [String], environment: [String: String], workingDirectory: String) throws {
        outputURL = URL(fileURLWithPath: workingDirectory).appendingPathComponent("bg-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputURL)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
    }

    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }

    /// SIGKILL: the process gets no chance to clean up, as in a crash or an OOM kill.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL if it has not ended within `grace` seconds.
    func stop(grace: TimeInterval = 10) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        kill()
    }

    /// Waits for the program to end by itself. - Returns: its exit status, or nil if it still runs at the deadline.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit { kill() }
}

extension OutreachSandbox {
    /// Starts `outreach worker` on this sandbox's database, polling for due jobs ten times a second.
    /// - Parameter launcher: a program and its arguments that run the worker (`ip netns exec NAME`), if any.
    func startWorker(extraEnvironment: [String: String] = [:], launcher: [String] = []) throws -> BackgroundProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["OUTREACH_DB"] = nil
        environment["OUTREACH_MASTER_KEY"] = nil
        environment["OUTREACH_WORKER_POLL"] = "100ms"
        environment.merge(extraEnvironment) { $1 }
        let command = launcher + [binary, "worker"]
        return try BackgroundProcess(command[0], Array(command.dropFirst()), environment: environment, workingDirectory: directory)
    }
}
