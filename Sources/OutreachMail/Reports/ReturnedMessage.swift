import OutreachCore

/// The copy of the failed message that a bounce sends back — as a `message/rfc822` or `text/rfc822-headers` part,
/// or pasted below the notice text — reduced to what ties the bounce to our message: its Message-ID, who it was
/// addressed to, and who sent it (so the notice's mention of the sender is not taken for a failed recipient).
struct ReturnedMessage {
    var messageID: String?
    /// To and Cc addresses, as written.
    var recipients: [String] = []
    /// From, Sender, Reply-To and Return-Path addresses, lowercased.
    var senders: Set<String> = []
    /// Microsoft JMRP complaints carry the complaining recipient in the returned message.
    var jmrpRecipient: String?

    /// Whether the returned message is itself a delivery report: a relay bouncing a bounce back.
    var isDeliveryReport = false
    /// The whole returned message, for reading a relayed delivery report.
    var bytes: ArraySlice<UInt8> = []

    /// Reads the header block at the start of `bytes`; nil when there is none.
    ///
    /// Returned copies are often damaged: separator lines above them, folded lines that lost their indentation
    /// (Office 365, Yahoo), an mbox `From ` line. Such lines are dropped, the block ends at the first empty line.
    init?(_ bytes: ArraySlice<UInt8>) {
        var lines = Array(Lines(bytes))
        var skipped = 0
        while let first = lines.first, skipped < 6, first.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) || !RawHeaderFields.isFieldLine(first) {
            lines.removeFirst()
            skipped += 1
        }
        var clean: [UInt8] = []
        for line in lines {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { break }
            let continuation = line.first == 0x20 || line.first == 0x09
            guard continuation || RawHeaderFields.isFieldLine(line) else { continue }
            clean += line
            clean += [0x0D, 0x0A]
        }
        clean += [0x0D, 0x0A]
        let header = clean[...]
        let fields = RawHeaderFields(header)
        guard !fields.fields.isEmpty else { return nil }
        self.bytes = bytes
        let contentType = fields.first("content-type").flatMap(ContentType.init(parsing:))
        isDeliveryReport = contentType?.mediaType == "multipart/report" && contentType?.parameters["report-type"]?.lowercased() == "delivery-status"
        let parsed = HeaderParser.parse(Array(header))
        messageID = parsed.messageID ?? fields.first("message-id").flatMap { MessageIdentifier.extract(from: $0).first }
        // A bare id without brackets (seen in ARF samples) is still the id.
        if messageID == nil, let raw = fields.first("message-id")?.trimmingASCIIWhitespace(), !raw.isEmpty, !raw.contains(" ") {
            messageID = raw
        }
        recipients = (parsed.to + parsed.cc).map(\.address.description)
        if recipients.isEmpty {
            recipients = (fields.all("to") + fields.all("cc")).flatMap { NoticeRecipients.addresses(in: $0) }
        }
        var senders = Set((parsed.from).map(\.address.normalized))
        for name in ["from", "sender", "reply-to", "return-path"] {
            for value in fields.all(name) { senders.formUnion(NoticeRecipients.addresses(in: value).map { $0.lowercased() }) }
        }
        self.senders = senders
        jmrpRecipient = fields.first("x-hmxmroriginalrecipient").flatMap { NoticeRecipients.addresses(in: $0).first }
    }

    /// Splits a text part into the notice and the message pasted below it: at the first line that announces the
    /// copy ("------ This is a copy of the message, including all the headers. ------", "--- Below this line is a
    /// copy of the message.", …) or at the first block of header fields that only a message has (Received,
    /// Message-ID, From, …), whichever comes first.
    static func splitInline(_ text: String) -> (notice: String, returned: String?) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for index in lines.indices {
            let lower = lines[index].lowercased()
            // Byte-wise (containsPhrase): String.contains(String) went through the string-processing searcher,
            // which built a table per call and was two thirds of classifying a bounce.
            if lower.containsAnyPhrase(markers) {
                return (lines[..<index].joined(separator: "\n"), dedented(lines[(index + 1)...]))
            }
            if startsHeaderBlock(lines, at: index) {
                return (lines[..<index].joined(separator: "\n"), dedented(lines[index...]))
            }
        }
        return (text, nil)
    }

    /// Lowercased announcements of a returned copy, from Exim, qmail, Postfix, Sendmail, Gmail, Exchange, Domino,
    /// OpenSMTPD, DragonFly, m-FILTER, fml, Yahoo and others.
    private static let markers: [String] = [
        "this is a copy of the message", "below this line is a copy of the message", "enclosed is a copy of the message",
        "original message follows", "message headers follow", "original message -----", "----- original message",
        "below is a copy of the original message", "unsent message follows", "included is a copy of the message header",
        "header of the original message", "returned message ---", "-------original message", "-------original mail info",
        "message text follows", "original mail as follows", "original message:", "bounced e-mail:", "original message headers",
        "copy of the original message", "the original message headers", "original message header",
    ]

    private static let messageFields: Set<String> = [
        "received", "return-path", "message-id", "from", "to", "cc", "subject", "date", "mime-version", "content-type",
        "content-transfer-encoding", "dkim-signature", "x-received", "arc-seal", "arc-message-signature",
        "arc-authentication-results", "authentication-results", "delivered-to", "reply-to", "sender", "references",
        "in-reply-to", "x-mailer", "user-agent", "x-originating-ip", "domainkey-signature", "x-google-dkim-signature",
        "x-gm-message-state", "x-yahoo-newman-property", "x-ymail-osg", "errors-to", "precedence", "list-id", "feedback-id",
        "x-priority", "importance", "x-original-to", "envelope-to", "thread-topic", "thread-index",
    ]
    /// Fields a notice never starts a block with but every message has one of.
    private static let transportFields: Set<String> = [
        "received", "return-path", "message-id", "from", "mime-version", "dkim-signature", "x-received", "arc-seal",
        "delivered-to", "domainkey-signature", "x-google-dkim-signature", "x-ymail-osg", "x-yahoo-newman-property",
        "authentication-results", "x-original-to",
    ]

    private static func startsHeaderBlock(_ lines: [Substring], at start: Int) -> Bool {
        var known = 0
        var transport = false
        var index = start
        while index < lines.count {
            let line = lines[index]
            if line.trimmingASCIIWhitespace().isEmpty { break }
            if line.first == " " || line.first == "\t" {
                if index == start { return false }
                index += 1
                continue
            }
            guard RawHeaderFields.isFieldLine(Array(line.utf8)[...]) else { break }
            let name = line[..<line.firstIndex(of: ":")!].lowercased()
            if index == start && !messageFields.contains(name) { return false }
            if messageFields.contains(name) { known += 1 }
            if transportFields.contains(name) { transport = true }
            if known >= 2 && transport { return true }
            index += 1
        }
        return false
    }

    /// Removes the indentation the first non-empty line has from every line (fml indents the copy it returns).
    private static func dedented(_ lines: ArraySlice<Substring>) -> String {
        guard let first = lines.first(where: { !$0.trimmingASCIIWhitespace().isEmpty }) else { return "" }
        let indent = first.prefix { $0 == " " || $0 == "\t" }.count
        return lines.map { line in
            let leading = line.prefix { $0 == " " || $0 == "\t" }.count
            return String(line.dropFirst(min(indent, leading)))
        }.joined(separator: "\n")
    }
}
