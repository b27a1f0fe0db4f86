/// Converts UTF-16 bytes to UTF-8 one chunk at a time, so a UTF-16 file (Excel's "Unicode text") can be read in
/// bounded memory by the byte-level CSV parser.
///
/// A chunk may end in the middle of a code unit or between the two halves of a surrogate pair; the transcoder keeps
/// the loose byte or the high surrogate and completes it with the next chunk. Unpaired surrogates and a final odd
/// byte become U+FFFD and are counted in ``replacementCount``.
public struct UTF16Transcoder: Sendable {
    public let isBigEndian: Bool
    /// How many U+FFFD replacement characters were written for broken input.
    public private(set) var replacementCount = 0

    private var carriedByte: UInt8?
    private var highSurrogate: UInt16?

    public init(bigEndian: Bool) {
        self.isBigEndian = bigEndian
    }

    public init?(encoding: TextEncoding) {
        switch encoding {
        case .utf16LittleEndian: self.init(bigEndian: false)
        case .utf16BigEndian: self.init(bigEndian: true)
        case .utf8, .windows1252: return nil
        }
    }

    /// Appends the UTF-8 form of `bytes` to `output`; anything incomplete at the end waits for the next call.
    public mutating func transcode(_ bytes: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        output.reserveCapacity(output.count + bytes.count * 3 / 2 + 8)
        var index = 0
        if let first = carriedByte {
            carriedByte = nil
            append(unit(first, bytes[0]), to: &output)
            index = 1
        }
        let count = bytes.count
        while index + 1 < count {
            append(unit(bytes[index], bytes[index + 1]), to: &output)
            index += 2
        }
        if index < count { carriedByte = bytes[index] }
    }

    public mutating func transcode(_ bytes: [UInt8], appendingTo output: inout [UInt8]) {
        bytes.withUnsafeBytes { transcode($0, appendingTo: &output) }
    }

    /// Flushes what the input left incomplete at its end.
    public mutating func finish(appendingTo output: inout [UInt8]) {
        if highSurrogate != nil {
            highSurrogate = nil
            appendReplacement(to: &output)
        }
        if carriedByte != nil {
            carriedByte = nil
            appendReplacement(to: &output)
        }
    }

    @inline(__always)
    private func unit(_ a: UInt8, _ b: UInt8) -> UInt16 {
        isBigEndian ? UInt16(a) << 8 | UInt16(b) : UInt16(b) << 8 | UInt16(a)
    }

    @inline(__always)
    private mutating func append(_ unit: UInt16, to output: inout [UInt8]) {
        if let high = highSurrogate {
            highSurrogate = nil
            if unit & 0xFC00 == 0xDC00 {
                let scalar = 0x10000 + (UInt32(high & 0x3FF) << 10 | UInt32(unit & 0x3FF))
                output.append(UInt8(0xF0 | (scalar >> 18)))
                output.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
                output.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                output.append(UInt8(0x80 | (scalar & 0x3F)))
                return
            }
            appendReplacement(to: &output)
        }
        switch unit {
        case 0..<0x80:
            output.append(UInt8(unit))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | (unit >> 6)))
            output.append(UInt8(0x80 | (unit & 0x3F)))
        case 0xD800..<0xDC00:
            highSurrogate = unit
        case 0xDC00..<0xE000:
            appendReplacement(to: &output)
        default:
            output.append(UInt8(0xE0 | (unit >> 12)))
            output.append(UInt8(0x80 | ((unit >> 6) & 0x3F)))
            output.append(UInt8(0x80 | (unit & 0x3F)))
        }
    }

    private mutating func appendReplacement(to output: inout [UInt8]) {
        replacementCount += 1
        output.append(contentsOf: [0xEF, 0xBF, 0xBD])
    }
}
