import OutreachCore

/// Why a message could not be built. Nothing is sent when one of these is thrown.
public enum CompositionError: Error, Equatable, CustomStringConvertible {
    /// A header value holds CR, LF or NUL: it would let a merge value inject headers (Bcc:) into the message.
    case lineBreakInHeader(field: String)
    case noRecipients
    /// A header has a word (a Message-ID, a URL) too long for the 998-octet line limit, so it cannot be folded.
    case headerTooLong(field: String)

    public var description: String {
        switch self {
        case .lineBreakInHeader(let field): "the \(field) header would contain a line break or NUL byte; refusing to build a message that could carry injected headers"
        case .noRecipients: "the message has no recipient"
        case .headerTooLong(let field): "the \(field) header holds a word longer than a header line may be (998 bytes), so it cannot be folded"
        }
    }
}
