import Foundation

/// A message as lists, sends and history name it.
public struct GmailMessageRef: Sendable, Hashable {
    public let id: String
    public let threadID: String
    /// Empty where Gmail does not say (messages.list).
    public let labelIDs: [String]

    public init(id: String, threadID: String, labelIDs: [String]) {
        self.id = id
        self.threadID = threadID
        self.labelIDs = labelIDs
    }
}

/// How much of a message `messages.get` returns. `.raw` (and a search `q`) need more than the gmail.metadata scope.
public enum GmailMessageFormat: Sendable {
    case minimal
    /// Only these headers (matched case-insensitively by Gmail), in the message's order.
    case metadata(headers: [String])
    case raw
}

/// One message from `messages.get`.
public struct GmailMessage: Sendable {
    public let id: String
    public let threadID: String
    public let labelIDs: [String]
    public let historyID: UInt64?
    public let internalDate: Date?
    /// With `.metadata`: the asked-for headers, unfolded and RFC 2047-decoded by Gmail.
    public let headers: [(name: String, value: String)]
    /// With `.raw`: the message's bytes.
    public let raw: [UInt8]?

    public init(
        id: String, threadID: String, labelIDs: [String], historyID: UInt64?, internalDate: Date?, headers: [(name: String, value: String)],
        raw: [UInt8]?
    ) {
        self.id = id
        self.threadID = threadID
        self.labelIDs = labelIDs
        self.historyID = historyID
        self.internalDate = internalDate
        self.headers = headers
        self.raw = raw
    }

    /// The first header of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}
