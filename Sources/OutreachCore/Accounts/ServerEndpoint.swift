import Foundation

/// Where and how to reach a mail server: `smtps://host:465`, `smtp://host:587`, `imaps://host:993`, `imap://host:143`.
///
/// The scheme says how TLS is used, and TLS is never optional: `smtps`/`imaps` start TLS on connect, `smtp`/`imap`
/// must upgrade with STARTTLS, and a server that does not offer it is refused rather than used in the clear.
public struct ServerEndpoint: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Service: String, Sendable, Codable { case smtp, imap }
    public enum Security: String, Sendable, Codable {
        /// TLS from the first byte (smtps, imaps).
        case implicitTLS
        /// Plain connect, then STARTTLS before anything else; refused if the server does not offer it.
        case startTLS
    }

    public let service: Service
    public let security: Security
    public let host: String
    public let port: Int

    public init(service: Service, security: Security, host: String, port: Int) {
        self.service = service
        self.security = security
        self.host = host
        self.port = port
    }

    public var scheme: String {
        switch (service, security) {
        case (.smtp, .implicitTLS): "smtps"
        case (.smtp, .startTLS): "smtp"
        case (.imap, .implicitTLS): "imaps"
        case (.imap, .startTLS): "imap"
        }
    }

    /// `host:port`, bracketing IPv6 literals; this is how the server is named in messages to the operator.
    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var url: String { "\(scheme)://\(authority)" }
    public var description: String { url }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let input: String
        public let reason: String
        public var description: String { "'\(input)' is not a usable server URL: \(reason)" }
    }

    /// Parses `scheme://host[:port][/]`. The expected service decides which schemes are allowed, so an IMAP URL
    /// given to `--smtp` is caught here with a message that says so.
    public init(parsing raw: String, as expected: Service) throws(Invalid) {
        let text = raw.trimmingASCIIWhitespace()
        guard let sep = text.range(of: "://") else {
            let example = expected == .smtp ? "smtps://smtp.example.com:465 or smtp://smtp.example.com:587" : "imaps://imap.example.com:993"
            throw Invalid(input: raw, reason: "it needs a scheme, for example \(example)")
        }
        let scheme = text[..<sep.lowerBound].lowercased()
        var rest = Substring(text[sep.upperBound...])
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let service: Service
        let security: Security
        switch scheme {
        case "smtps": (service, security) = (.smtp, .implicitTLS)
        case "smtp", "submission": (service, security) = (.smtp, .startTLS)
        case "imaps": (service, security) = (.imap, .implicitTLS)
        case "imap": (service, security) = (.imap, .startTLS)
        default: throw Invalid(input: raw, reason: "unknown scheme '\(scheme)' (use smtps, smtp, imaps or imap)")
        }
        guard service == expected else {
            throw Invalid(input: raw, reason: "this is \(service.rawValue.uppercased()), but an \(expected.rawValue.uppercased()) server is expected here")
        }
        guard !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
            throw Invalid(input: raw, reason: "give only scheme://host:port, without a path or user name (the user name is --username)")
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw Invalid(input: raw, reason: "unclosed [ in an IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw Invalid(input: raw, reason: "unexpected text after the IPv6 address")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty, host.allSatisfy({ !$0.isWhitespace }) else { throw Invalid(input: raw, reason: "the host name is missing") }
        var port: Int
        switch (service, security) {
        case (.smtp, .implicitTLS): port = 465
        case (.smtp, .startTLS): port = 587
        case (.imap, .implicitTLS): port = 993
        case (.imap, .startTLS): port = 143
        }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw Invalid(input: raw, reason: "port '\(portText)' is not a number from 1 to 65535") }
            port = p
        }
        self.init(service: service, security: security, host: String(host).lowercased(), port: port)
    }
}
