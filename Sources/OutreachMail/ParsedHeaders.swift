import Foundation
import OutreachCore

/// The header fields of one message that threading and classification read, decoded to plain values.
public struct ParsedHeaders: Sendable, Equatable {
    /// Without angle brackets; nil when the message has none (some bounces, some broken clients).
    public var messageID: String?
    public var inReplyTo: [String] = []
    public var references: [String] = []
    public var from: [Mailbox] = []
    public var to: [Mailbox] = []
    public var cc: [Mailbox] = []
    /// RFC 2047 decoded.
    public var subject: String?
    public var date: Date?
    /// Every other field, name lowercased, values unfolded but otherwise raw; the first occurrence wins.
    public var otherFields: [String: String] = [:]

    public init() {}

    public subscript(field name: String) -> String? { otherFields[name.lowercased()] }
}
