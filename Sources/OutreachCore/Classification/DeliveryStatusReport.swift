/// The machine-readable part of a delivery status notification (RFC 3464 `message/delivery-status`): one entry
/// per recipient the report is about.
public struct DeliveryStatusReport: Sendable, Equatable {
    public struct Recipient: Sendable, Equatable {
        /// The address from `Final-Recipient`, address type ("rfc822;") and brackets removed.
        public var finalRecipient: String?
        /// The address from `Original-Recipient`, when the sender asked for it.
        public var originalRecipient: String?
        /// Lowercased: `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
        public var action: String?
        /// The `Status` value as written (it may carry a comment after the code).
        public var status: String?
        /// The `Diagnostic-Code` value without its type ("smtp;"): usually the remote server's reply.
        public var diagnosticCode: String?

        public init(
            finalRecipient: String? = nil, originalRecipient: String? = nil, action: String? = nil, status: String? = nil,
            diagnosticCode: String? = nil
        ) {
            self.finalRecipient = finalRecipient
            self.originalRecipient = originalRecipient
            self.action = action
            self.status = status
            self.diagnosticCode = diagnosticCode
        }

        /// The address the report is about, as the sender wrote it: `Original-Recipient` when the report has one
        /// (the address we mailed, before aliases and forwarding changed it), else `Final-Recipient`.
        public var address: String? {
            if let original = originalRecipient, original.utf8.contains(UInt8(ascii: "@")) { return original }
            return finalRecipient ?? originalRecipient
        }

        public var statusCode: DeliveryStatusCode? { status.flatMap(DeliveryStatusCode.init(parsing:)) }
    }

    public var reportingMTA: String?
    public var recipients: [Recipient]

    public init(reportingMTA: String? = nil, recipients: [Recipient] = []) {
        self.reportingMTA = reportingMTA
        self.recipients = recipients
    }
}
