/// What the parser found in the body of a message.
public struct BodyFacts: Sendable, Equatable {
    /// The machine-readable delivery report: a `message/delivery-status` part, DSN fields written into the text,
    /// or an Amazon SES notification.
    public var deliveryStatus: DeliveryStatusReport?
    /// An abuse report: ARF (`message/feedback-report`), a Microsoft JMRP report, an Amazon SES complaint.
    public var feedbackReport: FeedbackReport?
    /// The readable text of the message (text parts, HTML turned to text), without any returned copy of the
    /// original message.
    public var noticeText: String = ""
    /// The Message-ID, without brackets, of the message the report is about, when it was returned or quoted.
    public var originalMessageID: String?
    /// To and Cc of the returned original message, when included: who the failed message was sent to.
    public var originalRecipients: [String] = []
    /// Addresses the notice text names as failed, best effort, for reports without machine-readable fields.
    public var textFailedRecipients: [String] = []

    public init() {}
}
