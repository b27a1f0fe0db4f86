import OutreachCore
import Testing

@Suite("Template files: encodings and what the subject may hold")
struct TemplateSourceTests {
    private let text = "Subject: Grüße, {first}\n\nHallo {first|du},\nschön, dass es klappt."

    private func utf16(_ text: String, bigEndian: Bool, byteOrderMark: Bool) -> [UInt8] {
        var bytes: [UInt8] = byteOrderMark ? (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) : []
        for unit in text.utf16 {
            let pair = [UInt8(unit & 0xFF), UInt8(unit >> 8)]
            bytes += bigEndian ? pair.reversed() : pair
        }
        return bytes
    }

    @Test(arguments: [(false, true), (true, true), (false, false), (true, false)])
    func utf16TemplatesAreReadAsTheCSVImportReadsThem(bigEndian: Bool, byteOrderMark: Bool) throws {
        let source = TemplateSource(bytes: utf16(text, bigEndian: bigEndian, byteOrderMark: byteOrderMark))
        #expect(source.text == text)
        #expect(source.encoding == (bigEndian ? .utf16BigEndian : .utf16LittleEndian))
        let template = try EmailTemplate(parsing: source)
        #expect(template.lint(knownKeys: [.first]).isEmpty)
        let email = try #require(template.render(values: [.first: "Zoë"]).email)
        #expect(email.subject == "Grüße, Zoë")
        #expect(email.text == "Hallo Zoë,\nschön, dass es klappt.")
    }

    @Test func aUTF8FileWithABOMIsUTF8() throws {
        let source = TemplateSource(bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8))
        #expect(source.text == text)
        #expect(try EmailTemplate(parsing: source).lint(knownKeys: [.first]).isEmpty)
    }

    @Test func aLatin1LineIsReadAsWindows1252AndLintSaysWhichLine() throws {
        // Line 4 pasted from a Windows-1252 file: "Café" with é as the single byte E9, and a € as 80.
        let bytes = Array("Subject: Grüße\r\n\r\nHallo {first},\r\n".utf8) + Array("Caf".utf8) + [0xE9, 0x20, 0x80, 0x35] + Array("\r\nBis bald".utf8)
        let source = TemplateSource(bytes: bytes)
        #expect(source.encoding == .windows1252)
        #expect(source.text == "Subject: Grüße\r\n\r\nHallo {first},\r\nCafé €5\r\nBis bald")
        let issues = try EmailTemplate(parsing: source).lint(knownKeys: [.first])
        #expect(issues == [TemplateIssue(kind: .readAsWindows1252(excerpt: "Café €5"), line: 4)])
        #expect(issues[0].severity == .warning)
        #expect(
            issues[0].description
                == "line 4: warning: this line is not valid UTF-8 and was read as Windows-1252 (\"Café €5\"); check that its accents look right, or save the file as UTF-8")
        let email = try #require(try EmailTemplate(parsing: source).render(values: [.first: "Ana"]).email)
        #expect(email.text == "Hallo Ana,\nCafé €5\nBis bald")
        #expect(!email.text.contains("\u{FFFD}"))
    }

    @Test func aNULInTheSubjectIsALintErrorNotAHeldRound() throws {
        let template = try EmailTemplate(parsing: "Subject: Hello\u{0}there {first}\n\nHi")
        let issues = template.lint(knownKeys: [.first])
        #expect(issues == [TemplateIssue(kind: .controlCharacterInSubject(scalar: 0), line: 1)])
        #expect(issues[0].severity == .error)
        #expect(
            issues[0].description
                == "line 1: error: the subject contains a NUL character (U+0000), which no email header can carry: every row would be held; remove it")
        let bell = try EmailTemplate(parsing: "Subject: Ding\u{7}\n\nHi").lint(knownKeys: [])
        #expect(bell.map(\.description) == ["line 1: warning: the subject contains the invisible control character U+0007, which mail programs show as a box or drop; remove it"])
        #expect(try EmailTemplate(parsing: "Subject: a\tb\n\nHi").lint(knownKeys: []).isEmpty)
    }

    @Test func aSubjectOverTheLimitIsALintError() throws {
        let long = String(repeating: "ä", count: 500)  // 1000 bytes of UTF-8
        let issues = try EmailTemplate(parsing: "Subject: \(long)\n\nHi").lint(knownKeys: [])
        #expect(issues == [TemplateIssue(kind: .subjectTooLong(bytes: 1000, limit: EmailTemplate.subjectLimit), line: 1)])
        #expect(issues[0].description == "line 1: error: the subject is 1000 bytes long; the limit is 998 (inboxes show about the first 60 characters)")
        #expect(try EmailTemplate(parsing: "Subject: \(String(repeating: "a", count: 998))\n\nHi").lint(knownKeys: []).isEmpty)
    }
}
