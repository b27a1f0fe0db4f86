/// How the thread index reads a message: only `.human` may count as a reply from a prospect.
public enum MessageClassification: Sendable, Equatable {
    /// Written by a person.
    case human
    /// Written by a program on the recipient's side: out-of-office and vacation replies, autoresponders, ticket
    /// acknowledgements, read receipts. `reason` says which signal decided it.
    case autoReply(reason: String)
    /// A success report: a DSN whose recipients were all delivered, relayed or expanded (2.x.x), an Amazon SES
    /// `Delivery` notification. Not a bounce and not a reply: it never counts against the prospect.
    case delivered(recipients: [String], originalMessageID: String?)
    /// The message did not reach (some of) its recipients.
    case bounce(BounceDetails)
    /// A recipient or their provider reported the message as spam (feedback loop): suppress the recipient.
    case complaint(recipient: String?, originalMessageID: String?)

    /// Stable names for storage and JSON.
    public var kind: String {
        switch self {
        case .human: "human"
        case .autoReply: "auto-reply"
        case .delivered: "delivered"
        case .bounce: "bounce"
        case .complaint: "complaint"
        }
    }

    /// Only a human message can mark a prospect as having replied.
    public var countsAsReply: Bool { self == .human }
}
