/// Reads a prospect's fields as ``ProspectFields/encode(_:)`` writes them — one flat JSON object of
/// strings — in one pass over the bytes. Anything else (an escape, a nested value, a malformed text) answers nil, and
/// the caller uses the general JSON decoder: this only makes the common case cheap for pages of 500 prospects.
enum FlatJSONObject {
    static func strings(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes -> [String: String]? in
            var i = 0
            func skipSpace() {
                while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
            }
            func expect(_ byte: UInt8) -> Bool {
                skipSpace()
                guard i < bytes.count, bytes[i] == byte else { return false }
                i += 1
                return true
            }
            func string() -> String? {
                guard expect(UInt8(ascii: "\"")) else { return nil }
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
                defer { i += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            guard expect(UInt8(ascii: "{")) else { return nil }
            var object: [String: String] = [:]
            if expect(UInt8(ascii: "}")) { return i == bytes.count ? object : nil }
            while true {
                guard let key = string(), expect(UInt8(ascii: ":")), let value = string() else { return nil }
                object[key] = value
                if expect(UInt8(ascii: ",")) { continue }
                guard expect(UInt8(ascii: "}")) else { return nil }
                skipSpace()
                return i == bytes.count ? object : nil
            }
        }
    }
}
