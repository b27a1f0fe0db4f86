/// The default account described by the seed's `.env` variables:
/// `SMTP_HOST`, `SMTP_PORT`, `SMTP_USERNAME`, `SMTP_PASSWORD`, `SMTP_USE_TLS`, `IMAP_HOST`, `IMAP_PORT`,
/// and optionally `SMTP_FROM` (the address, when the login is not one), `SMTP_FROM_NAME` and `SMTP_CA_FILE`.
/// SMTP and IMAP share the login and password, as they do at every common provider. Without `IMAP_HOST` (the seed's
/// own `.env` has none) the account is SMTP-only: it sends first emails; what needs the mailbox says so when tried.
public struct EnvironmentAccount: Sendable {
    public let account: Account
    public let password: Secret

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let reason: String
        public var description: String { "the default account in .env is not usable: \(reason)" }
    }

    /// Returns nil when the variables do not describe an account at all (no `SMTP_HOST`).
    public init?(variables env: [String: String]) throws(Problem) {
        func value(_ key: String) -> String? {
            guard let v = env[key]?.trimmingASCIIWhitespace(), !v.isEmpty else { return nil }
            return v
        }
        guard let smtpHost = value("SMTP_HOST") else { return nil }
        guard let username = value("SMTP_USERNAME") else { throw Problem(reason: "SMTP_HOST is set but SMTP_USERNAME is not") }
        guard let password = env["SMTP_PASSWORD"], !password.isEmpty else { throw Problem(reason: "SMTP_PASSWORD is missing") }
        let smtpPort = try Self.port(value("SMTP_PORT"), name: "SMTP_PORT") ?? 587
        let imapPort = try Self.port(value("IMAP_PORT"), name: "IMAP_PORT") ?? 993
        if value("IMAP_HOST") == nil, value("IMAP_PORT") != nil { throw Problem(reason: "IMAP_PORT is set but IMAP_HOST is not") }
        let useTLS = value("SMTP_USE_TLS").map { ["1", "true", "yes", "on"].contains($0.lowercased()) } ?? true
        guard useTLS || smtpPort == 465 else {
            throw Problem(reason: "SMTP_USE_TLS=false would send the password in the clear; Outreach always uses TLS (set it to true, or use port 465)")
        }
        let emailText = value("SMTP_FROM") ?? username
        let email: EmailAddress
        do { email = try EmailAddress(parsing: emailText) } catch {
            throw Problem(reason: "\(value("SMTP_FROM") == nil ? "SMTP_USERNAME" : "SMTP_FROM") is not an email address (\(error)); set SMTP_FROM to the sending address")
        }
        let smtp = ServerEndpoint(service: .smtp, security: smtpPort == 465 ? .implicitTLS : .startTLS, host: smtpHost.lowercased(), port: smtpPort)
        // The seed's .env has no IMAP server: the account then sends first emails only (SMTP-only).
        let imap = value("IMAP_HOST").map { ServerEndpoint(service: .imap, security: imapPort == 143 ? .startTLS : .implicitTLS, host: $0.lowercased(), port: imapPort) }
        self.account = Account(
            email: email, displayName: value("SMTP_FROM_NAME"), username: username, smtp: smtp, imap: imap,
            trust: TLSTrust(caFile: value("SMTP_CA_FILE")), origin: .environment
        )
        self.password = Secret(password)
    }

    private static func port(_ text: String?, name: String) throws(Problem) -> Int? {
        guard let text else { return nil }
        guard let p = Int(text), (1...65535).contains(p) else { throw Problem(reason: "\(name)=\(text) is not a port number") }
        return p
    }
}
