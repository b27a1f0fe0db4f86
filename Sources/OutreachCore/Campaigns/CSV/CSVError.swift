/// Why a CSV file could not be read to its end.
public enum CSVError: Error, Equatable, CustomStringConvertible {
    /// The file ends inside a quoted field; `line` is where its opening quote is.
    case unterminatedQuote(line: Int)
    /// A field (closed: a quote that is never closed is ``unterminatedQuote(line:)``) is longer than the parser's
    /// limit, in bytes.
    case fieldTooLong(line: Int, limit: Int)
    /// The file is a spreadsheet workbook (.xlsx, .ods, .xls), not text.
    case spreadsheetWorkbook

    public var description: String {
        switch self {
        case .unterminatedQuote(let line):
            "line \(line): a quoted field starts here and is never closed, so the file ends inside quotes — "
                + "look for a stray \" in that row (a quote inside a value must be written twice: \"\")"
        case .fieldTooLong(let line, let limit):
            "line \(line): a value is longer than \(Self.size(limit)), the most one cell may hold — shorten it, or raise "
                + "the limit with OUTREACH_CSV_MAX_FIELD_BYTES if the file really needs such cells"
        case .spreadsheetWorkbook:
            "this is a spreadsheet workbook (.xlsx, .xls or .ods), not a CSV file — open it and save it as "
                + "\"CSV UTF-8 (comma delimited)\" (Excel: File › Save As), then import that file"
        }
    }

    /// 1048576 → "1 MiB", 65536 → "64 KiB", anything else in bytes.
    static func size(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
