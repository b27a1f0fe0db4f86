/// How the thread index reads a message: only `.human` may count as a reply from a prospect.
public enum MessageClassification: Sendable, Equatable {
    /// Written by a person.
    case human
    /// Written by a program on the recipient's side: out-of-office and vacation replies, autoresponders, ticket
    /// acknowledgements, positive delivery reports. `reason` says which signal decided it.
    case autoReply(reason: String)
    /// The message did not reach (some of) its recipients.
    case bounce(BounceDetails)
    /// A recipient or their provider reported the message as spam (feedback loop): suppress the recipient.
    case complaint(recipient: String?, originalMessageID: String?)

    /// Stable names for storage and JSON.
    public var kind: String {
        switch self {
        case .human: "human"
        case .autoReply: "auto-reply"
        case .bounce: "bounce"
        case .complaint: "complaint"
        }
    }

    /// Only a human message can mark a prospect as having replied.
    public var countsAsReply: Bool { self == .human }
}
