/// How a master file's bytes become text: which encoding it is in (from its byte order mark or, failing that, from
/// whether a sample is valid UTF-8), and the Windows-1252 decoder that Excel's plain "CSV" needs.
///
/// Eight-bit files are decoded one field at a time, UTF-8 first and Windows-1252 when a field is not valid UTF-8.
/// That stays right for files that mix both (rows pasted from two exports): a Windows-1252 field with accented
/// letters is practically never valid UTF-8, because its high bytes stand alone instead of in lead/continuation runs.
public struct TextDecoding: Sendable, Hashable {
    public var encoding: TextEncoding
    /// Bytes of byte order mark at the start of the file (0, 2 or 3), to be skipped.
    public var byteOrderMarkLength: Int

    public init(encoding: TextEncoding, byteOrderMarkLength: Int = 0) {
        self.encoding = encoding
        self.byteOrderMarkLength = byteOrderMarkLength
    }

    /// Decides the encoding from the first bytes of a file.
    ///
    /// - A byte order mark wins: EF BB BF is UTF-8, FF FE UTF-16 LE, FE FF UTF-16 BE.
    /// - Without one, a sample whose even or odd bytes are mostly zero is taken as UTF-16 (ASCII text in UTF-16; a
    ///   UTF-8 or Windows-1252 CSV never contains NUL bytes).
    /// - Otherwise UTF-8 if the sample is valid UTF-8, else Windows-1252.
    ///
    /// - Parameter isComplete: whether the sample is the whole file; if not, a multi-byte sequence cut off at the end
    ///   of the sample does not count as invalid.
    public static func detect(sample: UnsafeRawBufferPointer, isComplete: Bool) -> TextDecoding {
        let bytes = sample
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { return .init(encoding: .utf8, byteOrderMarkLength: 3) }
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xFE { return .init(encoding: .utf16LittleEndian, byteOrderMarkLength: 2) }
        if bytes.count >= 2, bytes[0] == 0xFE, bytes[1] == 0xFF { return .init(encoding: .utf16BigEndian, byteOrderMarkLength: 2) }

        let pairs = min(bytes.count, 1024) / 2
        if pairs >= 2 {
            var zeroEven = 0, zeroOdd = 0
            for pair in 0..<pairs {
                if bytes[2 * pair] == 0 { zeroEven += 1 }
                if bytes[2 * pair + 1] == 0 { zeroOdd += 1 }
            }
            if zeroOdd * 10 >= pairs * 4 && zeroEven == 0 { return .init(encoding: .utf16LittleEndian) }
            if zeroEven * 10 >= pairs * 4 && zeroOdd == 0 { return .init(encoding: .utf16BigEndian) }
        }

        return .init(encoding: isValidUTF8(sample: bytes, isComplete: isComplete) ? .utf8 : .windows1252)
    }

    public static func detect(sample: [UInt8], isComplete: Bool) -> TextDecoding {
        sample.withUnsafeBytes { detect(sample: $0, isComplete: isComplete) }
    }

    /// Whether `sample` is valid UTF-8, forgiving a sequence that the end of an incomplete sample cuts in two.
    static func isValidUTF8(sample: UnsafeRawBufferPointer, isComplete: Bool) -> Bool {
        let units = sample.bindMemory(to: UInt8.self)
        if isValidUTF8(units) { return true }
        guard !isComplete else { return false }
        // A cut sequence is a lead byte in the last three bytes with fewer continuation bytes after it than it needs.
        var cut = units.count
        for back in 1...min(3, units.count) {
            let byte = units[units.count - back]
            if byte & 0xC0 == 0x80 { continue }  // continuation byte: keep looking for its lead
            if byte >= 0xC0 { cut = units.count - back }
            break
        }
        guard cut < units.count else { return false }
        return isValidUTF8(UnsafeBufferPointer(rebasing: units[..<cut]))
    }

    // MARK: - Fields

    /// Decodes one field of an eight-bit file: UTF-8 when valid, otherwise Windows-1252.
    /// - Returns: the text, and whether the Windows-1252 fallback was needed.
    @inlinable
    public static func decodeField(_ bytes: UnsafeBufferPointer<UInt8>) -> (text: String, isWindows1252: Bool) {
        if isValidUTF8(bytes) { return (String(decoding: bytes, as: UTF8.self), false) }
        return (windows1252String(bytes), true)
    }

    /// Whether `bytes` are well-formed UTF-8 (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing
    /// above U+10FFFF).
    ///
    /// The standard library's `String(validating:as:)` would do, but it is generic over the encoding and, unspecialized,
    /// looks up type metadata on every call, which for millions of short fields costs more than the parsing itself.
    @inlinable
    public static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        let raw = UnsafeRawPointer(base)
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        // ASCII eight bytes at a time, the last word overlapping the one before: nearly every field is ASCII.
        if count >= 8 {
            while i + 8 <= count, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & highBits == 0 { i += 8 }
            if i == count || (i + 8 > count && raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) & highBits == 0) {
                return true
            }
        } else {
            var any: UInt8 = 0
            for j in 0..<count { any |= base[j] }
            if any < 0x80 { return true }
        }
        while i < count {
            let lead = base[i]
            if lead < 0x80 {
                i += 1
                while i + 8 <= count, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & highBits == 0 { i += 8 }
                continue
            }
            @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
                i + offset < count && base[i + offset] >= low && base[i + offset] <= high
            }
            switch lead {
            case 0xC2...0xDF:
                guard continuation(1) else { return false }
                i += 2
            case 0xE0:
                guard continuation(1, 0xA0), continuation(2) else { return false }
                i += 3
            case 0xE1...0xEC, 0xEE...0xEF:
                guard continuation(1), continuation(2) else { return false }
                i += 3
            case 0xED:
                guard continuation(1, 0x80, 0x9F), continuation(2) else { return false }
                i += 3
            case 0xF0:
                guard continuation(1, 0x90), continuation(2), continuation(3) else { return false }
                i += 4
            case 0xF1...0xF3:
                guard continuation(1), continuation(2), continuation(3) else { return false }
                i += 4
            case 0xF4:
                guard continuation(1, 0x80, 0x8F), continuation(2), continuation(3) else { return false }
                i += 4
            default:
                return false
            }
        }
        return true
    }

    /// Decodes Windows-1252 bytes.
    ///
    /// 0x00–0x7F are ASCII and 0xA0–0xFF are Latin-1; 0x80–0x9F hold €, typographic quotes, dashes, Š, Œ, Ž, Ÿ and
    /// friends. The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) become the C1 control
    /// characters with the same value (U+0081 …), as in the WHATWG Encoding Standard and Windows' own converter, so
    /// no byte is lost and none turns into a replacement character.
    public static func windows1252String(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 3) { out in
            var o = 0
            for byte in bytes {
                if byte < 0x80 {
                    out[o] = byte
                    o += 1
                    continue
                }
                let scalar: UInt32 = byte < 0xA0 ? UInt32(windows1252High[Int(byte) - 0x80]) : UInt32(byte)
                if scalar < 0x800 {
                    out[o] = UInt8(0xC0 | (scalar >> 6))
                    out[o + 1] = UInt8(0x80 | (scalar & 0x3F))
                    o += 2
                } else {
                    out[o] = UInt8(0xE0 | (scalar >> 12))
                    out[o + 1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
                    out[o + 2] = UInt8(0x80 | (scalar & 0x3F))
                    o += 3
                }
            }
            return o
        }
    }

    public static func windows1252String(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { windows1252String($0) }
    }

    /// Unicode scalars for Windows-1252 bytes 0x80–0x9F.
    static let windows1252High: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]
}
