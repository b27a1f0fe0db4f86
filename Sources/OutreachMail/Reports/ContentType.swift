/// A `Content-Type` value: media type and parameters. Parsed leniently (quoted or bare values, stray spaces,
/// upper-case names) because bounces come from every kind of software.
struct ContentType: Equatable {
    /// Lowercased, e.g. "multipart".
    var type: String
    /// Lowercased, e.g. "report".
    var subtype: String
    /// Names lowercased, values as written (quotes and escapes removed).
    var parameters: [String: String]

    static let textPlain = ContentType(type: "text", subtype: "plain", parameters: [:])
    static let messageRFC822 = ContentType(type: "message", subtype: "rfc822", parameters: [:])

    var mediaType: String { "\(type)/\(subtype)" }
    var isMultipart: Bool { type == "multipart" }

    init(type: String, subtype: String, parameters: [String: String]) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    /// nil when the value has no `type/subtype`. Scans bytes: the sync reads the Content-Type of every message.
    init?(parsing value: String) {
        let bytes = Array(value.utf8)
        var i = 0
        func skipSpace() { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D || bytes[i] == 0x0A { i += 1 } }
        func lowered(_ slice: ArraySlice<UInt8>) -> String {
            String(decoding: slice.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
        }
        func trimmed(_ slice: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var slice = slice
            while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
            while let last = slice.last, last == 0x20 || last == 0x09 || last == 0x0D || last == 0x0A { slice = slice.dropLast() }
            return slice
        }
        let semicolon = UInt8(ascii: ";")
        skipSpace()
        let mediaStart = i
        while i < bytes.count, bytes[i] != semicolon { i += 1 }
        let media = trimmed(bytes[mediaStart..<i])
        guard let slash = media.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let typeBytes = trimmed(media[media.startIndex..<slash])
        let subtypeBytes = trimmed(media[(slash + 1)...])
        guard !typeBytes.isEmpty, !subtypeBytes.isEmpty else { return nil }
        type = lowered(typeBytes)
        subtype = lowered(subtypeBytes)
        parameters = [:]
        while i < bytes.count {
            i += 1  // the semicolon
            skipSpace()
            let nameStart = i
            while i < bytes.count, bytes[i] != UInt8(ascii: "="), bytes[i] != semicolon { i += 1 }
            let name = lowered(trimmed(bytes[nameStart..<i]))
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { continue }
            i += 1
            skipSpace()
            var raw: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
                    raw.append(bytes[i])
                    i += 1
                }
                while i < bytes.count, bytes[i] != semicolon { i += 1 }
            } else {
                let valueStart = i
                while i < bytes.count, bytes[i] != semicolon { i += 1 }
                raw = Array(trimmed(bytes[valueStart..<i]))
            }
            if !name.isEmpty && parameters[name] == nil { parameters[name] = String(decoding: raw, as: UTF8.self) }
        }
    }
}
