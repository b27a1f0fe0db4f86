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

    public init(id: Int64? = nil, name: String, accountID: Int64, columns: [Column], sourceFile: String, createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.accountID = accountID
        self.columns = columns
        self.sourceFile = sourceFile
        self.createdAt = createdAt
    }

    public var columnKeys: Set<ColumnKey> { Set(columns.map(\.key)) }
}
