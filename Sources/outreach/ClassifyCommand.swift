import ArgumentParser
import Foundation
import OutreachCore
import OutreachMail

/// `outreach classify FILE...`: how the thread index reads raw messages, for checking a bounce or an
/// auto-reply by hand and for scripts (`--json`).
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify raw messages: human / auto-reply / delivered / bounce (hard|soft|sender, with a reason) / complaint.",
        discussion: """
            Each FILE is one raw message (.eml, LF or CRLF line ends). For a bounce the output names why it failed \
            (bounceReason: user-unknown, mailbox-full, blocked, …), whose problem that is (severity: hard = the \
            address is bad, soft = it may work later, sender = the receiver refused the sender), the failed \
            recipients, the status code and the Message-ID of the message that bounced; for a complaint the \
            complaining recipient; "delivered" is a success report, not a bounce. Exits non-zero only if a file \
            cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("Raw message files.", valueName: "file")) var files: [String]
    @Flag(help: "Print JSON (one array, one object per file, every key always present).") var json = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one message file") }
    }

    /// One file's result; keys are stable (null when not applicable) so scripts can rely on them.
    struct Row: Encodable {
        var file: String
        var `class`: String?
        var reason: String?
        var severity: String?
        var bounceReason: String?
        var failedRecipients: [String]?
        var status: String?
        var diagnostic: String?
        var originalMessageID: String?
        var recipient: String?
        var evidence: String?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case file, `class`, reason, severity, bounceReason, failedRecipients, status, diagnostic, originalMessageID, recipient, evidence, error
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(`class`, forKey: .class)
            try container.encode(reason, forKey: .reason)
            try container.encode(severity, forKey: .severity)
            try container.encode(bounceReason, forKey: .bounceReason)
            try container.encode(failedRecipients, forKey: .failedRecipients)
            try container.encode(status, forKey: .status)
            try container.encode(diagnostic, forKey: .diagnostic)
            try container.encode(originalMessageID, forKey: .originalMessageID)
            try container.encode(recipient, forKey: .recipient)
            try container.encode(evidence, forKey: .evidence)
            try container.encode(error, forKey: .error)
        }

        init(file: String, classification: MessageClassification) {
            self.file = file
            self.class = classification.kind
            switch classification {
            case .human:
                break
            case .autoReply(let reason):
                self.reason = reason
            case .delivered(let recipients, let originalMessageID):
                self.reason = "success report: delivered, not a bounce"
                failedRecipients = nil
                self.recipient = recipients.first
                self.originalMessageID = originalMessageID
            case .bounce(let details):
                severity = details.severity.rawValue
                bounceReason = details.reason.rawValue
                failedRecipients = details.failedRecipients
                status = details.status
                diagnostic = details.diagnostic
                originalMessageID = details.originalMessageID
                evidence = details.evidence.rawValue
            case .complaint(let recipient, let originalMessageID):
                self.recipient = recipient
                self.originalMessageID = originalMessageID
            }
        }

        init(file: String, error: String) {
            self.file = file
            self.error = error
        }

        var text: String {
            if let error { return "\(file): cannot read: \(error)" }
            var lines = ["\(file): \(self.class ?? "?")" + (severity.map { " (\($0))" } ?? "")]
            if let reason { lines.append("  reason: \(reason)") }
            if let bounceReason {
                let words = BounceReason(rawValue: bounceReason)?.summary ?? bounceReason
                lines.append("  bounce reason: \(bounceReason) (\(words))")
            }
            if let failedRecipients { lines.append("  failed recipients: \(failedRecipients.isEmpty ? "(not named)" : failedRecipients.joined(separator: ", "))") }
            if let status { lines.append("  status: \(status)") }
            if let diagnostic { lines.append("  diagnostic: \(diagnostic)") }
            if let recipient { lines.append("  recipient: \(recipient)") }
            if self.class == "complaint" && recipient == nil { lines.append("  recipient: (not named)") }
            if let originalMessageID { lines.append("  original message-id: <\(originalMessageID)>") }
            if evidence == BounceDetails.Evidence.headersOnly.rawValue { lines.append("  details: unknown (header only)") }
            return lines.joined(separator: "\n")
        }
    }

    func run() throws {
        var rows: [Row] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                let reason = FileManager.default.fileExists(atPath: file) ? "permission denied or not a regular file" : "no such file"
                rows.append(Row(file: file, error: reason))
                continue
            }
            let facts = MessageReportParser.facts(message: [UInt8](data))
            rows.append(Row(file: file, classification: MessageClassifier.classify(facts)))
        }
        if json {
            try printJSON(rows)
        } else {
            for row in rows { print(row.text) }
        }
        let unreadable = rows.filter { $0.error != nil }
        if !unreadable.isEmpty {
            let names = unreadable.map(\.file).joined(separator: ", ")
            FileHandle.standardError.write(Data("\(unreadable.count) of \(rows.count) files could not be read: \(names)\n".utf8))
            throw ExitCode.failure
        }
    }
}
