import Testing

@testable import OutreachCore

@Suite("Punycode and IDNA domains")
struct PunycodeTests {
    /// RFC 3492 §7.1 sample strings (A, B, C, D, L, M, R, S) and their encodings.
    static let samples: [(String, String)] = [
        ("\u{0644}\u{064A}\u{0647}\u{0645}\u{0627}\u{0628}\u{062A}\u{0643}\u{0644}\u{0645}\u{0648}\u{0634}\u{0639}\u{0631}\u{0628}\u{064A}\u{061F}",
         "egbpdaj6bu4bxfgehfvwxn"),
        ("\u{4ED6}\u{4EEC}\u{4E3A}\u{4EC0}\u{4E48}\u{4E0D}\u{8BF4}\u{4E2D}\u{6587}", "ihqwcrb4cv8a8dqg056pqjye"),
        ("\u{4ED6}\u{5011}\u{7232}\u{4EC0}\u{9EBD}\u{4E0D}\u{8AAA}\u{4E2D}\u{6587}", "ihqwctvzc91f659drss3x8bo0yb"),
        ("Pro\u{010D}prost\u{011B}nemluv\u{00ED}\u{010D}esky", "Proprostnemluvesky-uyb24dma41a"),
        ("3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}", "3B-ww4c5e180e575a65lsy2b"),
        ("\u{5B89}\u{5BA4}\u{5948}\u{7F8E}\u{6075}-with-SUPER-MONKEYS", "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"),
        ("\u{305D}\u{306E}\u{30B9}\u{30D4}\u{30FC}\u{30C9}\u{3067}", "d9juau41awczczp"),
        ("-> $1.00 <-", "-> $1.00 <--"),
    ]

    @Test("RFC 3492's sample strings encode and decode", arguments: samples)
    func sample(unicode: String, encoded: String) {
        #expect(Punycode.encode(unicode) == encoded)
        #expect(Punycode.decode(encoded) == unicode)
    }

    @Test("Invalid Punycode does not decode", arguments: ["abc-!", "99999999999999", "a-9", "bücher"])
    func invalid(text: String) {
        #expect(Punycode.decode(text) == nil)
    }

    @Test("A domain's IDNA form: lowercased, NFC, xn-- per non-ASCII label; ASCII domains unchanged", arguments: [
        ("bücher.test", "xn--bcher-kva.test"),
        ("Bücher.Test", "xn--bcher-kva.test"),
        ("bu\u{0308}cher.test", "xn--bcher-kva.test"),
        ("mail.münchen.de", "mail.xn--mnchen-3ya.de"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("Example.COM", "Example.COM"),
    ])
    func asciiDomain(domain: String, ascii: String) {
        #expect(Punycode.asciiDomain(domain) == ascii)
    }

    @Test("An internationalised address keeps its Unicode form for display and goes on the wire as IDNA")
    func wireForm() throws {
        let address = try EmailAddress(parsing: "someone@Bücher.test")
        #expect(address.description == "someone@Bücher.test")
        #expect(address.wireForm == "someone@xn--bcher-kva.test")
        #expect(try EmailAddress(parsing: "ann@example.com").wireForm == "ann@example.com")
    }

    @Test("Label limits apply to the IDNA form: 22 CJK characters (66 UTF-8 bytes) fit, 40 do not")
    func labelLengthOnTheWire() throws {
        func label(_ count: Int) -> String { String(String.UnicodeScalarView((0..<count).map { Unicode.Scalar(0x4E00 + UInt32($0) * 37)! })) }
        let fits = try EmailAddress(parsing: "a@\(label(22)).test")
        #expect(fits.asciiDomain.split(separator: ".")[0].utf8.count <= 63)
        #expect(throws: EmailAddress.Invalid.badDomain("a@\(label(40)).test")) { try EmailAddress(parsing: "a@\(label(40)).test") }
    }

    @Test("Invisible and control characters in an address are refused by name, wherever they are", arguments: [
        ("p1@pros\u{FEFF}pects.test", "\u{FEFF}"), ("p1@prospects.test\u{200B}", "\u{200B}"), ("p1@pros\u{00AD}pects.test", "\u{00AD}"),
        ("p1\u{200B}@prospects.test", "\u{200B}"), ("p1@prospects\u{2060}.test", "\u{2060}"), ("p1@bu\u{200D}cher.test", "\u{200D}"),
        ("p1@b\u{00FC}cher.test\u{FE0F}", "\u{FE0F}"), ("p\u{0}1@prospects.test", "\u{0}"), ("p1@prospects.test\u{7F}", "\u{7F}"),
        ("p1@prospects.te\u{202E}st", "\u{202E}"),
    ])
    func invisible(address: String, character: String) throws {
        let scalar = character.unicodeScalars.first!
        #expect(throws: EmailAddress.Invalid.invisibleCharacter(address, scalar)) { try EmailAddress(parsing: address) }
        let error = try #require(throws: EmailAddress.Invalid.self) { try EmailAddress(parsing: address) }
        #expect(!error.description.unicodeScalars.contains(scalar), "the message echoes the raw character: \(error)")
        #expect(error.description.contains("\\u{\(String(scalar.value, radix: 16, uppercase: true))}"))
        #expect(error.description.contains(scalar.codePointDescription))
    }

    @Test("Symbols and spaces are not letters of a domain", arguments: ["a@ex\u{00A0}ample.test", "a@ex☃mple.test", "a@例え。テスト"])
    func notDomainLetters(address: String) {
        #expect(!EmailAddress.isValid(address))
    }

    @Test("Control and invisible characters are shown escaped; everything else as it is")
    func visiblyEscaped() {
        #expect("a\u{0}b\u{1B}[31mc\u{FEFF}d\u{200B}".visiblyEscaped == "a\\u{0}b\\u{1B}[31mc\\u{FEFF}d\\u{200B}")
        #expect("Zoë Müller, \"ok\"".visiblyEscaped == "Zoë Müller, \"ok\"")
    }
}
