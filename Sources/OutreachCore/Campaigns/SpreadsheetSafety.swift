/// The formula-injection guard shared by export and import.
public enum SpreadsheetSafety {
    public static func needsEscape(_ value: String) -> Bool {
        guard let first = value.unicodeScalars.first else { return false }
        switch first {
        case "=", "@", "\t", "\r": return true
        case "+", "-":
            let rest = value.unicodeScalars.dropFirst()
            guard let next = rest.first else { return false }
            return !(("0"..."9").contains(next) || next == " " || next == "(")
        default: return false
        }
    }

    public static func escape(_ value: String) -> String { needsEscape(value) ? "'" + value : value }

    /// Removes the apostrophe ``escape(_:)`` adds; any other leading apostrophe is data and stays.
    public static func unescape(_ value: String) -> String {
        guard value.hasPrefix("'") else { return value }
        let rest = String(value.dropFirst())
        return needsEscape(rest) ? rest : value
    }
}
