import Foundation
import OutreachCore
import OutreachStore

/// Stands before every message of a running job: writes progress (and learns of a pause or cancel the operator
/// asked for), makes the job wait — not fail — for its account's daily cap and sending window, and stops it the
/// moment this worker's lease is in doubt.
final class PacingGate: Sendable {
    private let account: Account
    private let jobs: any JobStore
    private let claim: JobClaim
    private let keeper: LeaseKeeper
    private let log: JobLog
    private let expectedTotal: Int
    private let progressSeconds: Double
    /// The account's sends in the last 24 hours; one job per account runs at a time, so this process sees them all.
    private let sentTimes: LockedBox<[Date]>
    private let lastProgress = LockedBox(ContinuousClock.now - .seconds(3600))
    private let cap: DailyCap

    init(
        account: Account, jobs: any JobStore, claim: JobClaim, keeper: LeaseKeeper, log: JobLog, expectedTotal: Int, sentRecently: [Date],
        progressSeconds: Double
    ) {
        self.account = account
        self.jobs = jobs
        self.claim = claim
        self.keeper = keeper
        self.log = log
        self.expectedTotal = expectedTotal
        self.progressSeconds = progressSeconds
        self.sentTimes = LockedBox(sentRecently)
        self.cap = account.dailyCap
    }

    func recordSend() {
        let now = Date()
        sentTimes.update { times in
            times.append(now)
            if times.count > 4 * max(cap.limit, 1) { times.removeAll { $0 < now.addingTimeInterval(-86_400) } }
        }
    }

    func beforeDelivery(_ action: RoundMode.Action, summary: RoundSummary) async throws -> RoundRunner.Gate {
        var counters = summary.counters
        counters.total = max(counters.total, expectedTotal)
        log.counters = counters
        if let stop = try await checkpoint(note: nil, force: false) { return .stop(stop) }
        guard action == .send else { return .proceed }
        // Waiting for the window or the cap is a state of the job, not a failure: it goes on by itself.
        while true {
            let now = Date()
            if let window = account.pacing.window, !window.contains(now) {
                let opening = window.nextOpening(atOrAfter: now)
                if let stop = try await wait(until: opening, note: "waiting for the sending window (\(window)) to open at \(JobTime.format(opening))") {
                    return .stop(stop)
                }
                continue
            }
            if let slot = cap.nextSlot(sentAt: sentTimes.get(), now: now) {
                let note = "daily cap of \(cap.limit) messages in 24 hours reached; the next one goes at \(JobTime.format(slot))"
                if let stop = try await wait(until: slot, note: note) { return .stop(stop) }
                continue
            }
            return .proceed
        }
    }

    /// Sleeps until `date` in short steps, keeping progress, the operator's requests and the lease in view.
    /// - Returns: why the job must stop instead, or nil once the time has come.
    func wait(until date: Date, note: String) async throws -> RoundStop? {
        log.info(note)
        while Date() < date {
            if let stop = try await checkpoint(note: note, force: true) { return stop }
            try await Task.sleep(for: .seconds(min(max(date.timeIntervalSinceNow, 0.01), max(progressSeconds, 1))))
        }
        return try await checkpoint(note: nil, force: true)
    }

    /// Writes progress when due and returns the stop the operator (or a lost lease) asks for.
    private func checkpoint(note: String?, force: Bool) async throws -> RoundStop? {
        guard keeper.holds else { return .leaseLost }
        let now = ContinuousClock.now
        guard force || now - lastProgress.get() >= .seconds(progressSeconds) else { return nil }
        lastProgress.set(now)
        try await log.flush()
        switch try await jobs.progress(claim, counters: log.counters, note: note) {
        case .cancel: return .cancelled
        case .pause: return .paused("paused by the operator")
        case nil: return nil
        }
    }
}
