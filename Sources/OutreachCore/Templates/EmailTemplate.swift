/// A compiled email template: a `Subject:` line, a blank line, then a Markdown or HTML body, with `{name}` /
/// `{name|fallback}` placeholders and `[gap:N]` spacing tags (see ``GapTag`` and docs/templates.md).
///
/// Parse once, then ``render(values:)`` every row: the subject, HTML part and text part are kept as segments of
/// literal text and value slots, so a row costs one lookup per distinct placeholder and one concatenation per part.
///
/// ```swift
/// let template = try EmailTemplate(parsing: "Subject: Hi {First Name}\n\nHello {first|there},")
/// switch template.render(values: [.first: "Ana"]) {
/// case .rendered(let email): send(email)
/// case .needsData(let missing): hold(row, missing)
/// case .unsafeHeader(let field, let key): refuse(row, field, key)
/// }
/// ```
public struct EmailTemplate: Sendable {
    /// Markdown or HTML, as detected (or as the caller said).
    public let format: BodyFormat
    /// False when the `Subject:` line is empty; rendered emails then have `subject == nil`.
    public let hasSubject: Bool
    /// Every placeholder as written, in template order, with its line.
    public let placeholders: [TemplatePlaceholder]
    /// Columns a row must have a non-blank value for (placeholders without a fallback): the cheap pre-check for
    /// rows that would be held as needing data.
    public let requiredKeys: Set<ColumnKey>
    /// Every column the template reads.
    public let referencedKeys: Set<ColumnKey>
    /// Problems found while reading the template itself; ``lint(knownKeys:)`` adds the ones that need the campaign.
    public let issues: [TemplateIssue]

    /// The largest template file accepted, in bytes of UTF-8: 4 MiB. Real letters are a few KiB; Gmail clips a
    /// message's HTML above 102 KB, and many servers refuse messages of 10 MB or more (a 4 MiB body goes out as its
    /// HTML and text parts, each quoted-printable).
    public static let sizeLimit = 4 * 1024 * 1024

    /// The longest subject a template may have, in bytes of UTF-8 as written (placeholders included): RFC 5322's
    /// line limit. Longer subjects would still be folded correctly, but no inbox shows more than a line of it.
    public static let subjectLimit = 998

    private let slots: [PlaceholderScanner.Slot]
    private let subjectSlots: [Int]
    private let subjectSegments: [TemplateSegment]
    private let htmlSegments: [TemplateSegment]
    private let textSegments: [TemplateSegment]
    private let literalLengths: (subject: Int, html: Int, text: Int)

    /// Reads a template file's text. Throws only when there is no `Subject:` line (or no text) or the text is over
    /// ``sizeLimit``; everything else is reported by ``lint(knownKeys:)``.
    /// - Parameter format: the body format; detected from the body when nil.
    public init(parsing source: String, format: BodyFormat? = nil) throws(TemplateError) {
        try self.init(parsing: source, format: format, readingIssues: [])
    }

    /// Reads a template file decoded by ``TemplateSource``; its lines read as Windows-1252 are among the ``issues``.
    public init(parsing source: TemplateSource, format: BodyFormat? = nil) throws(TemplateError) {
        try self.init(parsing: source.text, format: format, readingIssues: source.issues)
    }

    private init(parsing source: String, format: BodyFormat?, readingIssues: [TemplateIssue]) throws(TemplateError) {
        guard source.utf8.count <= Self.sizeLimit else { throw .tooLarge(bytes: source.utf8.count, limit: Self.sizeLimit) }
        var layout = try TemplateFileLayout(source)
        layout.issues += readingIssues
        let format = format ?? BodyFormat(detecting: String(String.UnicodeScalarView(layout.body)))
        var scanner = PlaceholderScanner()
        scanner.issues = layout.issues
        let subject = try scanner.scan(layout.subject, firstLine: layout.subjectLine, mode: .subject)
        let body = try scanner.scan(
            layout.body, firstLine: layout.bodyFirstLine, mode: format == .html ? .htmlBody : .markdownBody)

        var issues = scanner.issues
        let html: [Unicode.Scalar]
        let text: String
        switch format {
        case .markdown:
            let document = MarkdownDocument(body: body, firstLine: layout.bodyFirstLine)
            issues += document.issues
            html = Array(MarkdownRenderer.html(document).unicodeScalars)
            text = MarkdownRenderer.text(document)
        case .html:
            html = HTMLGapSpacer.apply(body)
            text = HTMLPlainText.convert(body)
        }

        self.format = format
        self.hasSubject = !layout.subject.isEmpty
        self.placeholders = scanner.placeholders
        self.slots = scanner.slots
        self.requiredKeys = Set(scanner.slots.filter { $0.fallback == nil }.map(\.key))
        self.referencedKeys = Set(scanner.slots.map(\.key))
        self.issues = issues.sorted { ($0.line, $0.severity) < ($1.line, $1.severity) }
        self.subjectSegments = TemplateSegment.splitPlainText(subject)
        self.htmlSegments = HTMLValuePlacement.segments(of: html)
        self.textSegments = TemplateSegment.splitPlainText(text.unicodeScalars)
        var subjectSlots: [Int] = []
        for case .value(let slot, _) in subjectSegments where !subjectSlots.contains(slot) { subjectSlots.append(slot) }
        self.subjectSlots = subjectSlots
        func literalLength(_ segments: [TemplateSegment]) -> Int {
            segments.reduce(0) { total, segment in
                if case .literal(let text) = segment { return total + text.utf8.count }
                return total
            }
        }
        self.literalLengths = (literalLength(subjectSegments), literalLength(htmlSegments), literalLength(textSegments))
    }

    // MARK: - Rendering

    /// Renders one row. `values` maps columns to the row's values; a value that is absent, empty or only white space
    /// counts as missing, and values are trimmed. Values are HTML-escaped in the HTML part (attributes and URLs
    /// included), inserted as written in the subject and text part.
    public func render(values: [ColumnKey: String]) -> RenderOutcome {
        var resolved: [String] = []
        resolved.reserveCapacity(slots.count)
        var missing: [ColumnKey] = []
        var valueLength = 0
        for slot in slots {
            if let value = values[slot.key].flatMap(Self.present) {
                resolved.append(value)
                valueLength += value.utf8.count
            } else if let fallback = slot.fallback {
                resolved.append(fallback)
            } else {
                if !missing.contains(slot.key) { missing.append(slot.key) }
                resolved.append("")
            }
        }
        guard missing.isEmpty else { return .needsData(missing: missing) }
        for slot in subjectSlots where Self.breaksHeader(resolved[slot]) {
            return .unsafeHeader(field: "Subject", key: slots[slot].key)
        }
        let subject = hasSubject ? Self.trimmed(assemble(subjectSegments, resolved, capacity: literalLengths.subject + valueLength)) : nil
        return .rendered(
            RenderedEmail(
                subject: subject,
                html: assemble(htmlSegments, resolved, capacity: literalLengths.html + valueLength * 2),
                text: assemble(textSegments, resolved, capacity: literalLengths.text + valueLength * 2)))
    }

    /// The columns `values` lacks for this template, in template order — the same test ``render(values:)`` applies,
    /// without building the message.
    public func missingKeys(values: [ColumnKey: String]) -> [ColumnKey] {
        var missing: [ColumnKey] = []
        for slot in slots where slot.fallback == nil && values[slot.key].flatMap(Self.present) == nil {
            if !missing.contains(slot.key) { missing.append(slot.key) }
        }
        return missing
    }

    private func assemble(_ segments: [TemplateSegment], _ values: [String], capacity: Int) -> String {
        var out = ""
        out.reserveCapacity(capacity)
        for segment in segments {
            switch segment {
            case .literal(let text): out += text
            case .value(let slot, let context): context.append(values[slot], to: &out)
            }
        }
        return out
    }

    /// The value trimmed, or nil when nothing is left.
    private static func present(_ value: String) -> String? {
        guard let first = value.utf8.first, let last = value.utf8.last else { return nil }
        if first > 0x20, last > 0x20, first < 0x80, last < 0x80 { return value }  // the common case: nothing to trim
        let trimmed = Self.trimmed(value)
        return trimmed.isEmpty ? nil : trimmed
    }

    private static func trimmed(_ value: String) -> String {
        let scalars = value.unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }

    /// CR, LF and NUL end or corrupt a header line; NEL, LS and PS are line breaks to some software too.
    private static func breaksHeader(_ value: String) -> Bool {
        value.unicodeScalars.contains { scalar in
            switch scalar.value {
            case 0x0A, 0x0D, 0x00, 0x85, 0x2028, 0x2029: return true
            default: return false
            }
        }
    }

    // MARK: - Lint

    /// Everything an operator should fix before sending, by line: the template's own ``issues`` plus placeholders
    /// that name no column in `knownKeys` (the campaign's normalized header), with a "did you mean" suggestion
    /// within two edits. Any `.error` must block sending.
    public func lint(knownKeys: Set<ColumnKey>) -> [TemplateIssue] {
        var found = issues
        var reported: Set<TemplatePlaceholder> = []
        for placeholder in placeholders where !knownKeys.contains(placeholder.key) {
            guard reported.insert(placeholder).inserted else { continue }
            let suggestion = knownKeys
                .map { (key: $0, distance: EditDistance.between(placeholder.key.rawValue, $0.rawValue, limit: 2)) }
                .filter { $0.distance <= 2 && $0.distance < max(placeholder.key.rawValue.count, 2) }
                .min { ($0.distance, $0.key) < ($1.distance, $1.key) }?
                .key
            found.append(
                TemplateIssue(
                    kind: .unknownPlaceholder(
                        name: placeholder.name, key: placeholder.key, suggestion: suggestion,
                        hasFallback: placeholder.fallback != nil),
                    line: placeholder.line))
        }
        return found.sorted { ($0.line, $0.severity) < ($1.line, $1.severity) }
    }
}
