/// The server's final answer to a transaction, e.g. `250 2.0.0 Ok: queued as 4F2`.
public struct SMTPReply: Sendable, Equatable {
    public let code: Int
    public let enhancedStatus: String?
    /// The reply text, all lines joined, without the codes.
    public let text: String

    public init(code: Int, enhancedStatus: String?, text: String) {
        self.code = code
        self.enhancedStatus = enhancedStatus
        self.text = text
    }

    /// Builds a reply from the raw lines of one server response (`250-…`, `250 …`).
    init?(lines: [String]) {
        guard let last = lines.last, last.count >= 3, let code = Int(last.prefix(3)) else { return nil }
        var texts: [String] = []
        var enhanced: String?
        for line in lines {
            var text = Substring(line.dropFirst(4))
            if let status = Self.enhancedCode(in: text) {
                enhanced = enhanced ?? status
                text = text.dropFirst(status.count).drop(while: { $0 == " " })
            }
            texts.append(String(text))
        }
        self.init(code: code, enhancedStatus: enhanced, text: texts.joined(separator: " "))
    }

    /// RFC 3463 `class.subject.detail`, where class is 2, 4 or 5.
    static func enhancedCode(in text: Substring) -> String? {
        let token = text.prefix(while: { $0 != " " })
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, ["2", "4", "5"].contains(parts[0]), parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }) else {
            return nil
        }
        return String(token)
    }

    public var summary: String { [String(code), enhancedStatus, text.isEmpty ? nil : text].compactMap { $0 }.joined(separator: " ") }
}
