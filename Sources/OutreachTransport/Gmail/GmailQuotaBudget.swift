import Foundation

/// One mailbox's Gmail quota: the units its calls were charged in the last 60 s. Google counts per user, so every
/// ``GmailAPI`` of a mailbox in this process — a round's session, the sync before it, the sync timer — draws on the
/// same budget (``shared(for:unitsPerMinute:)``).
public actor GmailQuotaBudget {
    public let unitsPerMinute: Int
    private var charges: [(at: ContinuousClock.Instant, units: Int)] = []
    static let window = Duration.seconds(60)

    public init(unitsPerMinute: Int) {
        self.unitsPerMinute = unitsPerMinute
    }

    /// Charges `units` when they fit in the window. Otherwise nothing is charged, and the answer says how long to
    /// wait and which charges will have left the window by then (``forget(upTo:)`` them after waiting).
    func admit(_ units: Int) -> (wait: Duration, cutoff: ContinuousClock.Instant)? {
        let now = ContinuousClock.now
        charges.removeAll { now - $0.at >= Self.window }
        let used = charges.reduce(0) { $0 + $1.units }
        // A call bigger than the whole budget goes alone once the window is empty rather than never.
        if used + units <= unitsPerMinute || charges.isEmpty {
            charges.append((now, units))
            return nil
        }
        var freed = 0
        var cutoff = now
        for charge in charges {
            freed += charge.units
            cutoff = charge.at
            if used - freed + units <= unitsPerMinute { break }
        }
        return (cutoff + Self.window - now, cutoff)
    }

    /// Drops the charges made up to `cutoff`, after waiting for them to leave the window (whatever clock the
    /// caller's sleep keeps, as in tests).
    func forget(upTo cutoff: ContinuousClock.Instant) {
        charges.removeAll { $0.at <= cutoff }
    }

    private static let registry = BudgetRegistry()

    /// The process's budget for this mailbox (created on first use).
    public static func shared(for mailbox: String, unitsPerMinute: Int) -> GmailQuotaBudget {
        registry.budget(for: mailbox.lowercased(), unitsPerMinute: unitsPerMinute)
    }
}

/// Mailbox → budget, behind a lock: looked up from any task, rarely.
private final class BudgetRegistry: @unchecked Sendable {
    // @unchecked: `budgets` is only touched while `lock` is held.
    private let lock = NSLock()
    private var budgets: [String: GmailQuotaBudget] = [:]

    func budget(for mailbox: String, unitsPerMinute: Int) -> GmailQuotaBudget {
        lock.withLock {
            if let budget = budgets[mailbox], budget.unitsPerMinute == unitsPerMinute { return budget }
            let budget = GmailQuotaBudget(unitsPerMinute: unitsPerMinute)
            budgets[mailbox] = budget
            return budget
        }
    }
}
