/// The readable text of a message, prepared once for the classifier's questions: where failure codes are, which
/// phrases it uses. Text that quotes another message is left out, so a person's reply that quotes a bounce or an
/// out-of-office note reads as what the person wrote.
struct NoticeText {
    /// Lines in their original case, up to the first reply-quote marker, without `>`-quoted lines.
    let lines: [String]
    /// The same lines lowercased and joined with "\n".
    let lowercased: String
    /// Enhanced status codes of failures (class 4 or 5), in order.
    let failureCodes: [DeliveryStatusCode]
    /// Basic SMTP failure replies (4xx, 5xx), in order.
    let replyCodes: [Int]

    init(_ text: String) {
        var kept: [String] = []
        let all = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        var index = 0
        while index < all.count {
            let line = String(all[index])
            let trimmed = line.trimmingASCIIWhitespace()
            if Self.startsQuotedReply(trimmed, following: all[(index + 1)...].prefix(4)) { break }
            // Mail clients quote with ">"; sendmail transcripts write ">>> RCPT To:", which is part of a bounce.
            if trimmed.hasPrefix(">") && !trimmed.hasPrefix(">>>") {
                index += 1
                continue
            }
            kept.append(line)
            index += 1
        }
        lines = kept
        let joined = kept.joined(separator: "\n")
        lowercased = joined.lowercased()
        failureCodes = DeliveryStatusCode.codes(in: joined).filter { $0.statusClass != 2 }
        replyCodes = Self.replyCodes(in: joined)
    }

    var hasFailureCode: Bool { !failureCodes.isEmpty || !replyCodes.isEmpty }

    func contains(anyOf phrases: [String]) -> Bool { lowercased.containsAnyPhrase(phrases) }

    /// The first line that carries a failure code: usually the remote server's reply. Trimmed to 300 characters.
    var diagnosticLine: String? {
        for line in lines {
            let hasCode = !DeliveryStatusCode.codes(in: line).filter { $0.statusClass != 2 }.isEmpty || !Self.replyCodes(in: line).isEmpty
            if hasCode {
                let trimmed = line.trimmingASCIIWhitespace()
                return trimmed.count > 300 ? String(trimmed.prefix(300)) + "…" : trimmed
            }
        }
        return nil
    }

    /// "On Mon, 3 Jun 2024, Anna wrote:", "-----Original Message-----", an Outlook "From:/Sent:" block: what
    /// follows is someone else's text.
    private static func startsQuotedReply(_ trimmed: String, following: ArraySlice<Substring>) -> Bool {
        let lower = trimmed.lowercased()
        if lower.hasPrefix("-----original message-----") || lower.hasPrefix("-------- original message")
            || lower.hasPrefix("begin forwarded message") || lower.hasPrefix("---------- forwarded message")
        {
            return true
        }
        if lower.hasSuffix("wrote:") || lower.hasSuffix("a écrit :") || lower.hasSuffix("a écrit:") || lower.hasSuffix("schrieb:")
            || lower.hasSuffix("escribió:")
        {
            return lower.hasPrefix("on ") || lower.hasPrefix("le ") || lower.hasPrefix("am ") || lower.hasPrefix("el ")
        }
        if lower.hasPrefix("from:") {
            return following.contains { next in
                let nextLower = next.trimmingASCIIWhitespace().lowercased()
                return nextLower.hasPrefix("sent:") || nextLower.hasPrefix("gesendet:") || nextLower.hasPrefix("envoyé :")
            }
        }
        return false
    }

    /// Three-digit 4xx/5xx replies standing as a token: "550 5.1.1", "550-Your message", "said: 421", "550:".
    /// Longer numbers, decimals and numbers glued to letters are not replies.
    static func replyCodes(in text: String) -> [Int] {
        let bytes = Array(text.utf8)
        var codes: [Int] = []
        var i = 0
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        let before: Set<UInt8> = Set(" \t\n\r([<:;'\"#".utf8)
        let after: Set<UInt8> = Set(" \t\n\r-:,".utf8)
        while i + 2 < bytes.count {
            let b = bytes[i]
            if (b == UInt8(ascii: "4") || b == UInt8(ascii: "5")), isDigit(bytes[i + 1]), isDigit(bytes[i + 2]),
               i == 0 || before.contains(bytes[i - 1]), i + 3 == bytes.count || after.contains(bytes[i + 3])
            {
                codes.append(Int(b - 0x30) * 100 + Int(bytes[i + 1] - 0x30) * 10 + Int(bytes[i + 2] - 0x30))
                i += 3
                continue
            }
            i += 1
        }
        return codes
    }
}
