import CEtpan
import Foundation
import OutreachCore

/// Reads a raw message (RFC 5322 + MIME) into the ``MessageFacts`` that ``MessageClassifier`` decides on.
///
/// Two ways in:
/// - the whole message (`facts(message:)`): header and body, so bounces yield their failed recipients, status
///   and the original Message-ID;
/// - the header alone (`facts(header:)`, `facts(headers:)`), which is what a sync fetches for most mail:
///   auto-replies and most bounces are recognised, but bounce details are unknown
///   (``BounceDetails/Evidence/headersOnly``); ``MessageClassifier/needsFullMessage(_:)`` says when to fetch the
///   rest.
///
/// Structured values go through libetpan: From through `mailimf_mailbox_list_parse`, RFC 2047 words through
/// `mailmime_encoded_phrase_parse`, returned messages' headers through `mailimf_fields_parse` (``HeaderParser``),
/// transfer encodings and charsets through `mailmime_part_parse` and `charconv`. The header block is split into
/// fields and the MIME structure into parts in Swift, for the tolerance real bounces need — and for speed: the
/// sync reads every message's header through `facts(header:)`, so it parses only the fields the classifier
/// reads (about 15 µs for a `HEADER.FIELDS` block in a release build, a third of `HeaderParser.parse`).
public enum MessageReportParser {
    public static func facts(message bytes: [UInt8]) -> MessageFacts {
        let root = MIMEEntity(bytes[...])
        var facts = headerFacts(root.fields)
        let fromMailSystem = facts.isFromMailSystem || facts.contentType == "multipart/report" || !facts.xFailedRecipients.isEmpty
        facts.body = ReportBody.read(root, ownAddresses: ownAddresses(facts: facts, fields: root.fields), readsRelayedReports: fromMailSystem)
        return facts
    }

    public static func facts(message text: String) -> MessageFacts { facts(message: Array(text.utf8)) }

    /// From a raw header block (for example IMAP `BODY.PEEK[HEADER]` or `HEADER.FIELDS` with
    /// ``MessageFacts/headerFieldNames``). The body is unknown.
    public static func facts(header bytes: [UInt8]) -> MessageFacts {
        headerFacts(RawHeaderFields(RawHeaderFields.split(bytes[...]).header))
    }

    /// From headers already parsed by ``HeaderParser``. Prefer `facts(header:)`: a From that libetpan cannot parse
    /// (`From: MAILER-DAEMON`, no domain) is lost in ``ParsedHeaders``, and `Return-Path` is not kept there.
    public static func facts(headers: ParsedHeaders) -> MessageFacts { headerFacts(parsed: headers) }

    // MARK: - Header

    private static func headerFacts(_ fields: RawHeaderFields) -> MessageFacts {
        var facts = headerFacts(value: { fields.first($0) }, values: { fields.all($0) })
        if let from = fields.first("from") { facts.from = senders(from) }
        facts.subject = fields.first("subject").map { hasEncodedWord($0) ? HeaderParser.decodeWords($0) : $0 }
        if let returnPath = fields.first("return-path") {
            facts.returnPath = DeliveryStatusFields.address(returnPath) ?? ""
        }
        return facts
    }

    private static func headerFacts(parsed: ParsedHeaders) -> MessageFacts {
        var facts = headerFacts(value: { parsed[field: $0] }, values: { parsed[field: $0].map { [$0] } ?? [] })
        facts.from = parsed.from.map { MessageFacts.Sender(address: $0.address.description, displayName: $0.name) }
        facts.subject = parsed.subject
        return facts
    }

    private static func headerFacts(value: (String) -> String?, values: (String) -> [String]) -> MessageFacts {
        var facts = MessageFacts()
        facts.autoSubmitted = value("auto-submitted")
        facts.xAutoreply = value("x-autoreply")
        facts.xAutorespond = value("x-autorespond")
        facts.precedence = value("precedence")
        facts.xFailedRecipients = values("x-failed-recipients").flatMap { NoticeRecipients.addresses(in: $0) }
        if let contentType = value("content-type").flatMap(ContentType.init(parsing:)) {
            facts.contentType = contentType.mediaType
            facts.reportType = contentType.parameters["report-type"]?.lowercased()
        }
        for name in MessageFacts.automationFieldNames {
            if let field = value(name) { facts.automationFields[name] = field }
        }
        return facts
    }

    /// Only encoded words need the (slower) RFC 2047 decoder.
    private static func hasEncodedWord(_ text: String) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if previous == UInt8(ascii: "=") && byte == UInt8(ascii: "?") { return true }
            previous = byte
        }
        return false
    }

    /// The From mailboxes through libetpan's `mailimf_mailbox_list_parse`; what it cannot read ("Mail Delivery
    /// Subsystem <MAILER-DAEMON>", "<>") is read by hand.
    private static func senders(_ raw: String) -> [MessageFacts.Sender] {
        var index = 0
        var list: UnsafeMutablePointer<mailimf_mailbox_list>?
        let status = raw.withCString { mailimf_mailbox_list_parse($0, strlen($0), &index, &list) }
        guard status == MAILIMF_NO_ERROR, let list else { return [rawSender(raw)] }
        defer { mailimf_mailbox_list_free(list) }
        var senders: [MessageFacts.Sender] = []
        for mailbox in CList<mailimf_mailbox>(list.pointee.mb_list) {
            // "MAILER-DAEMON <>" comes back as the address "MAILER-DAEMON<": such a From is read by hand instead.
            guard let spec = mailbox.pointee.mb_addr_spec, strpbrk(spec, "<> \t\"") == nil else { return [rawSender(raw)] }
            let name = mailbox.pointee.mb_display_name.map { strstr($0, "=?") != nil ? HeaderParser.decodeWords($0) : String(cString: $0) }
            senders.append(MessageFacts.Sender(address: String(cString: spec), displayName: name))
        }
        return senders.isEmpty ? [rawSender(raw)] : senders
    }

    /// A From libetpan could not read: "Mail Delivery Subsystem <MAILER-DAEMON>", "mailer-daemon", "<>".
    private static func rawSender(_ raw: String) -> MessageFacts.Sender {
        let decoded = HeaderParser.decodeWords(raw)
        if let open = decoded.lastIndex(of: "<") {
            let close = decoded[open...].firstIndex(of: ">") ?? decoded.endIndex
            let address = decoded[decoded.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
            let name = decoded[..<open].trimmingCharacters(in: CharacterSet(charactersIn: " \t\""))
            return MessageFacts.Sender(address: address, displayName: name.isEmpty ? nil : name)
        }
        let token = decoded.split(separator: " ").first.map(String.init) ?? ""
        let comment = decoded.dropFirst(token.count).trimmingCharacters(in: CharacterSet(charactersIn: " \t()"))
        return MessageFacts.Sender(address: token, displayName: comment.isEmpty ? nil : comment)
    }

    private static func ownAddresses(facts: MessageFacts, fields: RawHeaderFields) -> Set<String> {
        var own = Set(facts.from.map { $0.address.lowercased() })
        for name in ["to", "return-path", "reply-to", "delivered-to", "x-original-to", "envelope-to"] {
            for value in fields.all(name) { own.formUnion(NoticeRecipients.addresses(in: value).map { $0.lowercased() }) }
        }
        return own
    }
}
