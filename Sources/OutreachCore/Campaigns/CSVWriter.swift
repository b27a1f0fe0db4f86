import Foundation

/// Writes RFC 4181 CSV: comma-separated, CRLF line ends, fields quoted when they hold a comma, quote, CR or LF.
///
/// Cells that a spreadsheet could run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR, phone numbers and
/// negative amounts included) get a leading apostrophe, per OWASP's CSV-injection advice (``SpreadsheetSafety``).
/// ``SpreadsheetSafety/unescape(_:)`` removes exactly that apostrophe again on import, so export → import
/// round-trips.
public struct CSVWriter: Sendable {
    public init() {}

    public func line(_ fields: [String]) -> String {
        fields.map(Self.field).joined(separator: ",") + "\r\n"
    }

    static func field(_ raw: String) -> String {
        let value = SpreadsheetSafety.escape(raw)
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
