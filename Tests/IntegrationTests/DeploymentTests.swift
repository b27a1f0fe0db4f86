import Foundation
import OutreachCore
import OutreachStore
import Testing

/// How Outreach is deployed: docker/compose.yaml against the Compose Specification and the CLI it runs, and the
/// processes compose starts — web, worker and sync each alone on one database — working together.
/// No Docker engine runs on these machines, so no image is built here (README "Run with Docker" says so).
@Suite("Deployment", .serialized, .timeLimit(.minutes(3)))
struct DeploymentTests {
    static let root = BrowserTests.repositoryRoot
    static var compose: String { root.appendingPathComponent("docker/compose.yaml").path }
    static var dockerfile: String { root.appendingPathComponent("docker/Dockerfile").path }

    static func venvTool(_ name: String) throws -> String {
        let path = root.appendingPathComponent(".venv-test/bin/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) is missing: run `scripts/install-deps --test` (it installs conf/python-test-requirements.txt)")
        }
        return path
    }

    @Test("docker/compose.yaml is valid under the Compose Specification's JSON schema")
    func composeFollowsTheSpecification() throws {
        let check = try CommandRunner.run(try Self.venvTool("check-jsonschema"), ["--builtin-schema", "vendor.compose-spec", Self.compose], timeout: 60)
        #expect(check.status == 0, "\(check.output)")
    }

    @Test("every command compose and the Dockerfile run exists in the CLI with every option they pass; the image runs as a non-root user with a healthcheck")
    func composeRunsRealCommands() throws {
        // compose.yaml read by a YAML parser (anchors and merge keys resolved), each service's command and healthcheck.
        let reader = """
            import json, sys
            from ruamel.yaml import YAML
            doc = YAML(typ="safe").load(open(sys.argv[1]))
            out = {}
            for name, service in doc["services"].items():
                commands = [service.get("command") or []]
                test = (service.get("healthcheck") or {}).get("test")
                if test and test[0] == "CMD" and test[1] == "outreach":
                    commands.append(test[2:])
                out[name] = commands
            print(json.dumps(out))
            """
        let read = try CommandRunner.run(try Self.venvTool("python"), ["-c", reader, Self.compose], timeout: 30)
        #expect(read.status == 0, "\(read.output)")
        var commands = try JSONDecoder().decode([String: [[String]]].self, from: Data(read.stdout.utf8)).flatMap { $0.value }.filter { !$0.isEmpty }
        let dockerfile = try String(contentsOfFile: Self.dockerfile, encoding: .utf8)
        for directive in ["CMD", "HEALTHCHECK"] {
            let line = try #require(dockerfile.split(separator: "\n").first { $0.hasPrefix(directive + " ") }, "the Dockerfile has a \(directive)")
            let json = String(line[line.firstIndex(of: "[")!...])
            var words = try JSONDecoder().decode([String].self, from: Data(json.utf8))
            if words.first == "outreach" { words.removeFirst() }
            commands.append(words)
        }
        #expect(commands.count >= 6, "\(commands)")
        let binary = try BuiltProducts.path("outreach")
        for command in commands {
            // The subcommand path is the words before the first option; each option must be in that command's help.
            let path = command.prefix { !$0.hasPrefix("-") }
            let help = try CommandRunner.run(binary, Array(path) + ["--help"], timeout: 30)
            #expect(help.status == 0 && help.stdout.contains("USAGE: outreach \(path.joined(separator: " "))"), "outreach \(path.joined(separator: " ")): \(help.output)")
            for option in command where option.hasPrefix("--") {
                #expect(help.stdout.contains(option), "outreach \(path.joined(separator: " ")) has no \(option):\n\(help.stdout)")
            }
        }
        #expect(dockerfile.contains("FROM swift:6.3"), "built with the toolchain Package.swift needs")
        #expect(dockerfile.split(separator: "\n").contains { $0.hasPrefix("USER ") && !$0.hasSuffix("root") }, "runs as a non-root user")
    }

    @Test("serve --no-worker --no-sync, a worker and sync --watch run side by side on one database: the worker alone runs the job; health answers")
    func splitProcesses() async throws {
        let prospects = JobTests.prospects(3)
        let servers = try MailServers(users: [JobTests.sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: JobTests.sender, servers: servers)
        let template = try JobTests.campaign("D", prospects.map(\.email), in: cli)

        let serve = try cli.startCommand(["serve", "--port", "0", "--host", "127.0.0.1", "--no-worker", "--no-sync"])
        defer { serve.stop() }
        let sync = try cli.startCommand(["sync", "--watch", "--every", "2s"])
        defer { sync.stop() }
        let base = try await BrowserTests.waitUntilListening(serve)
        let healthy = try cli.run(["health", "--url", base + "/healthz"])
        #expect(healthy.status == 0 && healthy.stdout.hasPrefix("ok: database"), "\(healthy.output)")

        // No worker anywhere yet: the job waits, because serve runs none.
        try cli.expectSuccess(["send", "D", "--template", template])
        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        try await Task.sleep(for: .seconds(2))
        #expect(try await database.jobs.job(id: 1)?.state == .pending, "serve --no-worker ran the job")
        let worker = try cli.startWorker()
        defer { worker.stop() }
        let job = try await JobTests.wait(for: 1, in: database, "completed") { $0.state.isFinal }
        #expect(job.state == .completed && job.counters.sent == 3, "\(job.state) \(job.note ?? "")")
        #expect(sync.isRunning && sync.output.contains("messages indexed"), "sync --watch keeps syncing:\n\(sync.output)")

        serve.stop()
        let down = try cli.run(["health", "--url", base + "/healthz", "--timeout", "2"])
        #expect(down.status != 0 && !down.output.contains("USAGE"), "\(down.output)")
        let noDatabase = try cli.run(["health", "--db", cli.directory + "/missing.db"])
        #expect(noDatabase.status != 0 && noDatabase.stderr.contains("run `outreach init` first"), "\(noDatabase.output)")
    }
}
