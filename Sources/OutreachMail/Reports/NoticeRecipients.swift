import OutreachCore

/// Finds, in a bounce's readable text, the addresses it reports as failed. Bounce templates differ, but nearly all
/// list the failed address at the start of a line ("<anna@example.org>:", "  anna@example.org", ">>> RCPT
/// To:<anna@example.org>"); those are preferred. Otherwise every address the text mentions counts, except the
/// sender's own, the bounce's own, and those in URLs or "contact" lines. When the returned original is known, the
/// candidates that were among its recipients win.
enum NoticeRecipients {
    static func failedRecipients(in notice: String, excluding excluded: Set<String>, originalRecipients: [String]) -> [String] {
        var leading: [String] = []
        var others: [String] = []
        for line in notice.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let lower = line.lowercased()
            if helpWords.contains(where: lower.contains) { continue }
            for (address, prefix) in scan(String(line)) {
                let key = address.lowercased()
                guard !excluded.contains(key), !key.hasPrefix("mailer-daemon@") else { continue }
                if isRecipientPosition(prefix) {
                    if !leading.contains(key) { leading.append(key) }
                } else if !others.contains(key) {
                    others.append(key)
                }
            }
        }
        let candidates = leading.isEmpty ? others : leading
        let original = Set(originalRecipients.map { $0.lowercased() })
        let confirmed = candidates.filter(original.contains)
        return confirmed.isEmpty ? candidates : confirmed
    }

    /// Every address in `text`, in order.
    static func addresses(in text: String) -> [String] { scan(text).map(\.address) }

    /// Lines that point somewhere for help rather than at a failed address.
    private static let helpWords = ["contact", "assistance", "please send mail to", "unsubscribe"]

    /// What may stand before a failed address at the start of a line.
    private static let labels = [
        "rcpt to:", "recipient:", "recipients:", "recipient address:", "address:", "addresses:", "rfc822;", "unknown user:",
        "userid:", "could not be delivered to:", "delivery to:", "failed recipient:", "failed:", "user:", "mailbox:",
    ]

    private static func isRecipientPosition(_ prefix: String) -> Bool {
        var text = prefix.lowercased().trimmingASCIIWhitespace()
        while let last = text.last, "<\"'([".contains(last) { text = String(text.dropLast()).trimmingASCIIWhitespace() }
        while let first = text.first, "*-•|>#<".contains(first) { text = String(text.dropFirst()).trimmingASCIIWhitespace() }
        return text.isEmpty || labels.contains(where: text.hasSuffix) || isReplyCode(text)
    }

    /// Sendmail writes "550 <anna@example.org>... User unknown": an SMTP reply code (and enhanced code) before
    /// the address.
    private static func isReplyCode(_ text: String) -> Bool {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "-" })
        guard let first = tokens.first, first.count == 3, first.allSatisfy(\.isASCIIDigit), "245".contains(first.first!) else { return false }
        return tokens.dropFirst().allSatisfy { DeliveryStatusCode(parsing: String($0)) != nil }
    }

    private static func isLocalByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "!#$%&*+-/=?^_{}|~.".utf8.contains(b)
    }

    private static func isDomainByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E
    }

    /// Addresses with the text before them on the line. Tokens containing "://" are URLs, not addresses.
    private static func scan(_ line: String) -> [(address: String, prefix: String)] {
        let bytes = Array(line.utf8)
        var found: [(String, String)] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "@") else {
                i += 1
                continue
            }
            var start = i
            while start > 0, isLocalByte(bytes[start - 1]) { start -= 1 }
            while start < i, bytes[start] == UInt8(ascii: ".") || bytes[start] == UInt8(ascii: "-") { start += 1 }
            var end = i + 1
            while end < bytes.count, isDomainByte(bytes[end]) { end += 1 }
            while end > i + 1, bytes[end - 1] == UInt8(ascii: ".") || bytes[end - 1] == UInt8(ascii: "-") { end -= 1 }
            defer { i = max(end, i + 1) }
            guard start < i, end > i + 1 else { continue }
            let domain = bytes[(i + 1)..<end]
            guard let lastDot = domain.lastIndex(of: UInt8(ascii: ".")), end - lastDot > 2 else { continue }
            let tokenStart = bytes[..<start].lastIndex(where: { $0 == 0x20 || $0 == 0x09 }).map { $0 + 1 } ?? 0
            let tokenEnd = bytes[end...].firstIndex(where: { $0 == 0x20 || $0 == 0x09 }) ?? bytes.count
            if String(decoding: bytes[tokenStart..<tokenEnd], as: UTF8.self).contains("://") { continue }
            let address = String(decoding: bytes[start..<end], as: UTF8.self)
            guard (try? EmailAddress(parsing: address)) != nil else { continue }
            found.append((address, String(decoding: bytes[..<start], as: UTF8.self)))
        }
        return found
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
