/// Decodes HTML character references: the named ones emails actually use, and every numeric `&#NNN;` / `&#xHH;`.
enum HTMLEntities {
    private static let named: [String: Unicode.Scalar] = {
        var table: [String: Unicode.Scalar] = [
            "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©", "reg": "®",
            "trade": "™", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "sbquo": "‚",
            "ldquo": "“", "rdquo": "”", "bdquo": "„", "bull": "•", "middot": "·", "laquo": "«", "raquo": "»",
            "lsaquo": "‹", "rsaquo": "›", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "sect": "§",
            "para": "¶", "deg": "°", "plusmn": "±", "times": "×", "divide": "÷", "frac12": "½", "frac14": "¼",
            "frac34": "¾", "iexcl": "¡", "iquest": "¿", "shy": "\u{AD}", "zwnj": "\u{200C}", "zwj": "\u{200D}",
            "lrm": "\u{200E}", "rlm": "\u{200F}", "thinsp": "\u{2009}", "ensp": "\u{2002}", "emsp": "\u{2003}",
            "szlig": "ß", "dagger": "†", "larr": "←", "rarr": "→", "uarr": "↑", "darr": "↓", "hearts": "♥",
            "check": "✓", "star": "☆", "oelig": "œ", "OElig": "Œ", "scaron": "š", "Scaron": "Š", "prime": "′",
        ]
        // Latin-1 letters: &Agrave; … &yuml; share a regular naming scheme.
        let accents: [(String, [(Character, UInt32)])] = [
            ("grave", [("a", 0xE0), ("e", 0xE8), ("i", 0xEC), ("o", 0xF2), ("u", 0xF9)]),
            ("acute", [("a", 0xE1), ("e", 0xE9), ("i", 0xED), ("o", 0xF3), ("u", 0xFA), ("y", 0xFD)]),
            ("circ", [("a", 0xE2), ("e", 0xEA), ("i", 0xEE), ("o", 0xF4), ("u", 0xFB)]),
            ("tilde", [("a", 0xE3), ("n", 0xF1), ("o", 0xF5)]),
            ("uml", [("a", 0xE4), ("e", 0xEB), ("i", 0xEF), ("o", 0xF6), ("u", 0xFC), ("y", 0xFF)]),
            ("ring", [("a", 0xE5)]), ("cedil", [("c", 0xE7)]), ("slash", [("o", 0xF8)]),
        ]
        for (suffix, letters) in accents {
            for (letter, value) in letters {
                table["\(letter)\(suffix)"] = Unicode.Scalar(value)!
                if value != 0xFF { table["\(letter.uppercased())\(suffix)"] = Unicode.Scalar(value - 0x20)! }
            }
        }
        table["aelig"] = "æ"
        table["AElig"] = "Æ"
        table["eth"] = "ð"
        table["ETH"] = "Ð"
        table["thorn"] = "þ"
        table["THORN"] = "Þ"
        return table
    }()

    /// Names browsers also accept without the closing semicolon.
    private static let legacy: Set<String> = ["amp", "lt", "gt", "quot", "nbsp"]

    static func decode(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        guard text.contains("&") else { return Array(text) }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == "&", let (scalar, end) = reference(in: text, at: i) {
                out.append(scalar)
                i = end
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    private static func reference(in text: ArraySlice<Unicode.Scalar>, at start: Int) -> (Unicode.Scalar, Int)? {
        var k = start + 1
        if k < text.endIndex, text[k] == "#" {
            k += 1
            var radix = 10
            if k < text.endIndex, text[k] == "x" || text[k] == "X" {
                radix = 16
                k += 1
            }
            let digitsStart = k
            while k < text.endIndex, k - digitsStart < 8, text[k].properties.isASCIIHexDigit { k += 1 }
            guard k > digitsStart,
                let value = UInt32(String(String.UnicodeScalarView(text[digitsStart..<k])), radix: radix)
            else { return nil }
            if k < text.endIndex, text[k] == ";" { k += 1 }
            let scalar = value == 0 ? nil : Unicode.Scalar(value)
            return (scalar ?? "\u{FFFD}", k)
        }
        while k < text.endIndex, k - start <= 10, text[k].isASCIILetterScalar || (text[k] >= "0" && text[k] <= "9") { k += 1 }
        let name = String(String.UnicodeScalarView(text[(start + 1)..<k]))
        if k < text.endIndex, text[k] == ";", let scalar = named[name] { return (scalar, k + 1) }
        if legacy.contains(name), let scalar = named[name] { return (scalar, k) }
        return nil
    }
}
