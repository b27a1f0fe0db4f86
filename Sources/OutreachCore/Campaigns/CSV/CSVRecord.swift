/// One record of a CSV file: its fields, decoded to text, and where it is in the file.
public struct CSVRecord: Sendable, Hashable {
    public var fields: [String]
    /// The record's 0-based position among the file's records; blank lines are not records. In a file with a header
    /// the header is record 0, so for every other record this is its **data row number** ("row 12" is the twelfth
    /// record after the header), the number reports use.
    public var index: Int
    /// The 1-based physical line on which the record starts, counting every line end (CRLF, LF or CR), including
    /// blank lines and those inside quoted fields: the line a text editor shows.
    public var line: Int

    public init(fields: [String], index: Int, line: Int) {
        self.fields = fields
        self.index = index
        self.line = line
    }
}
