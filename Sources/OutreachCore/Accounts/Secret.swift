/// A password or token that must never reach a log line, an error message or JSON output by accident:
/// its descriptions are masked, and the value is only reachable through ``revealed``.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let revealed: String
    public init(_ value: String) { self.revealed = value }
    public var description: String { "••••••" }
    public var debugDescription: String { "Secret(••••••)" }
}
