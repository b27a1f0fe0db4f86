import OutreachCore

/// What rendering produced for one prospect. The runner does not parse templates; it is handed this.
public enum RenderedRow: Sendable {
    case message(subject: String, text: String, html: String)
    /// Placeholders without a value and without a fallback.
    case needsData(missing: [ColumnKey])
    /// A value would have put a line break into a header.
    case unsafe(reason: String)
}
