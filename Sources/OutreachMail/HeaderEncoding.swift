import Foundation
import OutreachCore

/// RFC 5322 header writing: refuse injected line breaks, RFC 2047 encoded-words for non-ASCII text, folding at 78 columns.
enum HeaderEncoding {
    static func checkSafe(_ value: String, field: String) throws(CompositionError) {
        if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw .lineBreakInHeader(field: field)
        }
    }

    /// RFC 5322 §2.1.1: a line must not exceed 998 octets before its CRLF, and should not exceed 78.
    static let lineLimit = 998
    static let foldWidth = 78
    /// The longest word that fits on a folded line after its leading space.
    private static let longestWord = foldWidth - 1

    /// Unstructured text (Subject): printable ASCII in words that fold passes through; otherwise (non-ASCII, control
    /// characters, or a word too long for a line) UTF-8 "B" encoded-words, each under 76 characters and never splitting
    /// a character, as RFC 2047 §5 requires — those fold anywhere, since white space between them is not part of the text.
    static func encodeText(_ text: String) -> String {
        if isPrintableASCII(text) && !text.contains("=?") && fitsFoldedLines(text) { return text }
        // Joined by a space; fold() then breaks the line between words.
        return encodedWords(text).joined(separator: " ")
    }

    /// A display name in an address: plain atoms stay bare, ASCII with specials is quoted, non-ASCII (or a word too
    /// long to fold) is encoded.
    static func encodePhrase(_ name: String) -> String {
        if isPrintableASCII(name) && !name.contains("=?") {
            let atext = name.unicodeScalars.allSatisfy { s in
                s == " " || (s.properties.isAlphabetic || ("0"..."9").contains(s)) || "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(s)
            }
            let written = atext ? name : "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            if fitsFoldedLines(written) { return written }
        }
        return encodedWords(name).joined(separator: " ")
    }

    private static func isPrintableASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    /// Whether every space-separated word fits on a folded line of ``foldWidth``.
    private static func fitsFoldedLines(_ text: String) -> Bool {
        var run = 0
        for byte in text.utf8 {
            run = byte == 0x20 ? 0 : run + 1
            if run > longestWord - 2 { return false }  // room for the ", " or "<" an address list puts after a name
        }
        return true
    }

    private static func encodedWords(_ text: String) -> [String] {
        // "=?UTF-8?B?" + "?=" is 12 characters; 39 bytes of UTF-8 become 52 base64 characters: 64 in all, so even the
        // first word fits on one line after "Subject: " (RFC 2047 §2 allows 75).
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text.unicodeScalars {
            let width = UTF8.width(character)
            if chunk.count + width > 39 && !chunk.isEmpty {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk.removeAll(keepingCapacity: true)
            }
            chunk.append(contentsOf: String(character).utf8)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words
    }

    /// `Name: value` folded at spaces (RFC 5322 §2.2.3) so no line exceeds ``foldWidth`` where a space allows it.
    /// Unfolding (removing each CRLF) gives back the line exactly.
    /// - Throws: ``CompositionError/headerTooLong(field:)`` when a word is so long that a line would pass ``lineLimit``.
    static func fold(_ name: String, _ value: String) throws(CompositionError) -> String {
        let line = "\(name): \(value)"
        guard line.utf8.count > foldWidth else { return line }
        var out = ""
        out.reserveCapacity(line.utf8.count + line.utf8.count / 20)
        var current = ""
        func flush() throws(CompositionError) {
            guard current.utf8.count <= lineLimit else { throw .headerTooLong(field: name) }
            out += current
        }
        for (i, word) in line.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if i == 0 {
                current = String(word)
                continue
            }
            // A continuation line must hold more than white space, or unfolding would not give the line back.
            if current.utf8.count + 1 + word.utf8.count > foldWidth && current.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                try flush()
                out += "\r\n"
                current = " " + word
            } else {
                current += " " + word
            }
        }
        try flush()
        return out
    }
}
