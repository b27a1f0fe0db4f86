/// A template file's bytes as text, in the encodings the CSV import reads (``TextDecoding``): UTF-8 with or without a
/// byte order mark, UTF-16 with a byte order mark or recognisable without one (Windows' "Unicode" text), and
/// Windows-1252 for a line that is not valid UTF-8 — each such line is reported, because an accent read the wrong
/// way would otherwise go out to every prospect.
///
/// ```swift
/// let source = TemplateSource(bytes: Array(try Data(contentsOf: url)))
/// let template = try EmailTemplate(parsing: source)   // lint also lists the lines read as Windows-1252
/// ```
public struct TemplateSource: Sendable, Hashable {
    /// The decoded text: what a job stores and what is parsed.
    public let text: String
    /// The file's encoding; `.windows1252` when at least one line had to be read that way.
    public let encoding: TextEncoding
    /// Lines that were not valid UTF-8 and were read as Windows-1252.
    let issues: [TemplateIssue]

    public init(bytes: [UInt8]) {
        let detected = TextDecoding.detect(sample: bytes, isComplete: true)
        let content = bytes[detected.byteOrderMarkLength...]
        encoding = detected.encoding
        switch detected.encoding {
        case .utf8:
            text = String(decoding: content, as: UTF8.self)
            issues = []
        case .utf16LittleEndian, .utf16BigEndian:
            var transcoder = UTF16Transcoder(encoding: detected.encoding)!
            var utf8: [UInt8] = []
            transcoder.transcode(Array(content), appendingTo: &utf8)
            transcoder.finish(appendingTo: &utf8)
            text = String(decoding: utf8, as: UTF8.self)
            issues = []
        case .windows1252:
            (text, issues) = Self.decodeLineByLine(content)
        }
    }

    /// UTF-8 where a line is valid UTF-8, Windows-1252 where it is not: a file that is mostly UTF-8 with one pasted
    /// Latin-1 line keeps its other accents. Lines are numbered as ``TemplateFileLayout`` numbers them (LF, CR or CRLF).
    private static func decodeLineByLine(_ bytes: ArraySlice<UInt8>) -> (String, [TemplateIssue]) {
        var text = ""
        text.reserveCapacity(bytes.count + bytes.count / 8)
        var issues: [TemplateIssue] = []
        var line = 1
        var start = bytes.startIndex
        var index = bytes.startIndex
        func decode(_ range: Range<Int>) {
            let (decoded, isWindows1252) = bytes[range].withUnsafeBufferPointer(TextDecoding.decodeField)
            if isWindows1252 { issues.append(TemplateIssue(kind: .readAsWindows1252(excerpt: Self.excerpt(decoded)), line: line)) }
            text += decoded
        }
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte == 0x0A || byte == 0x0D else {
                index += 1
                continue
            }
            decode(start..<index)
            let isCRLF = byte == 0x0D && index + 1 < bytes.endIndex && bytes[index + 1] == 0x0A
            text += isCRLF ? "\r\n" : byte == 0x0A ? "\n" : "\r"
            index += isCRLF ? 2 : 1
            start = index
            line += 1
        }
        decode(start..<bytes.endIndex)
        return (text, issues)
    }

    /// The line's first non-ASCII character with some text around it, so the operator can see how it was read.
    private static func excerpt(_ line: String) -> String {
        let scalars = Array(line.unicodeScalars)
        let first = scalars.firstIndex { !$0.isASCII } ?? 0
        let start = max(0, first - 15)
        let end = min(scalars.count, first + 15)
        let shown = String(String.UnicodeScalarView(scalars[start..<end])).trimmingASCIIWhitespace()
        return (start > 0 ? "…" : "") + shown + (end < scalars.count ? "…" : "")
    }
}
