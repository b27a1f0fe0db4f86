/// An abuse or feedback-loop report about a message we sent: ARF (RFC 5965 `message/feedback-report`), a
/// Microsoft JMRP report, or an Amazon SES complaint notification.
public struct FeedbackReport: Sendable, Equatable {
    /// `abuse`, `fraud`, `virus`, `auth-failure`, … (ARF `Feedback-Type`); nil when the format has none.
    public var feedbackType: String?
    /// Who complained: `Original-Rcpt-To` / `Removal-Recipient`, or the provider's own field
    /// (`X-HmXmrOriginalRecipient`, SES `complainedRecipients`). Often redacted, so often empty.
    public var recipients: [String]
    /// `Original-Mail-From`: the envelope sender of the reported message.
    public var originalMailFrom: String?

    public init(feedbackType: String? = nil, recipients: [String] = [], originalMailFrom: String? = nil) {
        self.feedbackType = feedbackType
        self.recipients = recipients
        self.originalMailFrom = originalMailFrom
    }
}
