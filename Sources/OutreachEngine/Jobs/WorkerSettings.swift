import Foundation
import OutreachCore

/// How workers run jobs; the defaults are what operators get, the settings exist for unusual deployments and tests.
public struct WorkerSettings: Sendable {
    /// How long an account lease lasts without renewal: a crashed worker on another machine blocks its account this long.
    public var leaseSeconds: Double = 120
    /// How often an idle worker looks for due jobs.
    public var pollSeconds: Double = 1
    /// A scheduled job that could not start on time still starts this late; later it is marked missed.
    public var graceSeconds: Double = 3600
    /// Jobs of different accounts one worker runs at the same time.
    public var concurrency: Int = 4
    /// Waiting between attempts after a "try again later" (4xx) reply.
    public var retryBackoff: RetryBackoff = .smtpTemporary
    /// How often progress and log lines are written while a job runs.
    public var progressSeconds: Double = 0.5
    /// How long a job keeps trying when its server cannot be reached (or the connection keeps breaking) before it
    /// pauses for the operator: long enough for a relay restart or a network blip.
    public var reconnectWindowSeconds: Double = 900
    /// The pauses between those attempts: 2 s doubling to 1 minute, with jitter.
    public var reconnectBackoff = RetryBackoff(baseSeconds: 2, maxSeconds: 60, maxAttempts: .max)
    /// After a storage error (disk full, database not writable), how long a job tries to record that it stopped
    /// before it leaves that to the next worker (its lease expires and the job is continued from the ledger).
    public var storeRetrySeconds: Double = 600

    public init() {}

    /// Reads OUTREACH_LEASE, OUTREACH_WORKER_POLL, OUTREACH_GRACE, OUTREACH_WORKER_CONCURRENCY, OUTREACH_RETRY_BASE,
    /// OUTREACH_RECONNECT_FOR, OUTREACH_RECONNECT_BASE, OUTREACH_STORE_RETRY_FOR (durations as `account set` takes
    /// them: 90s, 2m, 1h).
    public init(settings: [String: String]) throws {
        self.init()
        func duration(_ name: String) throws -> Double? {
            guard let text = settings[name], !text.isEmpty else { return nil }
            do { return try DurationText.seconds(text) } catch { throw WorkerSettingsError(name: name, value: text, problem: "\(error)") }
        }
        if let value = try duration("OUTREACH_LEASE") { leaseSeconds = max(1, value) }
        if let value = try duration("OUTREACH_WORKER_POLL") { pollSeconds = max(0.05, value) }
        if let value = try duration("OUTREACH_GRACE") { graceSeconds = value }
        if let value = try duration("OUTREACH_RETRY_BASE") {
            retryBackoff.baseSeconds = value
            retryBackoff.maxSeconds = max(value, min(retryBackoff.maxSeconds, value * 64))
        }
        if let value = try duration("OUTREACH_RECONNECT_FOR") { reconnectWindowSeconds = value }
        if let value = try duration("OUTREACH_RECONNECT_BASE") {
            reconnectBackoff.baseSeconds = value
            reconnectBackoff.maxSeconds = max(value, reconnectBackoff.maxSeconds)
        }
        if let value = try duration("OUTREACH_STORE_RETRY_FOR") { storeRetrySeconds = value }
        if let text = settings["OUTREACH_WORKER_CONCURRENCY"], !text.isEmpty {
            guard let value = Int(text), value >= 1 else { throw WorkerSettingsError(name: "OUTREACH_WORKER_CONCURRENCY", value: text, problem: "must be a whole number ≥ 1") }
            concurrency = value
        }
    }
}

public struct WorkerSettingsError: Error, CustomStringConvertible {
    let name: String
    let value: String
    let problem: String
    public var description: String { "\(name)=\(value): \(problem)" }
}
