extension Unicode.Scalar {
    /// C0 controls, DEL and C1 controls: bytes a damaged or binary file leaves in text.
    public var isControlCharacter: Bool { value < 0x20 || (0x7F...0x9F).contains(value) }

    /// Characters that show nothing, or nothing a reader can tell apart: every default-ignorable code point
    /// (U+00AD soft hyphen, U+200B zero width space, U+2060 word joiner, U+FEFF byte order mark, variation
    /// selectors, …), every other format character (Cf), and the line and paragraph separators.
    public var isInvisible: Bool {
        if properties.isDefaultIgnorableCodePoint { return true }
        switch properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// `U+200B ZERO WIDTH SPACE`, `U+0000 NUL`: the code point, and its name (for C0 controls and DEL, which have
    /// none, their usual abbreviation) when it has one.
    public var codePointDescription: String {
        let hex = String(value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        if value < 0x20 { return "\(code) \(Self.c0Abbreviations[Int(value)])" }
        if value == 0x7F { return "\(code) DEL" }
        if let name = properties.name ?? properties.nameAlias { return "\(code) \(name)" }
        return code
    }

    private static let c0Abbreviations = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI",
        "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
    ]
}

extension StringProtocol {
    /// The text as an error message may show it: control characters and invisible ones written as Swift-style escapes
    /// (`\u{0}`, `\u{FEFF}`), so that raw bytes from a broken file never reach a terminal or a log, and an address
    /// that only looks right shows why it is not. Everything else is left as it is.
    public var visiblyEscaped: String {
        guard unicodeScalars.contains(where: { $0.isControlCharacter || $0.isInvisible }) else { return String(self) }
        var result = ""
        for scalar in unicodeScalars {
            if scalar.isControlCharacter || scalar.isInvisible {
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
