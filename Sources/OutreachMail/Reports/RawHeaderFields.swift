/// A header block read field by field, every occurrence kept, for the fields libetpan's `mailimf` parser has no
/// place for (MIME and DSN fields, `Return-Path` as written) and for blocks it rejects (header-only parts,
/// embedded copies of returned messages). Names are lowercased; values are unfolded and trimmed, bytes read as
/// UTF-8 (lossy), RFC 2047 words left as they are.
struct RawHeaderFields {
    struct Field {
        let name: String
        let value: String
    }

    /// A struct rather than a tuple: tuple metadata is looked up at run time, measurably, on the sync's hot path.
    private(set) var fields: [Field] = []

    init(_ bytes: ArraySlice<UInt8>) {
        var current: (name: String, value: [UInt8])?
        for line in Lines(bytes) {
            if let first = line.first, first == 0x20 || first == 0x09 {
                // A folded continuation: RFC 5322 unfolding keeps the white space, one space is enough here.
                if current != nil { current!.value += [0x20] + Self.trimmed(line) }
                continue
            }
            if let field = current { fields.append(Field(name: field.name, value: Self.string(field.value))) }
            current = nil
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = Self.trimmed(line[line.startIndex..<colon])
            guard !name.isEmpty, name.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { continue }
            current = (String(decoding: name, as: UTF8.self).lowercased(), Array(Self.trimmed(line[(colon + 1)...])))
        }
        if let field = current { fields.append(Field(name: field.name, value: Self.string(field.value))) }
    }

    func first(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// Where the header block of a message or part ends and its body starts.
    ///
    /// Tolerates what real mail does: LF or CRLF line ends, an mbox `From ` line on top, and a missing blank line
    /// (the first line that is neither a field nor a continuation starts the body).
    static func split(_ bytes: ArraySlice<UInt8>) -> (header: ArraySlice<UInt8>, body: ArraySlice<UInt8>) {
        var start = bytes.startIndex
        if bytes.starts(with: Array("From ".utf8)), let end = bytes.firstIndex(of: 0x0A) { start = end + 1 }
        var index = start
        var sawField = false
        while index < bytes.endIndex {
            let lineEnd = bytes[index...].firstIndex(of: 0x0A) ?? bytes.endIndex
            var content = bytes[index..<lineEnd]
            if content.last == 0x0D { content = content.dropLast() }
            let next = lineEnd < bytes.endIndex ? lineEnd + 1 : lineEnd
            if content.isEmpty { return (bytes[start..<index], bytes[next...]) }
            let isContinuation = sawField && (content.first == 0x20 || content.first == 0x09)
            if !isContinuation && !isFieldLine(content) { return (bytes[start..<index], bytes[index...]) }
            sawField = true
            index = next
        }
        return (bytes[start...], bytes[bytes.endIndex...])
    }

    /// `Name: value` with a name of printable ASCII and no space.
    static func isFieldLine(_ line: ArraySlice<UInt8>) -> Bool {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return false }
        return line[line.startIndex..<colon].allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 || last == 0x0D { slice = slice.dropLast() }
        return slice
    }

    private static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// The lines of a byte buffer without their LF or CRLF ends.
struct Lines: Sequence, IteratorProtocol {
    private var rest: ArraySlice<UInt8>
    private var done = false

    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }

    mutating func next() -> ArraySlice<UInt8>? {
        guard !done else { return nil }
        guard let newline = rest.firstIndex(of: 0x0A) else {
            done = true
            var last = rest
            if last.last == 0x0D { last = last.dropLast() }
            return last.isEmpty ? nil : last
        }
        var line = rest[rest.startIndex..<newline]
        rest = rest[(newline + 1)...]
        if line.last == 0x0D { line = line.dropLast() }
        return line
    }
}
