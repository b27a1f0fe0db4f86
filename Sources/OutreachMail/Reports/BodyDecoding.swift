import CEtpan
import Foundation

/// Undoes a part's Content-Transfer-Encoding and turns its charset into a Swift string, through libetpan
/// (`mailmime_part_parse` for base64 and quoted-printable, `charconv_buffer` — iconv — for charsets). Both are
/// lenient about the broken encodings bounces carry (LF line ends, stray characters in base64). Every buffer
/// libetpan returns is released before returning.
enum BodyDecoding {
    static func decode(_ body: ArraySlice<UInt8>, transferEncoding: String?) -> [UInt8] {
        let mechanism: Int32
        switch transferEncoding?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "base64": mechanism = Int32(MAILMIME_MECHANISM_BASE64)
        case "quoted-printable": mechanism = Int32(MAILMIME_MECHANISM_QUOTED_PRINTABLE)
        default: return Array(body)
        }
        guard !body.isEmpty else { return [] }
        return body.withUnsafeBufferPointer { buffer -> [UInt8] in
            buffer.withMemoryRebound(to: CChar.self) { chars -> [UInt8] in
                var index = 0
                var result: UnsafeMutablePointer<CChar>?
                var length = 0
                let status = mailmime_part_parse(chars.baseAddress, chars.count, &index, mechanism, &result, &length)
                guard status == MAILIMF_NO_ERROR, let result else { return Array(body) }
                // The buffer is an MMAPString that mailmime_part_parse registered; unref releases it.
                defer { mmap_string_unref(result) }
                return result.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
            }
        }
    }

    /// Text in `charset` (default: UTF-8) as a String. Unknown charsets and invalid bytes degrade to lossy UTF-8,
    /// which keeps the ASCII the classifier reads. ISO-2022-JP is recognised by its escape sequences even when the
    /// part does not declare it, as Japanese carriers' bounces often do not.
    static func string(_ bytes: [UInt8], charset: String?) -> String {
        var name = charset?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        if name.isEmpty || name == "us-ascii" || name == "ascii", bytes.contains(0x1B), containsJISEscape(bytes) { name = "iso-2022-jp" }
        switch name {
        case "", "utf-8", "utf8", "us-ascii", "ascii", "unicode-1-1-utf-8":
            return String(decoding: bytes, as: UTF8.self)
        default:
            return convert(bytes, from: name) ?? String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func containsJISEscape(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == 0x1B, bytes[i + 1] == UInt8(ascii: "$"), bytes[i + 2] == UInt8(ascii: "B") || bytes[i + 2] == UInt8(ascii: "@") {
                return true
            }
            i += 1
        }
        return false
    }

    private static func convert(_ bytes: [UInt8], from charset: String) -> String? {
        guard !bytes.isEmpty else { return "" }
        return bytes.withUnsafeBufferPointer { buffer -> String? in
            buffer.withMemoryRebound(to: CChar.self) { chars -> String? in
                var result: UnsafeMutablePointer<CChar>?
                var length = 0
                let status = charconv_buffer("utf-8", charset, chars.baseAddress, chars.count, &result, &length)
                guard status == Int32(MAIL_CHARCONV_NO_ERROR), let result else { return nil }
                defer { charconv_buffer_free(result) }
                return result.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                }
            }
        }
    }
}
