/// Why a CSV file could not be read to its end.
public enum CSVError: Error, Equatable, CustomStringConvertible {
    /// The file ends inside a quoted field; `line` is where its opening quote is.
    case unterminatedQuote(line: Int)
    /// A field grew beyond the parser's limit, almost always because of a quote that is never closed.
    case fieldTooLong(line: Int, limit: Int)
    /// The file is a spreadsheet workbook (.xlsx, .ods, .xls), not text.
    case spreadsheetWorkbook

    public var description: String {
        switch self {
        case .unterminatedQuote(let line):
            "line \(line): a quoted field starts here and is never closed, so the file ends inside quotes — "
                + "look for a stray \" in that row (a quote inside a value must be written twice: \"\")"
        case .fieldTooLong(let line, let limit):
            "line \(line): a field is longer than \(limit / 1024) KiB, which is almost always a quote that is never "
                + "closed — look for a stray \" in that row (a quote inside a value must be written twice: \"\")"
        case .spreadsheetWorkbook:
            "this is a spreadsheet workbook (.xlsx, .xls or .ods), not a CSV file — open it and save it as "
                + "\"CSV UTF-8 (comma delimited)\" (Excel: File › Save As), then import that file"
        }
    }
}
