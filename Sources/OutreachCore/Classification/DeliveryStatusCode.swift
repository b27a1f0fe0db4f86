/// An RFC 3463 enhanced status code (`class.subject.detail`, e.g. 5.1.1), as DSNs carry it in `Status:` and MTAs
/// print it beside SMTP replies.
public struct DeliveryStatusCode: Sendable, Hashable, CustomStringConvertible {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    public let statusClass: Int
    public let subject: Int
    public let detail: Int

    public init(statusClass: Int, subject: Int, detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Reads the code at the start of a `Status:` value; what follows it ("5.0.0 (permanent failure)") is ignored.
    public init?(parsing value: String) {
        let bytes = Array(value.utf8)
        var i = 0
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
        guard let code = Self.code(in: bytes, at: i) else { return nil }
        self = code.code
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// X.2.2 is "mailbox full": the mailbox exists and may drain.
    public var isMailboxFull: Bool { subject == 2 && detail == 2 }

    /// Every enhanced code in free text, in order. A code must stand alone: "4.16.55.1", version numbers
    /// ("version 4.8.3.54") and IP addresses are not codes.
    public static func codes(in text: String) -> [DeliveryStatusCode] {
        let bytes = Array(text.utf8)
        var found: [DeliveryStatusCode] = []
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "2") || b == UInt8(ascii: "4") || b == UInt8(ascii: "5"), i == 0 || !isDigitOrDot(bytes[i - 1]),
               let (code, end) = code(in: bytes, at: i)
            {
                found.append(code)
                i = end
                continue
            }
            i += 1
        }
        return found
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isDigitOrDot(_ b: UInt8) -> Bool { isDigit(b) || b == UInt8(ascii: ".") }

    /// `[245].d{1,3}.d{1,3}` at `start`, not followed by another digit or by ".digit".
    private static func code(in bytes: [UInt8], at start: Int) -> (code: DeliveryStatusCode, end: Int)? {
        guard start + 4 < bytes.count else { return nil }
        let first = bytes[start]
        guard first == UInt8(ascii: "2") || first == UInt8(ascii: "4") || first == UInt8(ascii: "5"),
              bytes[start + 1] == UInt8(ascii: ".")
        else { return nil }
        var i = start + 2
        func number() -> Int? {
            var value = 0
            var digits = 0
            while i < bytes.count, isDigit(bytes[i]), digits < 4 {
                value = value * 10 + Int(bytes[i] - 0x30)
                digits += 1
                i += 1
            }
            return (1...3).contains(digits) ? value : nil
        }
        guard let subject = number(), i < bytes.count, bytes[i] == UInt8(ascii: ".") else { return nil }
        i += 1
        guard let detail = number() else { return nil }
        if i < bytes.count, isDigit(bytes[i]) { return nil }
        if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "."), isDigit(bytes[i + 1]) { return nil }
        return (DeliveryStatusCode(statusClass: Int(first - 0x30), subject: subject, detail: detail), i)
    }
}
