/// One row's message content.
public struct RenderedEmail: Sendable, Hashable {
    /// `nil` when the template's `Subject:` line is empty: a follow-up then uses "Re: " + the thread's subject.
    /// Never contains CR, LF or NUL.
    public let subject: String?
    /// The HTML part: a fragment for Markdown bodies, the operator's markup for HTML bodies. Values are escaped.
    public let html: String
    /// The text/plain part. Values appear as written.
    public let text: String

    public init(subject: String?, html: String, text: String) {
        self.subject = subject
        self.html = html
        self.text = text
    }
}
