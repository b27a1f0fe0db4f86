import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL 15 server (Debian's `postgresql` package) for one test: its own cluster in a temporary
/// folder, run as an unprivileged user, listening on a free loopback port and on a Unix socket in that folder.
/// The server's output goes to `server.log` in the folder, never to the test's output.
///
/// The server ends, and its folder is removed, when ``stop()`` runs (``withServer(_:)`` runs it however the body
/// ends) or when the test process ends in any other way: a supervising shell waits for the end of a socket that only
/// the test process holds, so not even a crashed or killed test run leaves a server behind.
public final class PostgresServer: @unchecked Sendable {
    // @unchecked: every stored property is immutable but `stopped`, which only `lock` guards.

    public static let user = "outreach"
    public static let password = "outreach-test-password"

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The server's folder: the cluster (`data`), its Unix socket and `server.log`.
    public let directory: URL
    private let supervisor: Process
    private let supervisorSocket: Int32
    private let lock = NSLock()
    private var stopped = false

    /// Where Debian puts PostgreSQL 15's programs.
    static let binaries = "/usr/lib/postgresql/15/bin"

    /// A `postgres://` URL for `database` on this server, with the test user's password.
    public func url(database: String) -> String { "postgres://\(Self.user):\(Self.password)@127.0.0.1:\(port)/\(database)" }

    /// Starts a server, runs `body`, and stops the server again whether `body` returns or throws.
    public static func withServer<T>(_ body: (PostgresServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.stopInBackground()
            return result
        } catch {
            await server.stopInBackground()
            throw error
        }
    }

    /// Starts a server and waits until it accepts connections. Blocking work (copying the cluster, waiting for the
    /// server) runs on a thread of its own, off the cooperative pool that other tests' servers need.
    /// - Parameter alsoListen: another address of this machine to listen on too, and the clients (a CIDR range) that
    ///   may sign in over it with the test user's password: for workers in other network namespaces.
    public static func start(alsoListen: (address: String, clients: String)? = nil) async throws -> PostgresServer {
        try await offPool { try PostgresServer(alsoListen: alsoListen) }
    }

    /// Creates an empty database owned by the test user and returns its `postgres://` URL.
    public func createDatabase(_ name: String) async throws -> String {
        let socket = directory.path
        let result = try await Self.offPool {
            try Self.run("\(Self.binaries)/createdb", ["-h", socket, "-p", String(self.port), "-U", Self.user, name], logTo: self.directory)
        }
        guard result == 0 else { throw PostgresServerError("createdb \(name) failed (exit \(result)); see \(directory.path)/server.log") }
        return url(database: name)
    }

    /// The server's log so far, for a failing test's message.
    public var log: String { (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    private init(alsoListen: (address: String, clients: String)?) throws {
        for program in ["initdb", "postgres", "pg_isready", "createdb"] where !FileManager.default.isExecutableFile(atPath: "\(Self.binaries)/\(program)") {
            throw PostgresServerError("\(Self.binaries)/\(program) is missing: install PostgreSQL 15 with `apt-get install postgresql`")
        }
        let template = try Template.shared.get()
        var lastLog = ""
        // A free port may be taken between choosing it and the server binding it: then try another.
        for _ in 0..<3 {
            let directory = try Self.makeFolder(prefix: "outreach-pg")
            let data = directory.appendingPathComponent("data")
            guard try Self.run("/bin/cp", ["-a", template.appendingPathComponent("data").path, data.path], logTo: directory) == 0 else {
                try? FileManager.default.removeItem(at: directory)
                throw PostgresServerError("could not copy the test cluster from \(template.path)")
            }
            if let alsoListen {
                let rules = try FileHandle(forWritingTo: data.appendingPathComponent("pg_hba.conf"))
                rules.seekToEndOfFile()
                rules.write(Data("host all all \(alsoListen.clients) scram-sha-256\n".utf8))
                try rules.close()
            }
            try Self.handOver(directory)
            let port = try Self.freePort()
            let addresses = ["127.0.0.1"] + (alsoListen.map { [$0.address] } ?? [])
            let postgres = Self.unprivileged + [
                "\(Self.binaries)/postgres", "-D", data.path, "-p", String(port), "-c", "listen_addresses=\(addresses.joined(separator: ","))",
                "-c", "unix_socket_directories=\(directory.path)", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=100", "-c", "shared_buffers=16MB",
            ]
            // The shell stops the server (fast shutdown, then SIGKILL) and removes the folder once its standard input
            // ends: when stop() closes its socket, or when the test process is gone.
            let script = """
                dir=$1; shift
                "$@" </dev/null >>"$dir/server.log" 2>&1 &
                pid=$!
                cat >/dev/null
                kill -INT "$pid" 2>/dev/null
                i=0
                while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 150 ]; do sleep 0.1; i=$((i+1)); done
                kill -KILL "$pid" 2>/dev/null
                wait "$pid"
                rm -rf "$dir"
                """
            let (process, socket) = try Self.supervise(["/bin/sh", "-c", script, "sh", directory.path] + postgres, directory: directory)
            let failure = Self.waitUntilReady(port: port, supervisor: process, directory: directory)
            if failure == nil {
                self.port = port
                self.directory = directory
                self.supervisor = process
                self.supervisorSocket = socket
                return
            }
            lastLog = (failure ?? "") + "; its log:\n" + ((try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "")
            close(socket)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: directory)
            if !lastLog.contains("could not bind") && !lastLog.contains("could not create any TCP/IP sockets") { break }
        }
        throw PostgresServerError("the test PostgreSQL server did not start: \(lastLog)")
    }

    /// Stops the server (fast shutdown) and removes its folder. Safe to call more than once.
    public func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        guard !already else { return }
        close(supervisorSocket)
        let deadline = Date().addingTimeInterval(30)
        while supervisor.isRunning && Date() < deadline { usleep(20_000) }
        if supervisor.isRunning {
            // The shell did not finish: kill the postmaster by the pid it recorded, then the shell.
            if let text = try? String(contentsOf: directory.appendingPathComponent("data/postmaster.pid"), encoding: .utf8),
                let pid = Int32(text.split(separator: "\n").first ?? "")
            {
                kill(pid, SIGKILL)
            }
            kill(supervisor.processIdentifier, SIGKILL)
            supervisor.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private func stopInBackground() async {
        _ = try? await Self.offPool { self.stop() }
    }

    deinit { stop() }

    // MARK: - Helpers

    /// Runs `body` on a thread of its own and waits for it without holding a cooperative thread (also for tests that
    /// call a store's blocking functions, which must not run on the pool).
    public static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }

    /// PostgreSQL refuses to run as root: as root (the usual case in CI), the server runs as the `postgres` user
    /// Debian's package creates. Otherwise it runs as whoever runs the tests.
    static var unprivileged: [String] {
        guard getuid() == 0, let account = getpwnam("postgres") else { return [] }
        return ["/usr/bin/setpriv", "--reuid=\(account.pointee.pw_uid)", "--regid=\(account.pointee.pw_gid)", "--clear-groups", "--"]
    }

    /// Gives the folder to the user the server runs as.
    static func handOver(_ directory: URL) throws {
        guard getuid() == 0, let account = getpwnam("postgres") else { return }
        let result = try run("/bin/chown", ["-R", "\(account.pointee.pw_uid):\(account.pointee.pw_gid)", directory.path], logTo: directory)
        guard result == 0 else { throw PostgresServerError("could not give \(directory.path) to the postgres user") }
    }

    /// A new folder under /tmp (which every user may pass through, unlike a root-only TMPDIR).
    static func makeFolder(prefix: String) throws -> URL {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        return directory
    }

    /// A port on 127.0.0.1 that nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresServerError("socket() failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PostgresServerError("no free port on 127.0.0.1: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a program to its end with its output appended to the folder's `server.log`; returns its exit status.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], logTo directory: URL) throws -> Int32 {
        let log = directory.appendingPathComponent("server.log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Starts `arguments` with its standard input on a new socket whose other end only this process holds
    /// (close-on-exec, so no other child inherits it); output goes to the folder's `server.log`.
    static func supervise(_ arguments: [String], directory: URL) throws -> (Process, Int32) {
        // A socket pair rather than pipe(2): it is made close-on-exec in one step (Glibc's pipe2 is not visible to
        // Swift), so a process another test starts meanwhile cannot inherit this end and keep the server alive.
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw PostgresServerError("socketpair failed: \(String(cString: strerror(errno)))")
        }
        let log = directory.appendingPathComponent("server.log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        let readEnd = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = directory
        process.standardInput = readEnd
        process.standardOutput = handle
        process.standardError = handle
        do { try process.run() } catch {
            close(fds[1])
            throw error
        }
        try? readEnd.close()
        return (process, fds[1])
    }

    /// Waits (up to 120 s: a busy two-core machine may take a minute) until the server accepts connections.
    /// - Returns: nil once it does, else why not (it ended, it logged a fatal error, or time ran out).
    static func waitUntilReady(port: Int, supervisor: Process, directory: URL) -> String? {
        let started = Date()
        while Date().timeIntervalSince(started) < 120 {
            guard supervisor.isRunning else { return "its supervising shell ended (status \(supervisor.terminationStatus))" }
            // A connection tried while the server starts is logged as FATAL too ("the database system is starting up").
            let log = (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
            if log.contains("could not bind") { return "its port was taken" }
            if log.split(separator: "\n").contains(where: { ($0.contains("FATAL") || $0.contains("PANIC")) && !$0.contains("starting up") }) {
                return "it logged a fatal error"
            }
            let status = try? run("\(binaries)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-t", "2"], logTo: directory)
            if status == 0 { return nil }
            usleep(100_000)
        }
        return "it did not accept connections within \(Int(Date().timeIntervalSince(started))) s"
    }

    /// One initialized cluster per test process, copied for each server: `initdb` takes several seconds on a busy
    /// machine, a copy a fraction of that. Its folder goes when the test process ends, by the same socket trick.
    final class Template: @unchecked Sendable {
        // @unchecked: `result` is written once, under `lock`.
        static let shared = Template()
        private let lock = NSLock()
        private var result: Result<URL, any Error>?
        private var keeper: (Process, Int32)?

        func get() throws -> URL {
            lock.lock()
            defer { lock.unlock() }
            if let result { return try result.get() }
            let made = Result { try make() }
            result = made
            return try made.get()
        }

        private func make() throws -> URL {
            let directory = try PostgresServer.makeFolder(prefix: "outreach-pg-template")
            keeper = try PostgresServer.supervise(["/bin/sh", "-c", "cat >/dev/null; rm -rf \"$1\"", "sh", directory.path], directory: directory)
            let passwordFile = directory.appendingPathComponent("password")
            try Data(PostgresServer.password.utf8).write(to: passwordFile)
            try PostgresServer.handOver(directory)
            let initdb = PostgresServer.unprivileged + [
                "\(PostgresServer.binaries)/initdb", "-D", directory.appendingPathComponent("data").path, "-U", PostgresServer.user,
                "--pwfile=\(passwordFile.path)", "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8",
            ]
            let status = try PostgresServer.run(initdb[0], Array(initdb.dropFirst()), logTo: directory)
            try? FileManager.default.removeItem(at: passwordFile)
            guard status == 0 else {
                let log = (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
                throw PostgresServerError("initdb failed (exit \(status)):\n\(log)")
            }
            return directory
        }
    }
}

public struct PostgresServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
