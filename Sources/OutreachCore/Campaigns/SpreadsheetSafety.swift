/// The formula-injection guard shared by export and import: the one place that decides which cells get a leading
/// apostrophe on the way out and loses it on the way in.
///
/// OWASP's rule: a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return may be run as a formula by a
/// spreadsheet, so it is written with a `'` in front — phone numbers (`+49 30 1234`) and negative amounts included,
/// since `-1+cmd|' /C calc'!A0` starts with a digit too. To keep export → import lossless, a value that already
/// starts with apostrophes followed by such a character (`'=1`) gets one more apostrophe, and ``unescape(_:)`` removes
/// exactly one from any cell of that shape. Any other leading apostrophe is data and stays.
public enum SpreadsheetSafety {
    /// Whether a cell is written with a leading apostrophe: after any apostrophes it has, it starts with `=`, `+`,
    /// `-`, `@`, tab or CR.
    public static func needsEscape(_ value: String) -> Bool {
        for scalar in value.unicodeScalars {
            switch scalar {
            case "'": continue
            case "=", "+", "-", "@", "\t", "\r": return true
            default: return false
            }
        }
        return false
    }

    public static func escape(_ value: String) -> String { needsEscape(value) ? "'" + value : value }

    /// Removes the apostrophe ``escape(_:)`` adds; any other leading apostrophe is data and stays.
    public static func unescape(_ value: String) -> String {
        guard value.hasPrefix("'") else { return value }
        let rest = String(value.dropFirst())
        return needsEscape(rest) ? rest : value
    }
}
