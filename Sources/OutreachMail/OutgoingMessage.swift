import Foundation
import OutreachCore

/// A message ready to be written out as RFC 5322 bytes: the one place that decides what goes on the wire.
///
/// The text part is always present; with an HTML part the message is `multipart/alternative` (text first, as
/// RFC 2046 §5.1.4 orders them: least to most faithful).
public struct OutgoingMessage: Sendable, Equatable {
    public var from: Mailbox
    public var to: [Mailbox]
    public var cc: [Mailbox] = []
    public var subject: String
    public var date: Date
    /// Without angle brackets; assigned and stored before the message is sent.
    public var messageID: String
    public var inReplyTo: String?
    public var references: [String] = []
    public var textBody: String
    public var htmlBody: String?
    /// Extra headers such as `List-Unsubscribe`; names and values are checked like every other header.
    public var extraHeaders: [(name: String, value: String)] = []

    public init(
        from: Mailbox, to: [Mailbox], subject: String, date: Date = Date(), messageID: String? = nil,
        inReplyTo: String? = nil, references: [String] = [], textBody: String, htmlBody: String? = nil
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageID = messageID ?? MessageIdentifier.generate(domain: from.address.domain, now: date)
        self.inReplyTo = inReplyTo
        self.references = references
        self.textBody = textBody
        self.htmlBody = htmlBody
    }

    public static func == (a: OutgoingMessage, b: OutgoingMessage) -> Bool {
        a.from == b.from && a.to == b.to && a.cc == b.cc && a.subject == b.subject && a.date == b.date && a.messageID == b.messageID
            && a.inReplyTo == b.inReplyTo && a.references == b.references && a.textBody == b.textBody && a.htmlBody == b.htmlBody
            && a.extraHeaders.elementsEqual(b.extraHeaders, by: { $0.name == $1.name && $0.value == $1.value })
    }

    /// The full message with CRLF line ends.
    public func rendered(timeZone: TimeZone = .current) throws(CompositionError) -> String {
        guard !to.isEmpty else { throw .noRecipients }
        var lines: [String] = []
        func add(_ name: String, _ value: String) throws(CompositionError) {
            try HeaderEncoding.checkSafe(value, field: name)
            lines.append(try HeaderEncoding.fold(name, value))
        }
        func addresses(_ list: [Mailbox], field: String) throws(CompositionError) -> String {
            var parts: [String] = []
            for box in list {
                // The address in its wire form: an internationalised domain as IDNA (`xn--…`), which every server reads.
                let address = box.address.wireForm
                try HeaderEncoding.checkSafe(address, field: field)
                if let name = box.name {
                    try HeaderEncoding.checkSafe(name, field: field)
                    parts.append("\(HeaderEncoding.encodePhrase(name)) <\(address)>")
                } else {
                    parts.append(address)
                }
            }
            return parts.joined(separator: ", ")
        }
        try add("Date", RFC5322Date.format(date, timeZone: timeZone))
        try add("From", addresses([from], field: "From"))
        try add("To", addresses(to, field: "To"))
        if !cc.isEmpty { try add("Cc", addresses(cc, field: "Cc")) }
        try HeaderEncoding.checkSafe(subject, field: "Subject")
        try add("Subject", HeaderEncoding.encodeText(subject))
        try add("Message-ID", "<\(messageID)>")
        if let inReplyTo { try add("In-Reply-To", "<\(inReplyTo)>") }
        if !references.isEmpty { try add("References", references.map { "<\($0)>" }.joined(separator: " ")) }
        for header in extraHeaders {
            try HeaderEncoding.checkSafe(header.name, field: "a custom header name")
            guard !header.name.isEmpty, !header.name.contains(":"), !header.name.contains(" ") else { throw .lineBreakInHeader(field: header.name) }
            try add(header.name, header.value)
        }
        try add("MIME-Version", "1.0")

        let textPart = QuotedPrintable.encode(textBody)
        guard let htmlBody else {
            lines.append("Content-Type: text/plain; charset=utf-8")
            lines.append("Content-Transfer-Encoding: quoted-printable")
            return lines.joined(separator: "\r\n") + "\r\n\r\n" + textPart + "\r\n"
        }
        let boundary = "=_outreach_" + messageID.prefix(while: { $0 != "@" }).replacingOccurrences(of: ".", with: "_")
        lines.append("Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"")
        var body = "This is a multi-part message in MIME format.\r\n"
        body += "\r\n--\(boundary)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        body += textPart
        body += "\r\n--\(boundary)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        body += QuotedPrintable.encode(htmlBody)
        body += "\r\n--\(boundary)--\r\n"
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }
}
