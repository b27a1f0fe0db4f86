/// Where a merge value lands, which decides how it is escaped. The template is trusted, the data is not (the model of
/// Go's html/template): every value is escaped for its place, the template's own text never is.
enum ValueContext: UInt8, Sendable, Hashable {
    /// Subject and plain-text part: as written.
    case raw
    /// Running HTML text: `& < > " '` as entities, line breaks as `<br>`.
    case htmlText
    /// An HTML attribute value, quoted or not: also white space, `=` and backtick as entities.
    case htmlAttribute
    /// Inside a URL after its scheme (plain text or HTML): percent-encoded, so it cannot end the URL or the attribute.
    case url
    /// A value that begins a URL, in the plain-text part. See ``ValueContext/safeURLStart(_:)``.
    case urlStart
    /// A value that begins a URL in an HTML attribute.
    case htmlURLStart

    func append(_ value: String, to out: inout String) {
        switch self {
        case .raw: out += value
        case .htmlText: Self.appendHTML(value, to: &out, attribute: false)
        case .htmlAttribute: Self.appendHTML(value, to: &out, attribute: true)
        case .url: Self.appendPercentEncoded(value, to: &out, keepReserved: false)
        case .urlStart: out += Self.safeURLStart(value)
        case .htmlURLStart: Self.appendHTML(Self.safeURLStart(value), to: &out, attribute: true)
        }
    }

    /// A value that starts a link target must not choose a dangerous scheme (`javascript:`, `data:`): http, https and
    /// mailto URLs are kept, a bare domain (`acme.com/pricing`) gets `https://`, anything else becomes `#`.
    static func safeURLStart(_ value: String) -> String {
        let lower = value.prefix(8).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("mailto:") {
            var out = ""
            appendPercentEncoded(value, to: &out, keepReserved: true)
            return out
        }
        // A ":" before any "/", ".", "?" or "#" means the value names its own scheme (javascript:, data:, tel:…).
        for scalar in value.unicodeScalars {
            if scalar == ":" { return "#" }
            if scalar == "/" || scalar == "." || scalar == "?" || scalar == "#" { break }
        }
        if value.isEmpty || value.hasPrefix("/") || value.hasPrefix("\\") || value.hasPrefix(".") { return "#" }
        var out = "https://"
        appendPercentEncoded(value, to: &out, keepReserved: true)
        return out
    }

    private static func appendHTML(_ value: String, to out: inout String, attribute: Bool) {
        let utf8 = value.utf8
        let needsWork = utf8.contains { byte in
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"),
                UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                return true
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "="), UInt8(ascii: "`"), 0x0C:
                return attribute
            default:
                return false
            }
        }
        guard needsWork else {
            out += value
            return
        }
        var previousWasCR = false
        for scalar in value.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n" where !attribute: if !previousWasCR { out += "<br>" }
            case "\r" where !attribute: out += "<br>"
            case " ", "\t", "\n", "\r", "=", "`", "\u{0C}":
                if attribute { out += "&#\(scalar.value);" } else { out.unicodeScalars.append(scalar) }
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".unicodeScalars)

    /// Keeps RFC 3986 unreserved characters plus `/ : @`; `keepReserved` (for a whole URL) also keeps the rest of
    /// the reserved set and `%`, encoding only what cannot appear in a URL (spaces, quotes, `<>`, non-ASCII).
    private static func appendPercentEncoded(_ value: String, to out: inout String, keepReserved: Bool) {
        for byte in value.utf8 {
            let keep: Bool
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "@"):
                keep = true
            case UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "!"),
                UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
                UInt8(ascii: "%"):
                keep = keepReserved
            default:
                keep = false
            }
            if keep {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hexDigits[Int(byte >> 4)])
                out.unicodeScalars.append(hexDigits[Int(byte & 0x0F)])
            }
        }
    }
}
