import Foundation
import OutreachCore

/// RFC 5322 header writing: refuse injected line breaks, RFC 2047 encoded-words for non-ASCII text, folding at 78 columns.
enum HeaderEncoding {
    static func checkSafe(_ value: String, field: String) throws(CompositionError) {
        if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw .lineBreakInHeader(field: field)
        }
    }

    /// Unstructured text (Subject): ASCII passes through; otherwise UTF-8 "B" encoded-words, each under 76 characters
    /// and never splitting a character, as RFC 2047 §5 requires.
    static func encodeText(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII && ($0.value >= 0x20 && $0.value < 0x7F) }) && !text.contains("=?") {
            return text
        }
        // Joined by a space; fold() then breaks the line between words.
        return encodedWords(text).joined(separator: " ")
    }

    /// A display name in an address: plain atoms stay bare, ASCII with specials is quoted, non-ASCII is encoded.
    static func encodePhrase(_ name: String) -> String {
        let isASCII = name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }
        if isASCII && !name.contains("=?") {
            let atext = name.unicodeScalars.allSatisfy { s in
                s == " " || (s.properties.isAlphabetic || ("0"..."9").contains(s)) || "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(s)
            }
            if atext { return name }
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\""
        }
        return encodedWords(name).joined(separator: " ")
    }

    private static func encodedWords(_ text: String) -> [String] {
        // "=?UTF-8?B?" + "?=" is 12 characters; 39 bytes of UTF-8 become 52 base64 characters: 64 in all, so even the
        // first word fits on one line after "Subject: " (RFC 2047 §2 allows 75).
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 39 && !chunk.isEmpty {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk.removeAll(keepingCapacity: true)
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words
    }

    /// Folds a `Name: value` line at white space so no line exceeds 78 characters where that is possible.
    static func fold(_ line: String) -> String {
        guard line.utf8.count > 78 else { return line }
        var out = ""
        var current = ""
        for (i, word) in line.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if i == 0 { current = String(word); continue }
            if current.utf8.count + 1 + word.utf8.count > 78 && !current.trimmingASCIIWhitespace().isEmpty {
                out += current + "\r\n"
                current = " " + word
            } else {
                current += " " + word
            }
        }
        return out + current
    }
}
