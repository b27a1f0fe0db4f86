import OutreachCore

/// Why a message could not be built. Nothing is sent when one of these is thrown.
public enum CompositionError: Error, Equatable, CustomStringConvertible {
    /// A header value holds CR, LF or NUL: it would let a merge value inject headers (Bcc:) into the message.
    case lineBreakInHeader(field: String)
    case noRecipients

    public var description: String {
        switch self {
        case .lineBreakInHeader(let field): "the \(field) header would contain a line break or NUL byte; refusing to build a message that could carry injected headers"
        case .noRecipients: "the message has no recipient"
        }
    }
}
