/// One entity of a MIME message — the message itself, a part, or a part of a part — split in Swift rather than
/// with `mailmime_parse`, because bounces need more tolerance than libetpan's MIME parser has: LF line ends,
/// delimiters indented by a space, a declared boundary that the body never uses (a found one is used instead),
/// made-up multipart subtypes (`multipart/mx6d`), no closing delimiter. Header fields still go through libetpan
/// where structure matters (see ``MessageReportParser``).
struct MIMEEntity {
    /// The raw header block, for `HeaderParser`.
    let header: ArraySlice<UInt8>
    let fields: RawHeaderFields
    let contentType: ContentType
    /// Still transfer-encoded.
    let body: ArraySlice<UInt8>
    /// The parts of a multipart entity; empty otherwise (also for a multipart whose body had no delimiters).
    let parts: [MIMEEntity]

    /// Deep enough for any real report (message → report → alternative → text); the limit stops crafted nesting.
    static let maximumDepth = 8

    init(_ bytes: ArraySlice<UInt8>, defaultType: ContentType = .textPlain, depth: Int = 0) {
        let (header, body) = RawHeaderFields.split(bytes)
        self.header = header
        self.body = body
        fields = RawHeaderFields(header)
        contentType = fields.first("content-type").flatMap(ContentType.init(parsing:)) ?? defaultType
        guard contentType.isMultipart, depth < Self.maximumDepth,
              let pieces = Self.split(body, boundary: contentType.parameters["boundary"])
        else {
            parts = []
            return
        }
        let childDefault: ContentType = contentType.subtype == "digest" ? .messageRFC822 : .textPlain
        parts = pieces.map { MIMEEntity($0, defaultType: childDefault, depth: depth + 1) }
    }

    var transferEncoding: String? { fields.first("content-transfer-encoding") }

    /// The body with its transfer encoding undone.
    var decodedBody: [UInt8] { BodyDecoding.decode(body, transferEncoding: transferEncoding) }

    /// The body as text, transfer encoding and charset undone.
    var text: String { BodyDecoding.string(decodedBody, charset: contentType.parameters["charset"]) }

    // MARK: - Multipart splitting

    /// The byte ranges between delimiter lines, preamble and epilogue dropped; nil when no delimiter is found.
    static func split(_ body: ArraySlice<UInt8>, boundary declared: String?) -> [ArraySlice<UInt8>]? {
        if let declared, !declared.isEmpty, let pieces = split(body, delimiter: Array(("--" + declared).utf8)) {
            return pieces
        }
        // The declared boundary is missing or never used (seen in anonymised and hand-edited bounces): a line that
        // starts with "--", occurs more than once and is followed by a MIME field is the real one.
        guard let found = guessDelimiter(body) else { return nil }
        return split(body, delimiter: found)
    }

    private static func split(_ body: ArraySlice<UInt8>, delimiter: [UInt8]) -> [ArraySlice<UInt8>]? {
        var pieces: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var lineStart = body.startIndex
        var sawDelimiter = false
        while lineStart < body.endIndex {
            let lineEnd = body[lineStart...].firstIndex(of: 0x0A) ?? body.endIndex
            let next = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
            if let kind = delimiterKind(body[lineStart..<lineEnd], delimiter: delimiter) {
                sawDelimiter = true
                if let start = partStart { pieces.append(trimmingFinalLineBreak(body[start..<lineStart])) }
                if kind == .close { return pieces }
                partStart = next
            }
            lineStart = next
        }
        guard sawDelimiter else { return nil }
        if let start = partStart, start < body.endIndex { pieces.append(body[start...]) }
        return pieces
    }

    private enum DelimiterKind { case open, close }

    private static func delimiterKind(_ line: ArraySlice<UInt8>, delimiter: [UInt8]) -> DelimiterKind? {
        var content = line
        while let first = content.first, first == 0x20 || first == 0x09 { content = content.dropFirst() }
        while let last = content.last, last == 0x20 || last == 0x09 || last == 0x0D { content = content.dropLast() }
        guard content.starts(with: delimiter) else { return nil }
        let rest = content.dropFirst(delimiter.count)
        if rest.isEmpty { return .open }
        if rest.elementsEqual([UInt8(ascii: "-"), UInt8(ascii: "-")]) { return .close }
        return nil
    }

    /// The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    private static func trimmingFinalLineBreak(_ piece: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = piece
        if slice.last == 0x0A { slice = slice.dropLast() }
        if slice.last == 0x0D { slice = slice.dropLast() }
        return slice
    }

    private static func guessDelimiter(_ body: ArraySlice<UInt8>) -> [UInt8]? {
        let lines = Array(Lines(body))
        var counts: [[UInt8]: Int] = [:]
        var candidates: [[UInt8]] = []
        for (index, line) in lines.enumerated() {
            var content = line
            while let first = content.first, first == 0x20 || first == 0x09 { content = content.dropFirst() }
            while let last = content.last, last == 0x20 || last == 0x09 { content = content.dropLast() }
            guard content.count > 4, content.starts(with: [0x2D, 0x2D]) else { continue }
            var key = Array(content)
            if key.count > 4, key.suffix(2) == [0x2D, 0x2D], counts[Array(key.dropLast(2))] != nil { key.removeLast(2) }
            counts[key, default: 0] += 1
            let followedByField = index + 1 < lines.count
                && String(decoding: lines[index + 1].prefix(8), as: UTF8.self).lowercased().hasPrefix("content-")
            if followedByField && !candidates.contains(key) { candidates.append(key) }
        }
        return candidates.first { counts[$0, default: 0] >= 2 }
    }
}
