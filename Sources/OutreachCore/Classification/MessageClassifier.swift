/// Decides whether a message was written by a person, by an autoresponder, by a mail system reporting a failed
/// delivery, or by a provider reporting a spam complaint. Pure: it reads ``MessageFacts`` and nothing else.
///
/// The order of the questions is the order of the evidence's reliability:
/// 1. A feedback report (ARF, JMRP, SES complaint) is a complaint.
/// 2. A delivery report with per-recipient fields decides by its `Action` and `Status`: any recipient that failed
///    or is delayed makes a bounce; a report that only says "delivered" is a success report (`.delivered`).
/// 3. Without per-recipient fields, a bounce needs either one conclusive mark (`X-Failed-Recipients`,
///    `report-type=delivery-status`, Exchange's `X-MS-Exchange-Message-Is-Ndr`) or two circumstantial ones that
///    agree: a mail-system sender (MAILER-DAEMON, postmaster) with a bounce subject, bounce wording or an SMTP
///    failure code in the text; a no-reply or list-manager sender with a bounce subject or wording; or, from
///    anyone, a bounce subject together with bounce wording. A message that calls itself an RFC 3834
///    auto-reply (`Auto-Submitted: auto-replied`) and backs its failure talk with no status code at all is taken at
///    its word: wrongly suppressing a prospect loses a lead silently, while a missed soft failure only costs one
///    more follow-up.
/// 4. Auto-reply marks in the header (`Auto-Submitted`, `X-Autoreply`, `X-Autorespond`, `Precedence`, vendor
///    fields) or an auto-reply subject prefix.
/// 5. A mail-system or no-reply sender with none of the above: automatic.
/// 6. Everything else is human.
///
/// Hard, soft or sender: every bounce gets a ``BounceReason`` — from the remote server's reply (a DSN recipient's
/// `Diagnostic-Code`, or a notice line with a failure code), then the enhanced status code, then the notice's own
/// wording (``BounceReasonRules``) — and the reason decides: hard only when the address is bad, sender when the
/// receiver refused us, soft otherwise; a transient failure (4.x.x, 4xx, `Action: delayed`) is never hard. A report
/// whose recipients were all delivered, relayed or expanded (2.x.x) is `.delivered`, not a bounce.
public enum MessageClassifier {
    public static func classify(_ facts: MessageFacts) -> MessageClassification {
        if let complaint = complaint(in: facts) { return complaint }
        if let report = facts.body?.deliveryStatus, !report.recipients.isEmpty {
            return classify(report: report, facts: facts)
        }
        let notice = facts.body.map { NoticeText($0.noticeText) }
        let sender = BounceSignals.senderKind(of: facts)
        switch bounceEvidence(facts, sender: sender, notice: notice) {
        case .conclusive:
            return .bounce(textBounce(facts, notice: notice))
        case .circumstantial:
            if let notice, !notice.hasFailureCode, !notice.contains(anyOf: BounceSignals.refusalPhrases),
               let value = facts.autoSubmitted?.lowercased(), value.hasPrefix("auto-replied")
            {
                return .autoReply(reason: "Auto-Submitted: auto-replied, and no delivery report or status code backs a failure")
            }
            return .bounce(textBounce(facts, notice: notice))
        case nil:
            break
        }
        if facts.reportType == "disposition-notification" { return .autoReply(reason: "read receipt (disposition notification)") }
        if let reason = AutoReplySignals.reason(for: facts) { return .autoReply(reason: reason) }
        // A missing From says nothing about who wrote the message (it may just be one libetpan could not read);
        // an empty one (`From: <>`) is the mail system's.
        switch sender {
        case .mailSystem where !facts.from.isEmpty: return .autoReply(reason: "sent by the mail system (\(senderLabel(facts)))")
        case .automated: return .autoReply(reason: "sent from an automated address (\(senderLabel(facts)))")
        case .mailSystem, .person: return .human
        }
    }

    /// For a classification made from the header alone: whether the whole message should be fetched, because
    /// the body would tell more (a bounce's recipients, status and original Message-ID, a complaint's recipient)
    /// or could change the answer (a report, a MAILER-DAEMON or postmaster sender, a bounce or complaint subject).
    /// No-reply senders with an ordinary subject are not fetched: inboxes hold many of them, and whatever they
    /// are, they are not a person's reply.
    public static func needsFullMessage(_ headerFacts: MessageFacts) -> Bool {
        guard headerFacts.body == nil else { return false }
        switch classify(headerFacts) {
        case .bounce, .complaint: return true
        case .autoReply, .human, .delivered: break
        }
        return headerFacts.contentType == "multipart/report" || BounceSignals.senderKind(of: headerFacts) == .mailSystem
            || BounceSignals.isBounceSubject(headerFacts.subject) || BounceSignals.isComplaintSubject(headerFacts.subject)
    }

    // MARK: - Complaints

    private static func complaint(in facts: MessageFacts) -> MessageClassification? {
        if let feedback = facts.body?.feedbackReport {
            let body = facts.body!
            let recipient = feedback.recipients.first.map(normalized)
                ?? (body.originalRecipients.count == 1 ? body.originalRecipients.first.map(normalized) : nil)
            return .complaint(recipient: recipient, originalMessageID: body.originalMessageID)
        }
        if facts.body == nil, facts.reportType == "feedback-report" {
            return .complaint(recipient: nil, originalMessageID: nil)
        }
        return nil
    }

    // MARK: - Delivery status reports

    private static func classify(report: DeliveryStatusReport, facts: MessageFacts) -> MessageClassification {
        let body = facts.body ?? BodyFacts()
        let noticeLowercased = body.noticeText.isEmpty ? nil : NoticeText(body.noticeText).lowercased
        let failing = report.recipients.compactMap { recipient -> (DeliveryStatusReport.Recipient, Failure)? in
            let notice = report.recipients.count > 1 ? lines(of: noticeLowercased, naming: recipient.address) : noticeLowercased
            return failure(of: recipient, notice: notice).map { (recipient, $0) }
        }
        guard !failing.isEmpty else {
            let delivered = unique(report.recipients.compactMap(\.address))
            return .delivered(recipients: delivered, originalMessageID: body.originalMessageID)
        }
        // The worst failure speaks for the report: an address problem, then a sender problem, then a soft one. Only
        // the recipients that failed that way are named, so a report of one unknown address and one full mailbox
        // does not mark the full mailbox's address as bad.
        let worst = failing.min { rank($0.1.severity) < rank($1.1.severity) }!
        var recipients = unique(failing.filter { rank($0.1.severity) == rank(worst.1.severity) }.compactMap { $0.0.address })
        if recipients.isEmpty { recipients = fallbackRecipients(facts) }
        let status = [worst].lazy.compactMap { $0.0.statusCode.flatMap { $0.statusClass == 2 ? nil : $0 } }.first
            ?? failing.lazy.compactMap { $0.0.statusCode.flatMap { $0.statusClass == 2 ? nil : $0 } }.first
            ?? failing.lazy.compactMap { $0.0.diagnosticCode.flatMap { DeliveryStatusCode.codes(in: $0).first } }.first
        let diagnostic = worst.0.diagnosticCode ?? failing.lazy.compactMap(\.0.diagnosticCode).first ?? NoticeText(body.noticeText).diagnosticLine
        return .bounce(BounceDetails(
            severity: worst.1.severity, reason: worst.1.reason, failedRecipients: recipients,
            status: status?.description, diagnostic: diagnostic.map(oneLine), originalMessageID: body.originalMessageID,
            evidence: .deliveryStatus
        ))
    }

    private static func rank(_ severity: BounceDetails.Severity) -> Int {
        switch severity {
        case .hard: 0
        case .sender: 1
        case .soft: 2
        }
    }

    struct Failure: Equatable {
        var severity: BounceDetails.Severity
        var reason: BounceReason
    }

    /// nil for a recipient the report says was delivered (`Action` delivered, relayed, expanded or deliverable, or a
    /// 2.x.x status): a receipt, not a failure. Otherwise why it failed and how badly: the reason from the
    /// recipient's `Diagnostic-Code`, its `Status`, then the notice text (lowercased); transient failures
    /// (`Action: delayed`, 4.x.x, 4xx) are never hard.
    /// The notice's lines about `address` — the lines that name it and the indented lines that continue them — for
    /// a report of several recipients, whose replies each speak for their own recipient; the whole notice when no
    /// line names it or the address is unknown.
    static func lines(of notice: String?, naming address: String?) -> String? {
        guard let notice, let address = address?.lowercased(), !address.isEmpty else { return notice }
        var about: [Substring] = []
        var continuing = false
        for line in notice.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains(address) {
                about.append(line)
                continuing = true
            } else if continuing, let first = line.first, first == " " || first == "\t" {
                about.append(line)
            } else {
                continuing = false
            }
        }
        return about.isEmpty ? notice : about.joined(separator: "\n")
    }

    static func failure(of recipient: DeliveryStatusReport.Recipient, notice: String?) -> Failure? {
        let action = recipient.action?.trimmingASCIIWhitespace().lowercased()
        if let action, successActions.contains(action) { return nil }
        var code = recipient.statusCode
        if let found = code, found.statusClass == 2 {
            if action == nil || action != "failed" && action != "delayed" { return nil }
            code = nil
        }
        let diagnostic = recipient.diagnosticCode?.lowercased()
        if code == nil || code?.subject == 0, let diagnostic {
            code = DeliveryStatusCode.codes(in: diagnostic).first(where: { $0.statusClass != 2 }) ?? code
        }
        var transient = action == "delayed"
        if let code {
            transient = transient || code.statusClass == 4
        } else if let diagnostic, let reply = NoticeText.replyCodes(in: diagnostic).first {
            transient = transient || reply < 500
        }
        let reason = BounceReason.reason(status: code, diagnostic: diagnostic, notice: notice, delayed: transient)
        return Failure(severity: reason.severity(transient: transient), reason: reason)
    }

    /// `Action` values of a successful delivery (RFC 3464; `deliverable` from the DSN extensions some MTAs write).
    static let successActions: Set<String> = ["delivered", "relayed", "expanded", "deliverable"]

    // MARK: - Bounces without DSN fields

    private enum Evidence { case conclusive, circumstantial }

    private static func bounceEvidence(_ facts: MessageFacts, sender: BounceSignals.SenderKind, notice: NoticeText?) -> Evidence? {
        if !facts.xFailedRecipients.isEmpty || facts.automationFields["x-ms-exchange-message-is-ndr"] != nil
            || facts.reportType == "delivery-status" || facts.body?.deliveryStatus != nil
        {
            return .conclusive
        }
        let subject = BounceSignals.isBounceSubject(facts.subject)
        let wording = notice?.contains(anyOf: BounceSignals.noticePhrases) ?? false
        let report = facts.contentType == "multipart/report"
            && !["feedback-report", "disposition-notification"].contains(facts.reportType ?? "")
        switch sender {
        case .mailSystem:
            if subject || wording || report || (notice?.hasFailureCode ?? false) { return .circumstantial }
        case .automated:
            if subject || wording || report { return .circumstantial }
        case .person:
            if subject && wording { return .circumstantial }
        }
        return nil
    }

    private static func textBounce(_ facts: MessageFacts, notice: NoticeText?) -> BounceDetails {
        guard let notice, let body = facts.body else {
            // Header only: the severity is a guess (hard unless the subject says delay) until the body is read.
            let delayed = subjectSaysDelay(facts.subject)
            return BounceDetails(
                severity: delayed ? .soft : .hard, reason: delayed ? .delayed : .undefined, failedRecipients: unique(facts.xFailedRecipients),
                evidence: .headersOnly
            )
        }
        var recipients = unique(facts.xFailedRecipients)
        if recipients.isEmpty { recipients = fallbackRecipients(facts) }
        let failure = failure(of: notice, subject: facts.subject)
        return BounceDetails(
            severity: failure.severity, reason: failure.reason, failedRecipients: recipients,
            status: notice.failureCodes.first?.description, diagnostic: notice.diagnosticLine,
            originalMessageID: body.originalMessageID, evidence: .noticeText
        )
    }

    /// A bounce without DSN fields: transient when its codes are all 4.x.x / 4xx, or (without codes) when it talks
    /// of a delay; a returned message without either is permanent, because MTAs return a message only once they
    /// have given up on it. The reason comes from the line with the remote server's reply, its code, then the
    /// whole notice.
    static func failure(of notice: NoticeText, subject: String?) -> Failure {
        let transient: Bool
        if !notice.failureCodes.isEmpty {
            transient = !notice.failureCodes.contains { $0.statusClass == 5 }
        } else if !notice.replyCodes.isEmpty {
            transient = !notice.replyCodes.contains { $0 >= 500 }
        } else {
            transient = notice.contains(anyOf: BounceSignals.delayPhrases) || subjectSaysDelay(subject)
        }
        // A notice may list several recipients, each with the remote server's reply: the worst reply speaks for it.
        var worst: Failure?
        for line in notice.lines {
            let codes = DeliveryStatusCode.codes(in: line).filter { $0.statusClass != 2 }
            let replies = NoticeText.replyCodes(in: line)
            guard !codes.isEmpty || !replies.isEmpty else { continue }
            let lineTransient = codes.first.map { $0.statusClass == 4 } ?? (replies.first.map { $0 < 500 } ?? transient)
            let lower = line.lowercased()
            guard let reason = BounceReasonRules.reason(inLowercased: lower) ?? codes.first.flatMap(BounceReasonRules.reason(for:)) else { continue }
            let failure = Failure(severity: reason.severity(transient: lineTransient), reason: reason)
            if worst.map({ rank(failure.severity) < rank($0.severity) }) ?? true { worst = failure }
        }
        if let worst { return worst }
        let code = notice.failureCodes.first { $0.statusClass == 5 } ?? notice.failureCodes.first
        let reason = BounceReason.reason(
            status: code, diagnostic: notice.diagnosticLine?.lowercased(), notice: notice.lowercased, delayed: transient
        )
        return Failure(severity: reason.severity(transient: transient), reason: reason)
    }

    private static func subjectSaysDelay(_ subject: String?) -> Bool {
        guard let lower = subject?.lowercased() else { return false }
        return lower.containsAnyPhrase(["delay", "warning", "retrying"])
    }

    /// The text's own list, else the one recipient of the returned original (with several, the text would have to
    /// say which failed; guessing would suppress the wrong prospects).
    private static func fallbackRecipients(_ facts: MessageFacts) -> [String] {
        let fromHeader = unique(facts.xFailedRecipients)
        if !fromHeader.isEmpty { return fromHeader }
        guard let body = facts.body else { return [] }
        let fromText = unique(body.textFailedRecipients)
        if !fromText.isEmpty { return fromText }
        let original = unique(body.originalRecipients)
        return original.count == 1 ? original : []
    }

    // MARK: - Helpers

    static func normalized(_ address: String) -> String {
        var text = address.trimmingASCIIWhitespace()
        if text.hasPrefix("<") && text.hasSuffix(">") && text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        return text.trimmingASCIIWhitespace().lowercased()
    }

    private static func unique(_ addresses: [String]) -> [String] {
        var seen = Set<String>()
        return addresses.map(normalized).filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    private static func oneLine(_ text: String) -> String {
        let joined = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            .map { $0.trimmingASCIIWhitespace() }.joined(separator: " ")
        return joined.count > 300 ? String(joined.prefix(300)) + "…" : joined
    }

    private static func senderLabel(_ facts: MessageFacts) -> String {
        guard let first = facts.from.first else { return "no From address" }
        return first.address.isEmpty ? (first.displayName ?? "empty From address") : first.address
    }
}
