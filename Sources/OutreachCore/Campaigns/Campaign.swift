import Foundation

/// One imported master file: its prospects and every round run from it.
public struct Campaign: Sendable, Hashable, Codable {
    /// A column of the master file as imported: the header exactly as written (export writes it back unchanged) and
    /// the normalized key templates use.
    public struct Column: Sendable, Hashable, Codable {
        public let header: String
        public let key: ColumnKey

        public init(header: String, key: ColumnKey) {
            self.header = header
            self.key = key
        }
    }

    public var id: Int64?
    public var name: String
    /// The account rounds are sent from.
    public var accountID: Int64
    public var columns: [Column]
    public var sourceFile: String
    public var createdAt: Date
    /// The web user who imported it; nil for the CLI's campaigns, which only admins see in the web UI.
    public var ownerID: Int64?

    public init(
        id: Int64? = nil, name: String, accountID: Int64, columns: [Column], sourceFile: String, createdAt: Date = Date(), ownerID: Int64? = nil
    ) {
        self.id = id
        self.name = name
        self.accountID = accountID
        self.columns = columns
        self.sourceFile = sourceFile
        self.createdAt = createdAt
        self.ownerID = ownerID
    }

    public var columnKeys: Set<ColumnKey> { Set(columns.map(\.key)) }
}
