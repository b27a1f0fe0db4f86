/// Quoted-printable body encoding (RFC 2045 §6.7) with CRLF line ends and soft breaks under 76 characters.
/// Chosen over base64 for text parts so the message stays readable in a raw view and in `outreach preview`.
/// Works on the UTF-8 bytes in one pass: it runs for every part of every message sent.
enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        var column = 0
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            // Any of CRLF, LF or a lone CR is a line end.
            if b == 13 || b == 10 {
                out += [13, 10]
                column = 0
                i += (b == 13 && i + 1 < bytes.count && bytes[i + 1] == 10) ? 2 : 1
                continue
            }
            let next = i + 1 < bytes.count ? bytes[i + 1] : 10
            let endsLine = next == 13 || next == 10
            let literal = (b >= 33 && b <= 126 && b != UInt8(ascii: "=")) || ((b == 32 || b == 9) && !endsLine)
            let width = literal ? 1 : 3
            if column + width > 75 {
                out += [UInt8(ascii: "="), 13, 10]
                column = 0
            }
            if literal {
                out.append(b)
            } else {
                out += [UInt8(ascii: "="), hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            }
            column += width
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
