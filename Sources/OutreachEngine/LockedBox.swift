import Foundation

/// A value shared between threads under a lock: for the few places where a C callback thread and async code meet.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    // @unchecked: every access to `value` holds `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    /// Changes the value in place and returns what the closure returns, atomically.
    func update<T>(_ change: (inout Value) -> T) -> T { lock.withLock { change(&value) } }
}
