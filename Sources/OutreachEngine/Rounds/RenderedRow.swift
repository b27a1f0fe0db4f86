import OutreachCore

/// What rendering produced for one prospect. The runner does not parse templates; it is handed this.
public enum RenderedRow: Sendable {
    case message(subject: String, text: String, html: String)
    /// Placeholders without a value and without a fallback.
    case needsData(missing: [ColumnKey])
    /// A value would have put a line break into a header.
    case unsafe(reason: String)
}

extension RenderedRow {
    /// Adapts a template's outcome for the round runner.
    public static func renderer(_ template: EmailTemplate) -> @Sendable (Prospect) -> RenderedRow {
        { prospect in
            switch template.render(values: prospect.fields) {
            case .rendered(let email):
                return .message(subject: email.subject ?? "", text: email.text, html: email.html)
            case .needsData(let missing):
                return .needsData(missing: missing)
            case .unsafeHeader(let field, let key):
                return .unsafe(reason: "the value of {\(key)} would put a line break into the \(field) header")
            }
        }
    }
}
