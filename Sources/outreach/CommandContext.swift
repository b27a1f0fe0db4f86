import ArgumentParser
import Foundation
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore
import OutreachTransport
import Synchronization

/// What a command runs with: settings merged from the config file and the environment (environment wins),
/// the logger, and — on demand — the database and the account registry.
struct CommandContext {
    let settings: [String: String]
    let databasePath: String
    let logger: Logger

    init(_ options: GlobalOptions) throws {
        let environment = ProcessInfo.processInfo.environment
        var settings: [String: String] = [:]
        let configPath = options.config ?? ".env"
        if let data = FileManager.default.contents(atPath: configPath) {
            settings = try DotEnv(parsing: String(decoding: data, as: UTF8.self), environment: environment).values
        } else if options.config != nil {
            throw ValidationError("cannot read the configuration file \(configPath)")
        }
        settings.merge(environment) { _, fromEnvironment in fromEnvironment }
        self.settings = settings
        self.databasePath = options.db ?? settings["OUTREACH_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "outreach.db"
        self.logger = try Self.makeLogger(level: settings["OUTREACH_LOG_LEVEL"] ?? settings["LOG_LEVEL"], format: settings["LOG_FORMAT"])
    }

    /// One line on standard error per key of the original app's `.env` that Outreach does not read, naming what
    /// replaced it (`serve`, `worker` and `init` print them: the commands an operator starts a deployment with).
    func printSeedNotices() {
        for line in SeedSettings.notices(settings) { say("Note: \(line)", level: .warning) }
    }

    /// A line for the operator on standard error: plain text, or with LOG_FORMAT=json a log record (so every line of
    /// the process stays one JSON object).
    func say(_ line: String, level: Logger.Level) {
        if logsJSON {
            logger.log(level: level, "\(line)")
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    var logsJSON: Bool { settings["LOG_FORMAT"]?.lowercased() == "json" }

    /// Whether the database is a PostgreSQL server (`postgres://…`) rather than a SQLite file.
    var databaseIsShared: Bool { Stores.isPostgres(databasePath) }

    /// The master key file sits beside a SQLite database unless `OUTREACH_MASTER_KEY_FILE` says otherwise; with
    /// PostgreSQL, in the current folder (every machine needs the same key: set the variable to where it is).
    var masterKeyFile: String {
        settings["OUTREACH_MASTER_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? (databaseIsShared ? "outreach.key" : databasePath + ".key")
    }

    func openDatabase(create: Bool = false) async throws -> Stores {
        try await Stores.open(databasePath, create: create, logger: logger)
    }

    func accountRegistry(database: Stores) throws -> AccountRegistry {
        let key = try MasterKey.load(keyFile: masterKeyFile, environment: settings)
        return AccountRegistry(
            store: database.accounts, secrets: try SecretBox(key: key), environmentAccount: try EnvironmentAccount(variables: settings),
            gmail: GmailAPIConfiguration(settings: settings)
        )
    }

    /// - Parameter foreground: for `--wait`, where someone watches: after a storage error the job gives up recording
    ///   its stop after a few seconds (and says so) instead of retrying for the worker's ten minutes.
    func workerSettings(foreground: Bool = false) throws -> WorkerSettings {
        var worker = try WorkerSettings(settings: settings)
        if foreground { worker.storeRetrySeconds = min(worker.storeRetrySeconds, 10) }
        return worker
    }

    func jobRunner(database: Stores, registry: AccountRegistry, foreground: Bool = false) throws -> JobRunner {
        JobRunner(
            campaigns: database.campaigns, ledger: database.deliveries, index: database.threads, jobs: database.jobs, users: database.users,
            registry: registry, settings: try workerSettings(foreground: foreground), logger: logger
        )
    }

    func worker(database: Stores, registry: AccountRegistry, tag: String = "", foreground: Bool = false) throws -> Worker {
        Worker(
            identity: .current(tag: tag, host: settings["OUTREACH_WORKER_HOST"]), jobs: database.jobs,
            runner: try jobRunner(database: database, registry: registry, foreground: foreground),
            settings: try workerSettings(foreground: foreground), logger: logger
        )
    }

    func scheduler(database: Stores, registry: AccountRegistry) -> JobScheduler {
        JobScheduler(campaigns: database.campaigns, ledger: database.deliveries, jobs: database.jobs, registry: registry)
    }

    /// The process's log handler is chosen once, by the first context (one command per process).
    private static let bootstrapped = Mutex(false)

    /// - Parameter format: LOG_FORMAT: `text` (default) or `json`.
    static func makeLogger(level: String?, format: String? = nil) throws -> Logger {
        let json: Bool
        switch format?.lowercased() {
        case nil, "", "text": json = false
        case "json": json = true
        case let other?: throw ValidationError("LOG_FORMAT=\(other) is not a log format: use text (the default) or json")
        }
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label -> any LogHandler in json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label) }
        }
        var logger = Logger(label: "outreach")
        switch level?.lowercased() {
        case "trace": logger.logLevel = .trace
        case "debug": logger.logLevel = .debug
        case "info": logger.logLevel = .info
        case "error": logger.logLevel = .error
        case "critical": logger.logLevel = .critical
        default: logger.logLevel = .warning
        }
        return logger
    }
}
