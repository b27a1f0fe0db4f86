/// The normalized name of a master-file column, used both for CSV headers and for template placeholders, so that
/// "First Name", `first_name`, `FirstName` and `{first}` all mean the same field.
public struct ColumnKey: Hashable, Sendable, Codable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public static let first: ColumnKey = "first"
    public static let last: ColumnKey = "last"
    public static let company: ColumnKey = "company"
    public static let email: ColumnKey = "email"
    public static let select: ColumnKey = "select"
    public static let variant: ColumnKey = "variant"

    public init(stringLiteral value: String) { self.rawValue = value }
    public init(normalizedValue: String) { self.rawValue = normalizedValue }

    /// Normalizes a header or placeholder name: camelCase split, lowercased, every run of other characters made one
    /// underscore, then the well-known synonyms folded onto `first`, `last`, `company`, `email`, `select`, `variant`.
    public init(normalizing name: String) {
        let joined = Self.normalizedASCII(name) ?? Self.normalizedCharacters(name)
        self.rawValue = Self.synonyms[joined] ?? joined
    }

    /// Words of letters and digits, lower-cased, joined by "_"; a capital after a lower-case letter or a digit starts
    /// a word ("FirstName" → first_name; "HTMLTitle" stays one word).
    static func normalizedCharacters(_ name: String) -> String {
        var words: [String] = []
        var current = ""
        var previous: Character?
        for character in name {
            if character.isLetter || character.isNumber {
                if character.isUppercase, let previous, previous.isLowercase || previous.isNumber, !current.isEmpty {
                    words.append(current)
                    current = ""
                }
                current.append(contentsOf: character.lowercased())
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
            previous = character
        }
        if !current.isEmpty { words.append(current) }
        return words.joined(separator: "_")
    }

    /// ``normalizedCharacters(_:)`` on bytes, for an all-ASCII name (nearly every header and placeholder): a template with a
    /// placeholder on each of 100,000 lines spent a tenth of its rendering in Character properties. Nil otherwise.
    static func normalizedASCII(_ name: String) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count + 4)
        var inWord = false
        var previous: UInt8 = 0
        for byte in name.utf8 {
            guard byte < 0x80 else { return nil }
            let upper = byte >= 0x41 && byte <= 0x5A
            if upper || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) {
                let previousLowerOrDigit = (previous >= 0x61 && previous <= 0x7A) || (previous >= 0x30 && previous <= 0x39)
                if upper && previousLowerOrDigit { inWord = false }
                if !inWord {
                    if !out.isEmpty { out.append(0x5F) }
                    inWord = true
                }
                out.append(upper ? byte + 0x20 : byte)
            } else {
                inWord = false
            }
            previous = byte
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { rawValue }
    public static func < (a: ColumnKey, b: ColumnKey) -> Bool { a.rawValue < b.rawValue }

    private static let synonyms: [String: String] = {
        var table: [String: String] = [:]
        for name in ["first", "first_name", "firstname", "given_name", "givenname", "forename", "vorname", "prenom", "prénom"] { table[name] = "first" }
        for name in ["last", "last_name", "lastname", "surname", "family_name", "familyname", "nachname", "nom"] { table[name] = "last" }
        for name in ["company", "company_name", "companyname", "organization", "organisation", "organization_name", "org", "account_name", "firma", "employer"] {
            table[name] = "company"
        }
        for name in ["email", "e_mail", "email_address", "emailaddress", "e_mail_address", "mail", "email_id", "work_email", "business_email"] {
            table[name] = "email"
        }
        for name in ["select", "selected", "send", "include"] { table[name] = "select" }
        for name in ["variant", "ab_variant", "ab", "a_b", "ab_test", "test_variant", "version"] { table[name] = "variant" }
        return table
    }()
}
