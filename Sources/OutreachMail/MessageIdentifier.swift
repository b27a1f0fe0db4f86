import Foundation
import OutreachCore

/// Message-IDs we assign before a message leaves, so a retry or a reconciliation can find the very same message.
public enum MessageIdentifier {
    /// A globally unique id, without angle brackets: 128 random bits and the time, at the sender's own domain
    /// (RFC 5322 §3.6.4 recommends a domain the sender controls; receivers' spam filters look for it). An
    /// internationalised domain is written in its IDNA (`xn--`) form: a header is ASCII.
    public static func generate(domain: String, now: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        let random = (0..<2).map { _ in String(rng.next() as UInt64, radix: 36) }.joined(separator: ".")
        let millis = String(UInt64(max(0, now.timeIntervalSince1970 * 1000)), radix: 36)
        return "\(millis).\(random)@\((Punycode.asciiDomain(domain) ?? domain).lowercased())"
    }

    /// Every `<id>` in a header value, brackets removed. Used for References and In-Reply-To values that
    /// libetpan could not parse as a strict msg-id list.
    public static func extract(from value: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            let id = rest[rest.index(after: open)..<close].trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty && !id.contains(" ") { ids.append(id) }
            rest = rest[rest.index(after: close)...]
        }
        return ids
    }
}
