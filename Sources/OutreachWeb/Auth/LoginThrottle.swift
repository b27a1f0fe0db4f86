import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// Slows down password guessing: after 5 failed sign-ins for one address, or 20 from one client address, within 15
/// minutes, further attempts are refused until the oldest failure is 15 minutes old. In memory: one `serve` process
/// answers the web UI.
actor LoginThrottle {
    private var failures: [String: [Date]] = [:]
    private let window: TimeInterval = 15 * 60
    private let perAccount = 5
    private let perClient = 20

    /// When attempts may start again, or nil when they may go on now.
    func blockedUntil(email: String, client: String, now: Date = Date()) -> Date? {
        prune(now)
        var until: Date?
        for (key, limit) in [("u:" + email.lowercased(), perAccount), ("c:" + client, perClient)] {
            if let times = failures[key], times.count >= limit, let oldest = times.suffix(limit).first {
                let opens = oldest.addingTimeInterval(window)
                until = max(until ?? opens, opens)
            }
        }
        return until
    }

    func recordFailure(email: String, client: String, now: Date = Date()) {
        failures["u:" + email.lowercased(), default: []].append(now)
        failures["c:" + client, default: []].append(now)
    }

    /// A good password clears the address's failures, and takes back the attempt counted for the client.
    func recordSuccess(email: String, client: String) {
        failures["u:" + email.lowercased()] = nil
        if var times = failures["c:" + client], !times.isEmpty {
            times.removeLast()
            failures["c:" + client] = times.isEmpty ? nil : times
        }
    }

    private func prune(_ now: Date) {
        for (key, times) in failures {
            let kept = times.filter { now.timeIntervalSince($0) < window }
            failures[key] = kept.isEmpty ? nil : kept
        }
    }
}
