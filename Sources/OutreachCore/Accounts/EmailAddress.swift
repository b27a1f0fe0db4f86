/// A mailbox address (`local@domain`) that passed the checks an MTA would apply before accepting it.
///
/// Validation follows the WHATWG "valid e-mail address" grammar (what browsers accept), which is a deliberate
/// subset of RFC 5322 that excludes quoted local parts and comments, plus RFC 5321's length limits. Control and
/// invisible characters (U+200B, U+00AD, U+FEFF, …) are refused anywhere in the address: they make an address that
/// looks right and that no server accepts. Internationalised domains are accepted when every non-ASCII character is a
/// letter, mark or digit; they are kept (and shown) as typed, and go on the wire as ``wireForm``, in their IDNA
/// (`xn--`) form. Domains are kept as typed; comparison is case-insensitive on the domain and exact on the local part, as RFC 5321 says,
/// but ``normalized`` lowercases both because every real provider treats local parts case-insensitively.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    public let localPart: String
    public let domain: String

    public var description: String { "\(localPart)@\(domain)" }
    /// The form used as a key (deduplication, lookups): trimmed and lowercased.
    public var normalized: String { description.lowercased() }
    /// The domain as SMTP and message headers carry it: ASCII, internationalised labels in their IDNA (`xn--`) form
    /// (``Punycode/asciiDomain(_:)``).
    public var asciiDomain: String { Punycode.asciiDomain(domain) ?? domain }
    /// The address as it goes on the wire (RCPT TO, MAIL FROM, To/From headers): ``localPart``@``asciiDomain``.
    public var wireForm: String { "\(localPart)@\(asciiDomain)" }
    /// The form to compare an address from a message with a prospect's: lowercased, the domain in its IDNA form, as
    /// replies and delivery reports carry it (a prospect at `bücher.test` answers from `…@xn--bcher-kva.test`).
    public var matchKey: String { "\(localPart)@\(asciiDomain)".lowercased() }

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case empty
        case missingAt(String)
        case badLocalPart(String)
        case badDomain(String)
        case tooLong(String)
        /// A control character, or one that shows nothing (``Unicode/Scalar/isInvisible``), anywhere in the address.
        case invisibleCharacter(String, Unicode.Scalar)

        public var description: String {
            switch self {
            case .empty: "the address is empty"
            case .missingAt(let s): "'\(s.visiblyEscaped)' is not an email address (no @)"
            case .badLocalPart(let s): "'\(s.visiblyEscaped)' has characters that are not allowed before the @"
            case .badDomain(let s): "'\(s.visiblyEscaped)' has a domain that is not a valid host name"
            case .tooLong(let s): "'\(s.visiblyEscaped)' is longer than SMTP allows (64 characters before the @, 254 in all)"
            case .invisibleCharacter(let s, let scalar):
                "'\(s.visiblyEscaped)' \(Self.invisibleReason(scalar)) — delete it (retype the address if it looks right; "
                    + "such characters come with text copied from web pages and documents)"
            }
        }

        /// "holds an invisible character, U+200B ZERO WIDTH SPACE, that mail servers refuse".
        public static func invisibleReason(_ scalar: Unicode.Scalar) -> String {
            let kind = scalar.isControlCharacter ? "a control character" : "an invisible character"
            return "holds \(kind), \(scalar.codePointDescription), that mail servers refuse"
        }
    }

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Parses and validates an address; surrounding white space and one pair of angle brackets are tolerated.
    public init(parsing raw: String) throws(Invalid) {
        if let fast = Self.parseASCII(raw) {
            self = fast
            return
        }
        var text = raw.trimmingASCIIWhitespace()
        if text.hasPrefix("<") && text.hasSuffix(">") && text.count >= 2 {
            text = String(text.dropFirst().dropLast())
        }
        guard !text.isEmpty else { throw .empty }
        if let hidden = text.unicodeScalars.first(where: { $0.isControlCharacter || $0.isInvisible }) {
            throw .invisibleCharacter(text, hidden)
        }
        guard let at = text.lastIndex(of: "@") else { throw .missingAt(text) }
        let local = String(text[..<at])
        let domain = String(text[text.index(after: at)...])
        guard local.utf8.count <= 64, text.utf8.count <= 254 else { throw .tooLong(text) }
        guard !local.isEmpty, local.utf8.allSatisfy(Self.isLocalPartByte) else { throw .badLocalPart(text) }
        guard Self.isValidDomain(domain) else { throw .badDomain(text) }
        self.init(localPart: local, domain: domain)
    }

    /// The common case, checked on bytes: an ASCII address without surrounding space or brackets. Returns nil for
    /// anything else (including every invalid address), which then takes the full path and its precise error.
    /// A million-row import validates a million addresses; per-Character work made that the slowest step.
    private static func parseASCII(_ raw: String) -> EmailAddress? {
        let utf8 = raw.utf8
        guard utf8.count <= 254 else { return nil }
        return utf8.withContiguousStorageIfAvailable { bytes -> EmailAddress? in
            var at = -1
            for (i, b) in bytes.enumerated() {
                if b == UInt8(ascii: "@") {
                    guard at < 0 else { return nil }
                    at = i
                } else if b >= 0x80 {
                    return nil
                }
            }
            guard at > 0, at <= 64, at < bytes.count - 1 else { return nil }
            for b in bytes[..<at] where !isLocalPartByte(b) { return nil }
            // Domain: labels of [A-Za-z0-9-], 1…63 long, no hyphen at either end, at least two labels.
            var labelLength = 0
            var labels = 1
            var previous: UInt8 = UInt8(ascii: ".")
            for b in bytes[(at + 1)...] {
                switch b {
                case UInt8(ascii: "."):
                    guard labelLength > 0, previous != UInt8(ascii: "-") else { return nil }
                    labels += 1
                    labelLength = 0
                case UInt8(ascii: "-"):
                    guard labelLength > 0 else { return nil }
                    labelLength += 1
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    labelLength += 1
                default:
                    return nil
                }
                guard labelLength <= 63 else { return nil }
                previous = b
            }
            guard labelLength > 0, previous != UInt8(ascii: "-"), labels >= 2 else { return nil }
            return EmailAddress(localPart: String(decoding: bytes[..<at], as: UTF8.self), domain: String(decoding: bytes[(at + 1)...], as: UTF8.self))
        } ?? nil
    }

    public static func isValid(_ raw: String) -> Bool {
        (try? EmailAddress(parsing: raw)) != nil
    }

    // WHATWG: a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-
    private static func isLocalPartByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array(".!#$%&'*+/=?^_`{|}~-".utf8).contains(b)
        }
    }

    /// Dot-separated labels of letters, digits and inner hyphens, at most 63 octets each; at least one dot, since a bare
    /// host name is never a prospect's domain. Non-ASCII labels (IDN) may hold letters, marks and digits; the limits
    /// apply to their IDNA form, the one that goes on the wire.
    static func isValidDomain(_ domain: String) -> Bool {
        let isASCII = domain.utf8.allSatisfy { $0 < 0x80 }
        guard !domain.isEmpty, !isASCII || domain.utf8.count <= 253 else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard !label.isEmpty, !isASCII || label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            for scalar in label.unicodeScalars {
                let ok = scalar.isASCII
                    ? scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-"
                    : isInternationalDomainScalar(scalar)
                if !ok { return false }
            }
        }
        guard !isASCII else { return true }
        guard let ascii = Punycode.asciiDomain(domain), ascii.utf8.count <= 253 else { return false }
        return ascii.split(separator: ".").allSatisfy { $0.utf8.count <= 63 }
    }

    /// Letters, combining marks and decimal digits: what IDNA lets a label hold, roughly (no symbols, punctuation,
    /// spaces or invisible characters).
    private static func isInternationalDomainScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isInvisible || scalar.isControlCharacter { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber:
            return true
        default:
            return false
        }
    }
}

extension StringProtocol {
    /// Trims spaces, tabs, CR and LF — the white space that CSV cells and config values carry — without Foundation.
    public func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
