import OutreachCore

/// Reads RFC 3464 per-recipient fields — from a `message/delivery-status` part, or written straight into a
/// notice's text, as Amazon WorkMail, Sun Messaging Server and broken Sendmail bounces do. Groups are separated
/// by empty lines; a second `Final-Recipient` in one group also starts a new recipient, for reports that leave
/// out the empty lines.
enum DeliveryStatusFields {
    /// The report in a `message/delivery-status` body.
    static func report(statusPart text: String) -> DeliveryStatusReport {
        parse(text, embedded: false)
    }

    /// DSN fields found in free text, or nil. Only groups with an address and an `Action` or `Status` count, so a
    /// sentence that happens to start with "Status:" does not make a report.
    static func embeddedReport(in text: String) -> DeliveryStatusReport? {
        let report = parse(text, embedded: true)
        return report.recipients.isEmpty ? nil : report
    }

    private static let recipientFields: Set<String> = ["final-recipient", "original-recipient", "action", "status", "diagnostic-code"]

    private static func parse(_ text: String, embedded: Bool) -> DeliveryStatusReport {
        var report = DeliveryStatusReport()
        var group: [(name: String, value: String)] = []

        func flush() {
            defer { group = [] }
            var recipient = DeliveryStatusReport.Recipient()
            var hasRecipientField = false
            func commit() {
                let outcome = recipient.action != nil || recipient.status != nil
                // In a status part a recipient without a usable address still tells the outcome; in free text only
                // a complete group is a report.
                if hasRecipientField && (embedded ? recipient.address != nil && outcome : recipient.address != nil || outcome) {
                    report.recipients.append(recipient)
                }
                recipient = DeliveryStatusReport.Recipient()
                hasRecipientField = false
            }
            for (name, value) in group {
                switch name {
                case "reporting-mta":
                    if report.reportingMTA == nil { report.reportingMTA = typedValue(value) }
                case "final-recipient":
                    if recipient.finalRecipient != nil { commit() }
                    recipient.finalRecipient = address(value)
                case "original-recipient":
                    if recipient.originalRecipient != nil { commit() }
                    recipient.originalRecipient = address(value)
                case "action":
                    if recipient.action != nil { commit() }
                    recipient.action = value.split(separator: " ").first.map { $0.lowercased() }
                case "status":
                    if recipient.status != nil { commit() }
                    recipient.status = value
                case "diagnostic-code":
                    recipient.diagnosticCode = typedValue(value)
                default:
                    break
                }
                if recipientFields.contains(name) { hasRecipientField = true }
            }
            commit()
        }

        var current: (name: String, value: String)?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                if let field = current { group.append(field) }
                current = nil
                flush()
                continue
            }
            if line.first == " " || line.first == "\t" {
                if current != nil { current!.value += " " + line.trimmingASCIIWhitespace() }
                continue
            }
            if let field = current { group.append(field) }
            current = nil
            guard let colon = line.firstIndex(of: ":") else {
                if embedded { flush() }
                continue
            }
            let name = line[..<colon].lowercased()
            guard !name.isEmpty, !name.contains(" ") else {
                if embedded { flush() }
                continue
            }
            current = (name, line[line.index(after: colon)...].trimmingASCIIWhitespace())
        }
        if let field = current { group.append(field) }
        flush()
        return report
    }

    /// "rfc822; <Anna@Example.org>" → "Anna@Example.org"; a value without a type is taken as the address.
    static func address(_ value: String) -> String? {
        var text = typedValue(value)
        if let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = String(text[text.index(after: open)..<close])
        } else if let token = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first(where: { $0.contains("@") }) {
            text = String(token)
        }
        text = text.trimmingASCIIWhitespace().trimmingCharacters(in: ["\"", "'", ","])
        // "@mx.example.org" (a source route), "<>" or a bare local part cannot be matched to anything we sent.
        guard let at = text.lastIndex(of: "@"), at > text.startIndex, text.index(after: at) < text.endIndex else { return nil }
        return text
    }

    /// "smtp; 550 5.1.1 …" → "550 5.1.1 …": the value after its type, when it has one.
    static func typedValue(_ value: String) -> String {
        guard let semicolon = value.firstIndex(of: ";") else { return value.trimmingASCIIWhitespace() }
        let type = value[..<semicolon]
        guard !type.isEmpty, type.count <= 12, !type.contains(" ") else { return value.trimmingASCIIWhitespace() }
        return value[value.index(after: semicolon)...].trimmingASCIIWhitespace()
    }
}

private extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
