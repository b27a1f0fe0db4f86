/// Proof Key for Code Exchange (RFC 7636, S256): ties the authorization code to this process, so a code caught
/// on its way through the browser is useless to anyone else.
public struct PKCE: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let verifier: String
    /// base64url(SHA-256(verifier)), no padding.
    public let challenge: String

    /// The verifier is what makes a caught code useless: it prints as redacted.
    public var description: String { "PKCE(challenge: \(challenge), verifier: redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["challenge": challenge], displayStyle: .struct) }

    public init(verifier: String) {
        self.verifier = verifier
        self.challenge = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
    }

    /// 32 random bytes: a 43-character verifier, the shortest RFC 7636 allows and the most it needs.
    public static func generate() throws(TransportError) -> PKCE {
        PKCE(verifier: Base64URL.encode(try OAuthRandom.bytes(32)))
    }
}

enum OAuthRandom {
    static func bytes(_ count: Int) throws(TransportError) -> [UInt8] {
        do {
            return try SecretBox.randomBytes(count)
        } catch {
            throw TransportError(.configuration, server: "OAuth", detail: "no random bytes for the sign-in: \(error)")
        }
    }
}
