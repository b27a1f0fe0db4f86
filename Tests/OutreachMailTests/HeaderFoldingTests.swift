import Foundation
import OutreachCore
import OutreachMail
import Testing

/// RFC 5322 §2.1.1 and §2.2.3: no line over 998 octets (78 recommended), long headers folded at white space, and
/// unfolding gives the header back.
@Suite("Long headers are folded")
struct HeaderFoldingTests {
    private func message(subject: String, toName: String? = "Anna", references: [String] = []) throws -> OutgoingMessage {
        OutgoingMessage(
            from: Mailbox(try EmailAddress(parsing: "sales@example.com"), name: "Sam Sender"),
            to: [Mailbox(try EmailAddress(parsing: "anna@example.org"), name: toName)], subject: subject,
            inReplyTo: references.last, references: references, textBody: "Hi", htmlBody: "<p>Hi</p>"
        )
    }

    /// The header block's physical lines, after checking each against the limits.
    private func headerLines(_ rendered: String) throws -> [String] {
        let block = try #require(rendered.range(of: "\r\n\r\n")).lowerBound
        let lines = rendered[..<block].components(separatedBy: "\r\n")
        for line in lines {
            #expect(line.utf8.count <= 78, "a header line of \(line.utf8.count) octets: \(line.prefix(120))…")
            #expect(!line.trimmingCharacters(in: .whitespaces).isEmpty, "a continuation line of white space only")
        }
        return lines
    }

    /// The unfolded value of `name` (RFC 5322 §2.2.3: folding only inserts CRLF before white space).
    private func unfolded(_ name: String, in lines: [String]) throws -> String {
        let start = try #require(lines.firstIndex { $0.hasPrefix(name + ": ") }, "no \(name) header")
        var value = String(lines[start].dropFirst(name.count + 2))
        for line in lines[(start + 1)...] {
            guard line.hasPrefix(" ") || line.hasPrefix("\t") else { break }
            value += line
        }
        return value
    }

    static let subjects: [String: String] = [
        "one 1 MB word": String(repeating: "x", count: 1_000_000),
        "100,000 short words": (1...100_000).map { "w\($0)" }.joined(separator: " "),
        "non-ASCII": Array(repeating: "Grüße aus Köln —", count: 20_000).joined(separator: " "),
        "URLs longer than a line": "Quick question " + String(repeating: "https://example.com/a-very-long-path/", count: 30) + " for you",
    ]

    @Test(arguments: subjects.keys.sorted())
    func aLongSubjectIsFoldedAndReadsBackWhole(kind: String) throws {
        let subject = try #require(Self.subjects[kind])
        let rendered = try message(subject: subject).rendered()
        let lines = try headerLines(rendered)
        #expect(lines.count > subject.utf8.count / 78)
        let value = try unfolded("Subject", in: lines)
        if kind == "100,000 short words" { #expect(value == subject, "plain ASCII words stay as written") }
        let parsed = HeaderParser.parse(Array(rendered.utf8))
        #expect(parsed.subject == subject, "the subject read back differs (\(parsed.subject?.utf8.count ?? 0) of \(subject.utf8.count) bytes)")
    }

    @Test func longDisplayNamesAndReferenceChainsAreFolded() throws {
        let ids = (1...400).map { "round\($0).\(UUID().uuidString)@example.com" }
        let names = [
            String(repeating: "Anna", count: 100),  // one atom, 400 octets
            Array(repeating: "Anna \"The Boss\" Smith,", count: 20).joined(separator: " "),  // quoted
            Array(repeating: "Zoë Müller-Lüdenscheidt", count: 20).joined(separator: " "),  // encoded
        ]
        for name in names {
            let rendered = try message(subject: "Re: hello", toName: name, references: ids).rendered()
            let lines = try headerLines(rendered)
            let parsed = HeaderParser.parse(Array(rendered.utf8))
            #expect(parsed.to.first?.name == name)
            #expect(parsed.to.first?.address.description == "anna@example.org")
            #expect(parsed.references == ids)
            #expect(try unfolded("References", in: lines) == ids.map { "<\($0)>" }.joined(separator: " "))
        }
    }

    @Test func aWordTooLongForAnyLineIsRefusedNotSent() throws {
        var message = try message(subject: "Hi")
        message.extraHeaders = [(name: "List-Unsubscribe", value: "<https://example.com/u/" + String(repeating: "a", count: 1000) + ">")]
        #expect(throws: CompositionError.headerTooLong(field: "List-Unsubscribe")) { try message.rendered() }
        #expect(
            CompositionError.headerTooLong(field: "List-Unsubscribe").description
                == "the List-Unsubscribe header holds a word longer than a header line may be (998 bytes), so it cannot be folded")
    }
}
