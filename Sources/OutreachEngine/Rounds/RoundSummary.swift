import Foundation
import OutreachCore

/// The counters of a finished (or stopped) pass over a round.
public struct RoundSummary: Sendable, Equatable {
    public var total = 0
    public var sent = 0
    public var drafted = 0
    public var skipped = 0
    public var held = 0
    public var failed = 0
    /// Rows this round had already sent or drafted in an earlier run: left alone.
    public var alreadyDone = 0
    /// Rows waiting to be tried again after a "try again later" reply.
    public var deferred = 0
    /// When the first of the deferred rows is due.
    public var nextRetryAt: Date?
    /// Set when the pass stopped before its end.
    public var stop: RoundStop?

    public init() {}

    public var stoppedBecause: String? { stop?.reason }

    /// Counts a row this job already finished, as it ended. False for a row still to work on.
    mutating func count(finished delivery: Delivery) -> Bool {
        switch delivery.state {
        case .sent: sent += 1
        case .drafted: drafted += 1
        case .skipped: skipped += 1
        case .failed: failed += 1
        case .needsData, .unknown, .sending: held += 1
        case .planned: return false
        }
        return true
    }

    /// The job's counters: rows finished by earlier jobs are not part of this job's work.
    public var counters: Job.Counters {
        Job.Counters(total: total - alreadyDone, sent: sent, drafted: drafted, skipped: skipped, failed: failed, held: held)
    }

    public var line: String {
        var parts = ["\(total) rows", "\(sent) sent", "\(drafted) drafted", "\(skipped) skipped", "\(held) held", "\(failed) failed"]
        if deferred > 0 { parts.append("\(deferred) to retry") }
        if alreadyDone > 0 { parts.append("\(alreadyDone) already done earlier") }
        return parts.joined(separator: ", ")
    }
}

/// Why a pass stopped before its last row.
public enum RoundStop: Sendable, Equatable {
    /// The account cannot send for now (a provider limit, the server unreachable) or the operator paused the job.
    case paused(String)
    /// The job cannot go on (login refused, certificate not trusted).
    case failed(String)
    /// The server could not be reached, or the connection to it broke: no row is at fault, and the job tries again
    /// after a while (a relay restart, a network blip) before it waits for the operator.
    case unreachable(String)
    case cancelled
    /// Another worker took the account over; this one must not send another message.
    case leaseLost

    public var reason: String {
        switch self {
        case .paused(let reason), .failed(let reason), .unreachable(let reason): reason
        case .cancelled: "cancelled by the operator"
        case .leaseLost: "this worker lost the account's lock (its lease expired); another worker continues the job"
        }
    }
}
