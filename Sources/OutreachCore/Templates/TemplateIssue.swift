/// A problem lint found in a template. Errors must block sending; warnings are for the operator to read.
public struct TemplateIssue: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable, Comparable {
        case error, warning

        public static func < (a: Severity, b: Severity) -> Bool { a == .error && b == .warning }
    }

    public enum Kind: Sendable, Hashable {
        /// A placeholder names no column of the campaign. Without a fallback every row would be held (error); with
        /// one, every row gets the fallback (warning).
        case unknownPlaceholder(name: String, key: ColumnKey, suggestion: ColumnKey?, hasFallback: Bool)
        /// A `{` that does not start a placeholder; it is sent as a literal brace (write `{{` to mean that).
        case malformedBrace(excerpt: String)
        /// A `[gap…]` tag that is not `[gap]` or `[gap:N]` with N in 0…10; it is sent as written.
        case badGapTag(tag: String)
        /// Gap tags only space the body; in the subject it is sent as written.
        case gapTagInSubject(tag: String)
        /// A Markdown link whose address is not http, https or mailto; it is shown as text, not as a link.
        case unsupportedLink(url: String)
        case emptySubject
        case missingBlankLineAfterSubject
        /// A control character in the subject: NUL (`scalar` 0) cannot be sent in any header, so every row would be
        /// held (error); the others would show as boxes or vanish (warning).
        case controlCharacterInSubject(scalar: UInt32)
        /// The subject as written is longer than ``EmailTemplate/subjectLimit`` bytes of UTF-8.
        case subjectTooLong(bytes: Int, limit: Int)
        /// The line is not valid UTF-8 and was read as Windows-1252 (see ``TemplateSource``).
        case readAsWindows1252(excerpt: String)
    }

    public let kind: Kind
    /// 1-based line in the template file.
    public let line: Int

    public init(kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }

    public var severity: Severity {
        switch kind {
        case .unknownPlaceholder(_, _, _, let hasFallback): return hasFallback ? .warning : .error
        case .badGapTag, .gapTagInSubject, .subjectTooLong: return .error
        case .controlCharacterInSubject(let scalar): return scalar == 0 ? .error : .warning
        case .malformedBrace, .unsupportedLink, .emptySubject, .missingBlankLineAfterSubject, .readAsWindows1252: return .warning
        }
    }

    public var message: String {
        switch kind {
        case .unknownPlaceholder(let name, let key, let suggestion, let hasFallback):
            var text = "{\(name)} is not a column of this campaign"
            if key.rawValue != name { text += " (read as \"\(key)\")" }
            if let suggestion { text += " — did you mean {\(suggestion)}?" }
            text += hasFallback ? "; every row will get the fallback" : "; every row would be held as needing data"
            return text
        case .malformedBrace(let excerpt):
            return "\"\(excerpt)\" is not a placeholder and will be sent as written; write {name} or {name|fallback}, or {{ for a literal brace"
        case .badGapTag(let tag):
            return "\(tag) is not a gap tag and would be sent as written; write [gap] or [gap:N] with N from 0 to 10 (N = empty lines)"
        case .gapTagInSubject(let tag):
            return "\(tag) in the subject would be sent as written; gap tags only space the body"
        case .unsupportedLink(let url):
            return "link to \"\(url)\" is shown as plain text: only http://, https:// and mailto: links are made clickable"
        case .emptySubject:
            return "the subject is empty: fine for a follow-up (sent as \"Re: \" + the original subject), not for a first email"
        case .missingBlankLineAfterSubject:
            return "the Subject: line should be followed by one blank line; the body starts on this line"
        case .controlCharacterInSubject(0):
            return "the subject contains a NUL character (U+0000), which no email header can carry: every row would be held; remove it"
        case .controlCharacterInSubject(let scalar):
            let code = String(scalar, radix: 16, uppercase: true)
            return "the subject contains the invisible control character U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code), which mail programs show as a box or drop; remove it"
        case .subjectTooLong(let bytes, let limit):
            return "the subject is \(bytes) bytes long; the limit is \(limit) (inboxes show about the first 60 characters)"
        case .readAsWindows1252(let excerpt):
            return "this line is not valid UTF-8 and was read as Windows-1252 (\"\(excerpt)\"); check that its accents look right, or save the file as UTF-8"
        }
    }

    public var description: String { "line \(line): \(severity.rawValue): \(message)" }
}
