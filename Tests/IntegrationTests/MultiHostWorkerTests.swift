import Foundation
import PostgresTestSupport
import Testing

/// Three `outreach worker` processes as three machines on one PostgreSQL: each in a network namespace of its own,
/// joined by a veth pair to this one, where PostgreSQL and the test mail servers listen. Where namespaces cannot be
/// made (no CAP_NET_ADMIN), three plain processes with distinct `OUTREACH_WORKER_HOST` names, and the test says so.
@Suite("Workers on several hosts", .timeLimit(.minutes(5)))
struct MultiHostWorkerTests {
    static let hosts = 3
    static let accounts = 30
    static let prospects = (1...20).map { (email: "p\($0)@example.test", password: "pw\($0)") }
    static let senders = (1...accounts).map { (email: "s\($0)@example.test", password: "sender-pw-\($0)") }
    /// Kept short so that the killed host's jobs move on within seconds.
    static let lease = 3.0

    @Test("30 jobs on 3 hosts: one holder per account at a time (lease history), one message per prospect, a killed host's jobs finish elsewhere after its lease")
    func threeHosts() async throws {
        // OUTREACH_TEST_NO_NETNS=1 runs the fallback where namespaces would work.
        let network: HostNetworks?
        do {
            if ProcessInfo.processInfo.environment["OUTREACH_TEST_NO_NETNS"] != nil { throw HarnessError("OUTREACH_TEST_NO_NETNS is set") }
            network = try HostNetworks(count: Self.hosts)
        } catch {
            network = nil
            print("MultiHostWorkerTests: no network namespaces here (\(error)); running 3 plain worker processes with distinct OUTREACH_WORKER_HOST instead")
        }
        defer { network?.remove() }
        let serverAddress = network?.hub ?? "127.0.0.1"

        let postgres = try await PostgresServer.start(alsoListen: network.map { ($0.hub, $0.clients) })
        defer { postgres.stop() }
        let url = try await postgres.createDatabase("outreach").replacingOccurrences(of: "@127.0.0.1:", with: "@\(serverAddress):")
        // The relay files what it accepts in Sent, and the accounts do not copy: a row cut off by the kill is settled
        // by the Sent lookup (found: sent; absent: never taken, sent again), never held. It answers each final dot
        // 200 ms after delivering, so the kill can land on a row that went out without a reply.
        let servers = try MailServers(users: Self.senders + Self.prospects, fileSent: true, latencyMilliseconds: 200, alsoListen: network?.hub)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let environment = ["OUTREACH_DB": url, "OUTREACH_MASTER_KEY_FILE": cli.directory + "/master.key"]
        let database = Psql(server: postgres, database: "outreach")

        let csv = "email,first\n" + Self.prospects.enumerated().map { "\($0.element.email),Name\($0.offset + 1)" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: cli.directory + "/l.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}.\n".write(toFile: cli.directory + "/first.md", atomically: true, encoding: .utf8)
        try await offThePool { _ = try cli.expectSuccess(["init"], environment: environment) }
        try database.execute(Self.historyTriggers)
        let smtp = "smtp://\(serverAddress):\(servers.state.smtpPort)"
        let imaps = "imaps://\(serverAddress):\(servers.state.imapsPort)"
        try await offThePool {
            let failures = LockedList()
            DispatchQueue.concurrentPerform(iterations: Self.accounts) { index in
                let sender = Self.senders[index]
                let campaign = "C\(index + 1)"
                do {
                    try cli.expectSuccess(
                        ["account", "add", sender.email, "--smtp", smtp, "--imap", imaps, "--ca-file", servers.caFile, "--no-copy-to-sent", "--password-stdin"],
                        stdin: sender.password, environment: environment
                    )
                    // Rows about 300 ms apart: the jobs overlap, and one host's kill lands in the middle of its jobs.
                    try cli.expectSuccess(["account", "set", sender.email, "--delay", "100ms", "--jitter", "0"], environment: environment)
                    try cli.expectSuccess(["campaign", "import", campaign, cli.directory + "/l.csv", "--account", sender.email], environment: environment)
                    try cli.expectSuccess(["send", campaign, "--template", cli.directory + "/first.md"], environment: environment)
                } catch { failures.append("\(error)") }
            }
            if let failure = failures.items.first { throw HarnessError(failure) }
        }
        #expect(try database.rows(#"SELECT count(*) FROM job WHERE state = 'pending'"#) == [["30"]])

        let workers = try (1...Self.hosts).map { host in
            try cli.startWorker(
                extraEnvironment: environment.merging(["OUTREACH_WORKER_HOST": "host\(host)", "OUTREACH_LEASE": "\(Int(Self.lease))s"]) { $1 },
                launcher: network?.launcher(host: host) ?? []
            )
        }
        defer { workers.forEach { $0.stop() } }

        // Host 2 dies (kill -9, its link cut) once a job it holds has sent a few rows and hands over another.
        let victim = 2
        var victimJobs: [String] = []
        var inFlight = "0"
        let killBy = Date().addingTimeInterval(60)
        while victimJobs.isEmpty && Date() < killBy {
            let busy = try database.rows(
                #"""
                SELECT l."jobID" FROM account_lease l WHERE l.holder LIKE 'host\#(victim)/%' AND l."jobID" IS NOT NULL
                    AND (SELECT count(*) FROM delivery d WHERE d."jobID" = l."jobID" AND d.state = 'sent') >= 5
                    AND EXISTS (SELECT 1 FROM delivery d WHERE d."jobID" = l."jobID" AND d.state = 'sending')
                """#
            )
            if !busy.isEmpty {
                workers[victim - 1].kill()
                network?.cut(host: victim)
                victimJobs = try database.rows(
                    #"SELECT "jobID" FROM account_lease WHERE holder LIKE 'host\#(victim)/%' AND "jobID" IS NOT NULL ORDER BY 1"#
                ).map { $0[0] }
                inFlight = try database.rows(
                    #"""
                    SELECT count(*) FROM delivery d JOIN account_lease l ON l."jobID" = d."jobID"
                    WHERE l.holder LIKE 'host\#(victim)/%' AND d.state = 'sending'
                    """#
                ).first?.first ?? "?"
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(!victimJobs.isEmpty, "host \(victim) never held a job that sent 5 rows:\n\(workers[victim - 1].output)")

        var open: [[String]] = []
        let finishBy = Date().addingTimeInterval(120)
        while Date() < finishBy {
            open = try database.rows(#"SELECT id, state FROM job WHERE state NOT IN ('completed', 'failed', 'cancelled', 'missed') ORDER BY id"#)
            if open.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(open.isEmpty, "jobs still open: \(open)\n\(workers.map(\.output).joined(separator: "\n---\n"))")
        workers.forEach { $0.stop() }

        // (a) One holder per account at a time, from the lease history: each account's tokens go 1, 2, 3, … with one
        // holder each and never back, and each token was taken only once the one before had expired or was released
        // (both by the database's clock).
        let overlaps = try database.rows(
            #"""
            WITH h AS (
                SELECT *, lag(token) OVER w AS "prevToken", lag(holder) OVER w AS "prevHolder", lag("expiresAt") OVER w AS "prevExpires"
                FROM test_lease_history WINDOW w AS (PARTITION BY "accountID" ORDER BY id))
            SELECT "accountID", "prevToken", "prevHolder", "prevExpires", token, holder, "acquiredAt" FROM h
            WHERE ("prevToken" IS NULL AND token <> 1) OR token < "prevToken" OR (token = "prevToken" AND holder <> "prevHolder")
                OR (token > "prevToken" AND (token <> "prevToken" + 1 OR "acquiredAt" < "prevExpires"))
            """#
        )
        #expect(overlaps.isEmpty, "a lease was taken while another holder's was live, or tokens went wrong: \(overlaps)")
        // Every ledger write was made under the lease of its own job; with namespaces, also from the holder's host.
        let writes = try database.rows(#"SELECT host(client), holder, "leaseJobID", "jobID", state FROM test_delivery_writes ORDER BY id"#)
        #expect(writes.count >= 600, "\(writes.count) ledger writes recorded")
        let strays = writes.filter { write in
            guard write[2] == write[3], !write[1].isEmpty else { return true }
            guard let network else { return false }
            return network.hostAddress(of: Self.host(of: write[1])) != write[0]
        }
        #expect(strays.isEmpty, "ledger writes outside their holder's lease (client, holder, lease's job, job, state): \(strays.prefix(10))")
        if let network {
            let claimsFromElsewhere = try database.rows(#"SELECT host(client), holder FROM test_lease_history"#).filter {
                network.hostAddress(of: Self.host(of: $0[1])) != $0[0]
            }
            #expect(claimsFromElsewhere.isEmpty, "lease rows written from another host than their holder's: \(claimsFromElsewhere.prefix(10))")
        }

        // (b) Every prospect of every campaign got exactly one message: 600 ledger rows, all sent, one per prospect;
        // each inbox holds exactly the 30 Message-IDs the ledger has for it, one from each sender.
        #expect(try database.rows(#"SELECT state, count(*) FROM delivery GROUP BY state"#) == [["sent", "600"]])
        #expect(try database.rows(#"SELECT state, count(*) FROM job GROUP BY state"#) == [["completed", "30"]])
        #expect(try database.rows(#"SELECT count(*) FROM prospect p WHERE NOT EXISTS (SELECT 1 FROM delivery d WHERE d."prospectID" = p.id)"#) == [["0"]])
        let ledger = Dictionary(
            grouping: try database.rows(#"SELECT p.email, d."messageID" FROM delivery d JOIN prospect p ON p.id = d."prospectID""#), by: { $0[0] }
        ).mapValues { Set($0.map { $0[1] }) }
        let inboxes = try await offThePool { try servers.mailboxes(of: Self.prospects.map(\.email)) }
        for prospect in Self.prospects {
            let received = inboxes[prospect.email]?["INBOX"] ?? []
            let ids = received.compactMap { $0.messageId?.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) }
            #expect(
                received.count == Self.accounts && Set(ids).count == ids.count && Set(ids) == ledger[prospect.email],
                "\(prospect.email): \(received.count) messages, \(Set(ids).count) distinct"
            )
            #expect(Set(received.compactMap(\.from)).count == Self.accounts, "\(prospect.email) did not get one message from each sender")
        }

        // (c) The killed host's jobs were resumed by another host (after its lease ran out, checked in (a)) and finished
        // there; nothing was held.
        let events = try database.rows(#"SELECT "jobID", detail FROM job_event WHERE detail LIKE 'started by %' OR detail LIKE 'resumed by %' ORDER BY id"#)
        let takeovers = events.filter { $0[1].hasSuffix("after its worker stopped") }
        for job in victimJobs {
            let resumedBy = takeovers.filter { $0[0] == job }.map { Self.host(of: $0[1].dropFirst("resumed by ".count)) }
            #expect(!resumedBy.isEmpty && !resumedBy.contains("host\(victim)"), "job \(job) of the killed host was not resumed elsewhere: \(resumedBy)")
        }
        #expect(try database.rows(#"SELECT count(*) FROM job_event WHERE kind = 'HELD'"#) == [["0"]])
        // The rows the kill cut off between the dot and the reply were settled by the Sent lookup.
        let confirmed = try database.rows(#"SELECT count(*) FROM job_event WHERE detail LIKE '%confirmed in Sent by its Message-ID%'"#).first?.first ?? "?"
        let resent = try database.rows(#"SELECT count(*) FROM job_event WHERE detail LIKE '%it was never taken, and goes out again%'"#).first?.first ?? "?"
        #expect(
            (Int(confirmed) ?? 0) + (Int(resent) ?? 0) >= Int(inFlight) ?? 0,
            "\(inFlight) rows in flight at the kill; \(confirmed) confirmed in Sent, \(resent) sent again"
        )

        let starts = events.filter { $0[1].hasPrefix("started by ") }.map { Self.host(of: $0[1].dropFirst("started by ".count)) }
        let perHost = (1...Self.hosts).map { host in "host\(host)=\(starts.filter { $0 == "host\(host)" }.count)" }.joined(separator: " ")
        print(
            "MultiHostWorkerTests: \(network == nil ? "3 plain processes" : "3 network namespaces"); jobs started per host: \(perHost); "
                + "host\(victim) killed holding jobs \(victimJobs.joined(separator: ",")) (rows handed over without a reply: \(inFlight); "
                + "confirmed in Sent: \(confirmed), sent again: \(resent)); "
                + "takeovers: \(takeovers.map { "#\($0[0]) by \(Self.host(of: $0[1].dropFirst("resumed by ".count)))" }.joined(separator: ", "))"
        )
    }

    /// The machine part of a holder (`host2/pid/start`).
    static func host(of holder: some StringProtocol) -> String { String(holder.prefix { $0 != "/" }) }

    /// The lease history and every ledger write, recorded by triggers the test adds: who held each account's lease
    /// from when to when (the database's clock), and under which lease, from which address, each ledger row was written.
    static let historyTriggers = #"""
        CREATE TABLE test_lease_history (id bigserial PRIMARY KEY, "accountID" bigint, holder text, token bigint, "jobID" bigint,
            "acquiredAt" timestamptz, "expiresAt" timestamptz, client inet);
        CREATE FUNCTION test_lease_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            INSERT INTO test_lease_history ("accountID", holder, token, "jobID", "acquiredAt", "expiresAt", client)
            VALUES (NEW."accountID", NEW.holder, NEW.token, NEW."jobID", NEW."acquiredAt", NEW."expiresAt", inet_client_addr());
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_lease_history AFTER INSERT OR UPDATE ON account_lease FOR EACH ROW EXECUTE FUNCTION test_lease_history();
        CREATE TABLE test_delivery_writes (id bigserial PRIMARY KEY, "deliveryID" bigint, "jobID" bigint, state text, client inet,
            holder text, "leaseJobID" bigint);
        CREATE FUNCTION test_delivery_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            INSERT INTO test_delivery_writes ("deliveryID", "jobID", state, client, holder, "leaseJobID")
            SELECT NEW.id, NEW."jobID", NEW.state, inet_client_addr(), l.holder, l."jobID"
            FROM (SELECT NEW."jobID" AS id) j LEFT JOIN job ON job.id = j.id LEFT JOIN account_lease l ON l."accountID" = job."accountID";
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_delivery_writes AFTER INSERT OR UPDATE ON delivery FOR EACH ROW EXECUTE FUNCTION test_delivery_writes();
        """#
}

/// Network namespaces `omhXXXXXX1…` as hosts, each joined to this namespace by a veth pair on 10.N.i.0/30, with the
/// servers' address 10.N.0.1 on this namespace's loopback (reachable from every namespace through its veth).
/// Names and the subnet are unique per run; ``remove()`` takes everything down again.
final class HostNetworks: @unchecked Sendable {
    // @unchecked: immutable after init; remove() only runs `ip`, which tolerates what is already gone.
    let hub: String
    /// The addresses the hosts' connections come from.
    let clients: String
    private let ip: String
    private let prefix: String
    private let subnet: Int
    private let count: Int

    init(count: Int) throws {
        guard let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("ip is missing: install it with `apt-get install iproute2`")
        }
        self.ip = ip
        self.count = count
        prefix = "omh" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(6)
        let used = (try? CommandRunner.run(ip, ["-o", "addr", "show"], timeout: 10).stdout) ?? ""
        subnet = (64...250).shuffled().first { !used.contains("10.\($0).") } ?? 199
        hub = "10.\(subnet).0.1"
        clients = "10.\(subnet).0.0/16"
        do {
            try run(["addr", "add", "\(hub)/32", "dev", "lo"])
            for host in 1...count {
                let namespace = "\(prefix)\(host)"
                try run(["netns", "add", namespace])
                try run(["link", "add", "\(prefix)h\(host)", "type", "veth", "peer", "name", "\(prefix)n\(host)"])
                try run(["link", "set", "\(prefix)n\(host)", "netns", namespace])
                try run(["addr", "add", "10.\(subnet).\(host).1/30", "dev", "\(prefix)h\(host)"])
                try run(["link", "set", "\(prefix)h\(host)", "up"])
                try run(["-n", namespace, "addr", "add", "\(hostAddress(host))/30", "dev", "\(prefix)n\(host)"])
                try run(["-n", namespace, "link", "set", "\(prefix)n\(host)", "up"])
                try run(["-n", namespace, "link", "set", "lo", "up"])
                try run(["-n", namespace, "route", "add", "default", "via", "10.\(subnet).\(host).1"])
            }
        } catch {
            remove()
            throw error
        }
    }

    func hostAddress(_ host: Int) -> String { "10.\(subnet).\(host).2" }

    /// The address a worker named `hostN` connects from.
    func hostAddress(of name: String) -> String? {
        guard name.hasPrefix("host"), let host = Int(name.dropFirst(4)), (1...count).contains(host) else { return nil }
        return hostAddress(host)
    }

    /// Runs a program in the host's namespace: `ip netns exec` execs it in place, so its pid is the program's.
    func launcher(host: Int) -> [String] { [ip, "netns", "exec", "\(prefix)\(host)"] }

    /// Cuts the host off: its veth goes down on this side.
    func cut(host: Int) { _ = try? CommandRunner.run(ip, ["link", "set", "\(prefix)h\(host)", "down"], timeout: 10) }

    func remove() {
        for host in 1...count {
            _ = try? CommandRunner.run(ip, ["link", "del", "\(prefix)h\(host)"], timeout: 10)
            _ = try? CommandRunner.run(ip, ["netns", "del", "\(prefix)\(host)"], timeout: 10)
        }
        _ = try? CommandRunner.run(ip, ["addr", "del", "\(hub)/32", "dev", "lo"], timeout: 10)
    }

    private func run(_ arguments: [String]) throws {
        let result = try CommandRunner.run(ip, arguments, timeout: 10)
        guard result.status == 0 else {
            throw HarnessError("ip \(arguments.joined(separator: " ")): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}

/// `psql` on the test server's Unix socket, as the test user: for the test's own triggers and checks.
struct Psql {
    let server: PostgresServer
    let database: String

    func execute(_ sql: String) throws { _ = try rows(sql) }

    /// The result's rows, fields split at tabs (NULL as an empty field).
    func rows(_ sql: String) throws -> [[String]] {
        let result = try CommandRunner.run(
            "/usr/bin/psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.directory.path, "-p", String(server.port), "-U", PostgresServer.user, "-d", database,
                "-At", "-F", "\t", "-c", sql,
            ],
            timeout: 60
        )
        guard result.status == 0 else { throw HarnessError("psql failed: \(result.stderr)\n\(sql)") }
        return result.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }
}

/// Failures collected from concurrent work.
final class LockedList: @unchecked Sendable {
    // @unchecked: `list` is only touched under `lock`.
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ item: String) { lock.withLock { list.append(item) } }
    var items: [String] { lock.withLock { list } }
}
