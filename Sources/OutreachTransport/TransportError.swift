import OutreachCore

/// Why talking to a mail server failed, worded for the operator: which server, what went wrong, what to do.
/// Never carries a password or token.
public struct TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The server's certificate is not trusted or not issued for the host name.
        case certificate
        /// The server refused the user name and password (or token).
        case authentication
        /// No connection: refused, unreachable, name not resolved, TLS handshake failed.
        case connection
        /// A connection that was open broke (reset, closed, a TLS read error) before the message was handed over.
        case connectionLost
        case timeout
        /// The server does not offer STARTTLS; Outreach will not continue in the clear.
        case tlsUnavailable
        /// A 5xx reply: this message or recipient will not be accepted as it is.
        case rejectedPermanently
        /// A 4xx reply: try again later.
        case rejectedTemporarily
        /// The message was handed over but no final reply came: it may or may not have been accepted.
        case outcomeUnknown
        /// Our side took the message back before the final dot (the job lost its account lease): nothing was sent.
        case withdrawn
        /// The server answered something the protocol does not allow, or a command failed.
        case protocolFailure
        /// Our side: a CA file that cannot be read, an option the library refused.
        case configuration
        /// The provider no longer accepts the account's OAuth grant (revoked, expired, password changed): only the
        /// account's owner can fix it, by connecting the account again.
        case reauthorizationRequired
    }

    public let kind: Kind
    /// `SMTP smtp.example.com:587` or `IMAP imap.example.com:993`.
    public let server: String
    /// What went wrong, without a final period.
    public let detail: String
    /// The SMTP reply code, when the server gave one.
    public let replyCode: Int?
    /// The enhanced status code (RFC 3463), such as `5.7.8`, when the server gave one.
    public let enhancedStatus: String?

    /// Whether the server could not be reached or the link to it failed, as opposed to an answer it gave: the kind of
    /// trouble that passes by itself (a restart, a network blip) and is worth trying again after a while.
    public var isConnectionLevel: Bool { kind == .connection || kind == .connectionLost || kind == .timeout }

    public init(_ kind: Kind, server: String, detail: String, replyCode: Int? = nil, enhancedStatus: String? = nil) {
        self.kind = kind
        self.server = server
        // The messages below go on after the detail with ". Check …"; libraries and servers end theirs with a period
        // ("GnuTLS recv error (-110): The TLS connection was non-properly terminated."), which would double it.
        var detail = Substring(detail)
        while let last = detail.last, last == "." || last == " " { detail = detail.dropLast() }
        self.detail = String(detail)
        self.replyCode = replyCode
        self.enhancedStatus = enhancedStatus
    }

    public var description: String {
        switch kind {
        case .certificate:
            "\(server): the server's certificate is not trusted: \(detail). If the server uses a private CA, add its certificate with --ca-file; check that the host name in the URL is the one on the certificate."
        case .authentication where detail.contains("token"):
            "\(server): login failed: \(detail). If the account was connected with OAuth, connect it again (its grant may have been revoked or lack the mail scope)."
        case .authentication:
            "\(server): login failed: \(detail). Check the user name and password (many providers need an app password)."
        case .connection:
            "\(server): could not connect: \(detail). Check the host name and port, and that the server is reachable."
        case .connectionLost:
            "\(server): the connection broke: \(detail)"
        case .timeout:
            "\(server): the server stopped answering: \(detail)."
        case .tlsUnavailable:
            "\(server): the server does not offer STARTTLS, and Outreach never sends credentials in the clear. Use the implicit-TLS URL (smtps:// or imaps://) if the server has one."
        case .rejectedPermanently, .rejectedTemporarily:
            "\(server): \(detail)"
        case .outcomeUnknown:
            "\(server): the connection broke after the message was handed over, so it may have been accepted: \(detail)"
        case .protocolFailure, .withdrawn:
            "\(server): \(detail)"
        case .configuration:
            "\(server): \(detail)"
        case .reauthorizationRequired:
            // The detail names the account and says it needs reconnecting, with how.
            "\(server): \(detail)"
        }
    }
}

extension ServerEndpoint {
    /// How errors and logs name this server.
    public var label: String { "\(service.rawValue.uppercased()) \(authority)" }
}
