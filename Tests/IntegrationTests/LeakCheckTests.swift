import Foundation
import Testing

@Suite("Memory ownership of the C bridges", .timeLimit(.minutes(10)))
struct LeakCheckTests {
    /// Runs BridgeExercise (IMAP connect/login/list/examine/fetch/logout, SMTP sends, and the failure paths) under
    /// valgrind and fails on any block definitely lost with one of our frames on its allocation stack.
    @Test("valgrind finds no leak from our code over an IMAP cycle and SMTP sends")
    func noLeaks() async throws {
        try RequiredTool.check("/usr/bin/valgrind", package: "valgrind")
        let servers = try MailServers()
        defer { servers.stop() }
        let exercise = try BuiltProducts.path("BridgeExercise")
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("valgrind-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: logFile) }

        // Two minutes under valgrind, waited for on a thread of its own: on the cooperative pool (two threads here) it
        // would hold one of them that long, and other suites' tests — OAuth listeners with timeouts — would starve.
        let stateFile = servers.state.dir + "/state.json"
        let result = try await offThePool { try CommandRunner.run(
            "/usr/bin/valgrind",
            [
                "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite", "--error-exitcode=42",
                "--num-callers=60", "--log-file=\(logFile)", exercise,
             stateFile,
            ],
            timeout: 540
        ) }
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        // 42: valgrind saw an invalid read or write, a use of uninitialised memory, or a definite leak.
        #expect(result.status != 42, "valgrind reported memory errors:\n\(log.suffix(6000))")
        #expect(result.status == 0, "BridgeExercise failed under valgrind:\n\(result.output)\n\(log.suffix(4000))")
        #expect(result.stdout.contains("bridge exercise complete"))
        #expect(log.contains("LEAK SUMMARY") || log.contains("All heap blocks were freed"), "valgrind wrote no leak report:\n\(log.suffix(2000))")

        let ours = LeakReport(valgrindLog: log).definitelyLost.filter { record in
            record.contains("Outreach") || record.contains("BridgeExercise")
        }
        #expect(ours.isEmpty, "definitely lost blocks allocated through our code:\n\(ours.joined(separator: "\n\n"))")
    }
}

/// The loss records of a valgrind memcheck log.
struct LeakReport {
    let definitelyLost: [String]

    init(valgrindLog: String) {
        var records: [String] = []
        var current: [String]?
        for line in valgrindLog.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = line.replacingOccurrences(of: #"^==\d+== ?"#, with: "", options: .regularExpression)
            if text.contains("are definitely lost in loss record") {
                current = [text]
            } else if current != nil {
                if text.trimmingCharacters(in: .whitespaces).isEmpty {
                    records.append(current!.joined(separator: "\n"))
                    current = nil
                } else {
                    current!.append(text)
                }
            }
        }
        if let current { records.append(current.joined(separator: "\n")) }
        definitelyLost = records
    }
}
