import Foundation
import OutreachCore

/// An Amazon SES event delivered by SNS as an e-mail whose body is the JSON notification (`notificationType`
/// Bounce, Complaint or Delivery). Read into the same report types as a DSN or an ARF report.
struct AmazonSESNotification {
    var deliveryStatus: DeliveryStatusReport?
    var feedbackReport: FeedbackReport?
    var originalMessageID: String?
    var originalRecipients: [String] = []

    /// nil unless `text` starts with an SES notification object.
    init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("{"), trimmed.contains("\"notificationType\""), let object = Self.firstObject(in: trimmed) else { return nil }
        guard let type = object["notificationType"] as? String else { return nil }
        let mail = object["mail"] as? [String: Any] ?? [:]
        originalRecipients = mail["destination"] as? [String] ?? []
        originalMessageID = Self.messageID(in: mail)
        switch type.lowercased() {
        case "bounce":
            let bounce = object["bounce"] as? [String: Any] ?? [:]
            // Recipients without Action/Status inherit them from the bounce type.
            let transient = (bounce["bounceType"] as? String)?.lowercased() == "transient"
            let recipients = (bounce["bouncedRecipients"] as? [[String: Any]] ?? []).map { entry in
                DeliveryStatusReport.Recipient(
                    finalRecipient: entry["emailAddress"] as? String, action: (entry["action"] as? String)?.lowercased() ?? "failed",
                    status: entry["status"] as? String ?? (transient ? "4.0.0" : "5.0.0"),
                    diagnosticCode: (entry["diagnosticCode"] as? String).map(DeliveryStatusFields.typedValue)
                )
            }
            deliveryStatus = DeliveryStatusReport(reportingMTA: bounce["reportingMTA"] as? String, recipients: recipients)
        case "complaint":
            let complaint = object["complaint"] as? [String: Any] ?? [:]
            let recipients = (complaint["complainedRecipients"] as? [[String: Any]] ?? []).compactMap { $0["emailAddress"] as? String }
            feedbackReport = FeedbackReport(
                feedbackType: complaint["complaintFeedbackType"] as? String ?? "abuse", recipients: recipients,
                originalMailFrom: mail["source"] as? String
            )
        case "delivery":
            let delivery = object["delivery"] as? [String: Any] ?? [:]
            let recipients = (delivery["recipients"] as? [String] ?? []).map {
                DeliveryStatusReport.Recipient(finalRecipient: $0, action: "delivered", status: "2.0.0")
            }
            deliveryStatus = DeliveryStatusReport(reportingMTA: delivery["reportingMTA"] as? String, recipients: recipients)
        default:
            return nil
        }
    }

    private static func messageID(in mail: [String: Any]) -> String? {
        if let common = mail["commonHeaders"] as? [String: Any], let id = common["messageId"] as? String {
            return MessageIdentifier.extract(from: id).first ?? id
        }
        for header in mail["headers"] as? [[String: Any]] ?? [] {
            if (header["name"] as? String)?.lowercased() == "message-id", let value = header["value"] as? String {
                return MessageIdentifier.extract(from: value).first
            }
        }
        return nil
    }

    /// The JSON object at the start of `text`. SNS e-mail breaks lines longer than the SMTP limit as "!" + line
    /// break + space, which lands inside JSON strings; those breaks are removed before parsing.
    private static func firstObject(in text: String) -> [String: Any]? {
        let unbroken = text.replacingOccurrences(of: "!\r\n ", with: "").replacingOccurrences(of: "!\n ", with: "")
        var depth = 0
        var inString = false
        var escaped = false
        var end: String.Index?
        for index in unbroken.indices {
            let character = unbroken[index]
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                continue
            }
            if character == "\"" { inString = true } else if character == "{" { depth += 1 } else if character == "}" {
                depth -= 1
                if depth == 0 {
                    end = index
                    break
                }
            }
        }
        guard let end else { return nil }
        let json = unbroken[...end].replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
    }
}
