/// A password or token that must never reach a log line, an error message or JSON output by accident:
/// its descriptions are masked, and the value is only reachable through ``revealed``.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let revealed: String
    public init(_ value: String) { self.revealed = value }
    public var description: String { "••••••" }
    public var debugDescription: String { "Secret(••••••)" }
    /// `dump` and other reflection see no children, so the value cannot leak through a containing type's default description.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
