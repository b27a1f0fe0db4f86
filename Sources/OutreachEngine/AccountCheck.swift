import Logging
import OutreachCore
import OutreachTransport

/// What `outreach account test` found: can the account log in to its SMTP server, and to its IMAP server, and which
/// special-use folders does the IMAP server have.
public struct AccountCheck: Sendable {
    public struct SMTPResult: Sendable {
        public let endpoint: ServerEndpoint
        public let outcome: Result<SMTPReply, TransportError>
    }

    public struct IMAPResult: Sendable {
        public let endpoint: ServerEndpoint
        public let outcome: Result<Found, TransportError>

        public struct Found: Sendable {
            public let capabilities: Set<String>
            public let mailboxes: [IMAPMailbox]
            /// The folders Outreach will use, by special use; a use the server lacks is absent.
            public let specialFolders: [IMAPMailbox.SpecialUse: String]
        }
    }

    public let account: Account
    public let smtp: SMTPResult
    /// Nil for an SMTP-only account: there is no IMAP server to check.
    public let imap: IMAPResult?
    public var succeeded: Bool {
        guard case .success = smtp.outcome else { return false }
        if let imap, case .failure = imap.outcome { return false }
        return true
    }

    /// The uses `account test` reports, in order.
    /// The result as `outreach account test` and the web UI's "Test connection" show it: one line per server, then
    /// the special-use folders found.
    public var lines: [String] {
        var lines: [String] = []
        switch smtp.outcome {
        case .success(let reply): lines.append("SMTP \(account.smtp.url): OK — logged in as \(account.username); server answered \(reply.summary)")
        case .failure(let error): lines.append("SMTP \(account.smtp.url): FAILED — \(error.description)")
        }
        switch imap?.outcome {
        case .success(let found)?:
            lines.append("IMAP \(account.imap?.url ?? ""): OK — logged in as \(account.username); \(found.mailboxes.count) folders")
            for use in Self.reportedUses { lines.append("  \(use.title): \(found.specialFolders[use].map { "\"\($0)\"" } ?? "not found")") }
        case .failure(let error)?:
            lines.append("IMAP \(account.imap?.url ?? ""): FAILED — \(error.description)")
        case nil:
            lines.append("IMAP: none — \(Self.smtpOnlyNote(account))")
        }
        return lines
    }

    /// What an SMTP-only account can and cannot do, for `account test` and `account list`.
    public static func smtpOnlyNote(_ account: Account) -> String {
        MissingIMAP(email: account.email.description, purpose: "drafts, follow-ups and the sync", fromEnvironment: account.origin == .environment).description
    }

    public static let reportedUses: [IMAPMailbox.SpecialUse] = [.sent, .drafts, .junk, .archive]

    /// Runs both checks at once; each has its own connection and thread.
    public static func run(account: Account, credential: MailCredential, logger: Logger) async -> AccountCheck {
        var logger = logger
        logger[metadataKey: "account.email"] = "\(account.email)"
        async let smtp = checkSMTP(account: account, credential: credential, logger: logger)
        guard let endpoint = account.imap else { return AccountCheck(account: account, smtp: await smtp, imap: nil) }
        async let imap = checkIMAP(account: account, endpoint: endpoint, credential: credential, logger: logger)
        return AccountCheck(account: account, smtp: await smtp, imap: await imap)
    }

    static func checkSMTP(account: Account, credential: MailCredential, logger: Logger) async -> SMTPResult {
        let connection = SMTPConnection(endpoint: account.smtp, username: account.username, credential: credential, trust: account.trust, logger: logger)
        do {
            let reply = try await connection.verifyLogin()
            await connection.close()
            return SMTPResult(endpoint: account.smtp, outcome: .success(reply))
        } catch {
            return SMTPResult(endpoint: account.smtp, outcome: .failure(error))
        }
    }

    static func checkIMAP(account: Account, endpoint: ServerEndpoint, credential: MailCredential, logger: Logger) async -> IMAPResult {
        let connection = IMAPConnection(endpoint: endpoint, trust: account.trust, logger: logger)
        do {
            try await connection.connect()
            try await connection.authenticate(username: account.username, credential: credential)
            let mailboxes = try await connection.listMailboxes()
            let capabilities = await connection.capabilities
            await connection.logout()
            var special: [IMAPMailbox.SpecialUse: String] = [:]
            for use in IMAPMailbox.SpecialUse.allCases {
                if let box = mailboxes.mailbox(for: use) { special[use] = box.name }
            }
            return IMAPResult(endpoint: endpoint, outcome: .success(.init(capabilities: capabilities, mailboxes: mailboxes, specialFolders: special)))
        } catch {
            await connection.logout()
            return IMAPResult(endpoint: endpoint, outcome: .failure(error))
        }
    }
}
