import OutreachCore

/// Walks a parsed message and gathers its ``BodyFacts``: the readable notice, the machine-readable delivery or
/// feedback report, and the returned original. Parts inside a returned message are not walked: a forwarded
/// bounce is the forwarder's message, not a bounce.
struct ReportBody {
    private var texts: [String] = []
    private var statusParts: [String] = []
    private var feedbackParts: [String] = []
    private var returned: [ReturnedMessage] = []

    /// `ownAddresses`: the bounce's own From, To and Return-Path, lowercased — never a failed recipient.
    /// `readsRelayedReports`: whether a returned message that is itself a delivery report may stand in for a
    /// missing one — true only for messages from the mail system, since a person forwarding a bounce is not
    /// bouncing anything.
    static func read(_ root: MIMEEntity, ownAddresses: Set<String>, readsRelayedReports: Bool) -> BodyFacts {
        var walker = ReportBody()
        walker.visit(root)
        var body = walker.facts(ownAddresses: ownAddresses)
        if readsRelayedReports, body.deliveryStatus?.recipients.isEmpty ?? true,
           let relayed = (walker.returned + walker.pasted()).first(where: \.isDeliveryReport)
        {
            let inner = read(MIMEEntity(relayed.bytes), ownAddresses: ownAddresses, readsRelayedReports: false)
            if let report = inner.deliveryStatus, !report.recipients.isEmpty {
                body.deliveryStatus = report
                body.originalMessageID = inner.originalMessageID ?? body.originalMessageID
                body.originalRecipients = inner.originalRecipients
                body.textFailedRecipients = inner.textFailedRecipients
            }
        }
        return body
    }

    /// The messages pasted below the notice texts.
    private func pasted() -> [ReturnedMessage] {
        texts.compactMap { text in ReturnedMessage.splitInline(text).returned.flatMap { ReturnedMessage(Array($0.utf8)[...]) } }
    }

    private mutating func visit(_ entity: MIMEEntity, isPart: Bool = false) {
        let type = entity.contentType
        // A part whose "header" is a message's header (Received, Message-ID, From…) is a returned message pasted
        // as a part without its own MIME header.
        if isPart, !type.isMultipart, entity.fields.fields.contains(where: { Self.messageOnlyFields.contains($0.name) }) {
            if let message = ReturnedMessage(entity.header) { returned.append(message) }
            return
        }
        switch (type.type, type.subtype) {
        case ("multipart", "alternative") where !entity.parts.isEmpty:
            // Alternatives say the same thing: read the plain text one when there is one.
            let plain = entity.parts.first { $0.contentType.mediaType == "text/plain" }
            visit(plain ?? entity.parts[0], isPart: true)
        case ("multipart", _):
            // A multipart without delimiters (seen in Sun Messaging Server reports) is read as text.
            if entity.parts.isEmpty { texts.append(entity.text) } else { entity.parts.forEach { visit($0, isPart: true) } }
        case ("message", "delivery-status"), ("message", "global-delivery-status"):
            statusParts.append(entity.text)
        case ("message", "feedback-report"):
            feedbackParts.append(entity.text)
        case ("message", "rfc822"), ("message", "global"), ("message", "rfc822-headers"), ("text", "rfc822-headers"),
            ("text", "rfc822-header"):
            if let message = ReturnedMessage(entity.decodedBody[...]) { returned.append(message) }
        case ("text", "html"):
            texts.append(HTMLPlainText.text(fromHTML: entity.text))
        case ("text", "plain"), ("text", "enriched"), ("text", "richtext"):
            texts.append(entity.text)
        default:
            break
        }
    }

    /// Fields a MIME part header never has but a message header does.
    private static let messageOnlyFields: Set<String> = ["received", "message-id", "return-path", "from", "date", "dkim-signature"]

    private func facts(ownAddresses: Set<String>) -> BodyFacts {
        var body = BodyFacts()
        var notices: [String] = []
        var pasted: [ReturnedMessage] = []
        var ses: AmazonSESNotification?
        for (index, text) in texts.enumerated() {
            if index == 0, let notification = AmazonSESNotification(text) { ses = notification }
            let (notice, copy) = ReturnedMessage.splitInline(text)
            notices.append(notice)
            if let copy, let message = ReturnedMessage(Array(copy.utf8)[...]) { pasted.append(message) }
        }
        body.noticeText = notices.joined(separator: "\n\n")

        let originals = returned + pasted
        let original = originals.first { $0.messageID != nil } ?? originals.first
        body.originalMessageID = original?.messageID ?? Self.mentionedMessageID(in: body.noticeText)
        body.originalRecipients = original?.recipients ?? []

        if !statusParts.isEmpty {
            var report = DeliveryStatusReport()
            for part in statusParts {
                let parsed = DeliveryStatusFields.report(statusPart: part)
                report.reportingMTA = report.reportingMTA ?? parsed.reportingMTA
                report.recipients += parsed.recipients
            }
            // The part exists but says nothing usable: still a delivery report, so the notice text decides the rest.
            if report.recipients.isEmpty, let embedded = DeliveryStatusFields.embeddedReport(in: body.noticeText) { report = embedded }
            body.deliveryStatus = report
        } else if let embedded = DeliveryStatusFields.embeddedReport(in: body.noticeText) {
            body.deliveryStatus = embedded
        }

        if let part = feedbackParts.first {
            let fields = RawHeaderFields(Array(part.utf8)[...])
            let recipients = (fields.all("original-rcpt-to") + fields.all("removal-recipient")).compactMap(DeliveryStatusFields.address)
            body.feedbackReport = FeedbackReport(
                feedbackType: fields.first("feedback-type")?.lowercased(), recipients: recipients,
                originalMailFrom: fields.first("original-mail-from").flatMap(DeliveryStatusFields.address)
            )
        } else if let jmrp = originals.lazy.compactMap(\.jmrpRecipient).first {
            // Microsoft's JMRP sends the reported message with the complaining recipient in its header.
            body.feedbackReport = FeedbackReport(feedbackType: "abuse", recipients: [jmrp])
        }

        if let ses {
            body.deliveryStatus = ses.deliveryStatus ?? body.deliveryStatus
            body.feedbackReport = ses.feedbackReport ?? body.feedbackReport
            body.originalMessageID = ses.originalMessageID ?? body.originalMessageID
            if !ses.originalRecipients.isEmpty { body.originalRecipients = ses.originalRecipients }
        }

        var excluded = ownAddresses
        for message in originals { excluded.formUnion(message.senders) }
        body.textFailedRecipients = NoticeRecipients.failedRecipients(
            in: body.noticeText, excluding: excluded, originalRecipients: body.originalRecipients
        )
        return body
    }

    /// "Message-ID: <…>" written into the notice (Sun Messaging Server lists the original's header fields).
    private static func mentionedMessageID(in notice: String) -> String? {
        for line in notice.split(whereSeparator: { $0 == "\n" }) {
            let trimmed = line.trimmingASCIIWhitespace()
            if trimmed.lowercased().hasPrefix("message-id:") {
                if let id = MessageIdentifier.extract(from: trimmed).first { return id }
            }
        }
        return nil
    }
}
