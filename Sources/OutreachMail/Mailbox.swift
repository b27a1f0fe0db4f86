import OutreachCore

/// An address with an optional display name, as it appears in From, To and Cc.
public struct Mailbox: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String?
    public var address: EmailAddress

    public init(_ address: EmailAddress, name: String? = nil) {
        self.address = address
        self.name = name.flatMap { $0.trimmingASCIIWhitespace().isEmpty ? nil : $0 }
    }

    public var description: String { name.map { "\($0) <\(address)>" } ?? address.description }
}
