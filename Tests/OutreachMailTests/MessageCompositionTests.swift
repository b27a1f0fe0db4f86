import Foundation
import OutreachCore
import OutreachMail
import Testing

struct MessageCompositionTests {
    func message(subject: String = "Hello", name: String? = "Jürgen Groß") throws -> OutgoingMessage {
        OutgoingMessage(
            from: Mailbox(try EmailAddress(parsing: "sales@example.com"), name: name),
            to: [Mailbox(try EmailAddress(parsing: "anna@example.org"), name: "Anna \"The Boss\" Smith")],
            subject: subject, date: Date(timeIntervalSince1970: 1_780_000_000), inReplyTo: "parent@example.com",
            references: ["root@example.com", "parent@example.com"], textBody: "Hi Anna,\n\nthanks — bis bald.", htmlBody: "<p>Hi Anna,</p>"
        )
    }

    @Test("what we write, libetpan reads back: ids, names, subject")
    func roundTrip() throws {
        let msg = try message(subject: "Quick question about Groß & Söhne's Q3 plans — a rather long subject line that needs folding")
        let text = try msg.rendered()
        #expect(text.contains("\r\n\r\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "bare LF in output")
        for line in text.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 998) }
        let headerBlock = String(text[..<text.range(of: "\r\n\r\n")!.upperBound])
        for line in headerBlock.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 78, "header line too long: \(line)") }

        let parsed = HeaderParser.parse(headerBlock)
        #expect(parsed.messageID == msg.messageID)
        #expect(parsed.inReplyTo == ["parent@example.com"])
        #expect(parsed.references == ["root@example.com", "parent@example.com"])
        #expect(parsed.subject == msg.subject)
        #expect(parsed.from.first?.name == "Jürgen Groß")
        #expect(parsed.to.first?.name == "Anna \"The Boss\" Smith")
        #expect(parsed.date == msg.date)
        #expect(parsed[field: "MIME-Version"] == "1.0")
        #expect(text.contains("Content-Type: multipart/alternative"))
    }

    @Test("internationalised domains go into To, From and Message-ID in their IDNA form; the headers stay ASCII")
    func internationalisedDomains() throws {
        let msg = OutgoingMessage(
            from: Mailbox(try EmailAddress(parsing: "sales@Bücher.test"), name: "Sam"),
            to: [Mailbox(try EmailAddress(parsing: "someone@bücher.test")), Mailbox(try EmailAddress(parsing: "li@例え.テスト"), name: "Li")],
            subject: "Hello", date: Date(timeIntervalSince1970: 1_780_000_000), textBody: "Hi"
        )
        let text = try msg.rendered()
        let headerBlock = String(text[..<text.range(of: "\r\n\r\n")!.upperBound])
        #expect(headerBlock.contains("To: someone@xn--bcher-kva.test, Li <li@xn--r8jz45g.xn--zckzah>"), "\(headerBlock)")
        #expect(headerBlock.contains("From: Sam <sales@xn--bcher-kva.test>"), "\(headerBlock)")
        #expect(msg.messageID.hasSuffix("@xn--bcher-kva.test"))
        #expect(headerBlock.unicodeScalars.allSatisfy { $0.isASCII }, "\(headerBlock)")
        #expect(HeaderParser.parse(headerBlock).to.first?.address.description == "someone@xn--bcher-kva.test")
    }

    @Test("a line break in any header value refuses the whole message")
    func headerInjection() throws {
        #expect(throws: CompositionError.lineBreakInHeader(field: "Subject")) { try message(subject: "Hi\r\nBcc: victim@example.net").rendered() }
        #expect(throws: CompositionError.lineBreakInHeader(field: "From")) { try message(name: "Evil\nBcc: x@example.net").rendered() }
        var custom = try message()
        custom.extraHeaders = [(name: "X-Tag", value: "a\u{0}b")]
        #expect(throws: CompositionError.self) { try custom.rendered() }
    }

    @Test func messageIDsAreUniqueAndAtTheSendersDomain() throws {
        let ids = (0..<1000).map { _ in MessageIdentifier.generate(domain: "Example.COM") }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.hasSuffix("@example.com") && !$0.contains(" ") })
    }

    @Test("broken structured headers still yield their ids")
    func lenientParsing() {
        let parsed = HeaderParser.parse("Message-ID: <a@b>\r\nReferences: <x@y> junk <z@w>\r\nIn-Reply-To: Your message of Monday <z@w>\r\nSubject: =?iso-8859-1?Q?Gr=FC=DFe?=\r\nAuto-Submitted: auto-replied\r\n\r\n")
        #expect(parsed.messageID == "a@b")
        #expect(parsed.references == ["x@y", "z@w"])
        #expect(parsed.inReplyTo == ["z@w"])
        #expect(parsed.subject == "Grüße")
        #expect(parsed[field: "auto-submitted"] == "auto-replied")
    }
}

struct RFC5322DateTests {
    @Test("Date headers match what a POSIX-locale formatter writes, across zones and leap days")
    func matchesFormatter() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns"].compactMap(TimeZone.init(identifier:))
        var generator = SystemRandomNumberGenerator()
        let dates = [0, 951_782_400, 1_709_164_800, 1_780_000_000, -86_400 * 400].map { Date(timeIntervalSince1970: Double($0)) }
            + (0..<200).map { _ in Date(timeIntervalSince1970: Double(Int.random(in: 0...4_000_000_000, using: &generator))) }
        for zone in zones {
            formatter.timeZone = zone
            for date in dates { #expect(RFC5322Date.format(date, timeZone: zone) == formatter.string(from: date)) }
        }
    }
}
