import Foundation

/// Answers that may be a second or two old: who a session cookie belongs to, and the names listings show. Under
/// load (50 connections polling the job list) this turns several database reads per request into none; the cost is
/// that a revoked grant or a renamed campaign shows up to `lifetime` seconds late. Signing out removes the session at once.
final class ShortLivedCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    // @unchecked: `entries` is only touched under `lock`.
    private let lock = NSLock()
    private var entries: [Key: (value: Value, expires: ContinuousClock.Instant)] = [:]
    private let lifetime: Duration
    private let capacity: Int

    init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func value(for key: Key) -> Value? {
        lock.withLock {
            guard let entry = entries[key], entry.expires > .now else { return nil }
            return entry.value
        }
    }

    func store(_ value: Value, for key: Key) {
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (value, .now + lifetime)
        }
    }

    func remove(_ key: Key) { _ = lock.withLock { entries.removeValue(forKey: key) } }

    /// The cached value, or the one `load` makes (then cached).
    func value(for key: Key, load: () async throws -> Value) async rethrows -> Value {
        if let cached = value(for: key) { return cached }
        let fresh = try await load()
        store(fresh, for: key)
        return fresh
    }
}
