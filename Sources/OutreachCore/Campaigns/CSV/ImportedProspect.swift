/// One master-file row that can be imported: a valid address and the row's values, by column key.
public struct ImportedProspect: Sendable, Equatable {
    /// The data row number (1 = the first row after the header).
    public var row: Int
    /// The physical line the row starts on.
    public var line: Int
    public var email: EmailAddress
    /// Whether the `select` column marks the row (1, yes, y, true, x, ✓); `false` without a `select` column.
    public var select: Bool
    /// The `variant` column, trimmed; `nil` when empty or absent.
    public var variant: String?
    /// Every prospect column, surrounding white space trimmed, under its (disambiguated) key — `email`, `first`,
    /// `select` included as written. A row with more values than the header keeps the rest as `extra_1`, `extra_2`, ….
    /// Round-metadata columns are not here but in ``roundMetadata``.
    public var fields: [ColumnKey: String]
    /// The non-empty values of `r1_message_id`-style columns, present when the file is an Outreach master export.
    public var roundMetadata: [RoundMetadataColumn: String]
    /// What was odd about the row although it was imported: a ragged row, an unrecognized select value.
    public var warnings: [ImportProblem]

    public init(
        row: Int, line: Int, email: EmailAddress, select: Bool = false, variant: String? = nil, fields: [ColumnKey: String] = [:],
        roundMetadata: [RoundMetadataColumn: String] = [:], warnings: [ImportProblem] = []
    ) {
        self.row = row
        self.line = line
        self.email = email
        self.select = select
        self.variant = variant
        self.fields = fields
        self.roundMetadata = roundMetadata
        self.warnings = warnings
    }

    public subscript(key: ColumnKey) -> String? { fields[key] }
}
