/// Why a template file could not be read at all. Everything less severe is a ``TemplateIssue`` reported by lint.
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file has no text.
    case empty
    /// The first non-blank line (`line`, 1-based) is not a `Subject:` line.
    case missingSubject(line: Int, found: String)
    /// More distinct placeholders than the engine can track (a generated template gone wrong).
    case tooManyPlaceholders(limit: Int)
    /// The file is larger than ``EmailTemplate/sizeLimit`` (`bytes` of UTF-8).
    case tooLarge(bytes: Int, limit: Int)

    static let expectedFormat = """
        A template is a "Subject:" line, one blank line, then the body (Markdown or HTML), for example:
          Subject: Quick question, {first}

          Hi {first|there},
          …
        An empty "Subject:" in a follow-up means "Re: " + the original subject.
        """

    public var description: String {
        switch self {
        case .empty:
            return "the template is empty.\n\(Self.expectedFormat)"
        case .missingSubject(let line, let found):
            let shown = found.count > 60 ? String(found.prefix(60)) + "…" : found
            return "line \(line): expected a \"Subject:\" line, found \"\(shown)\".\n\(Self.expectedFormat)"
        case .tooManyPlaceholders(let limit):
            return "the template has more than \(limit) different placeholders"
        case .tooLarge(let bytes, let limit):
            return "the template is \(bytes) bytes; the limit is \(limit / 1024 / 1024) MiB (\(limit) bytes): "
                + "an email this large would be clipped by Gmail and refused by many mail servers"
        }
    }
}
