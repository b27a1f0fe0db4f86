import OutreachTransport

/// Random tokens for web sessions and CSRF, and the hash a session token is stored under.
public enum SessionToken {
    /// 256 random bits, hex: the kernel's CSPRNG through SystemRandomNumberGenerator (getrandom on Linux).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    public static func hash(_ token: String) -> String { Digest.sha256Hex(Array(token.utf8)) }
}
