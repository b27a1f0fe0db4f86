import Foundation
import Logging
import OutreachCore
import OutreachTransport

/// The connections one round uses for one SMTP+IMAP account: a single SMTP connection reused for every message, and
/// an IMAP connection opened on first need for the Sent copy and for drafts. Logs in with a password or an XOAUTH2
/// bearer token.
actor MailSession: DeliverySession {
    /// Where the session's login comes from.
    enum Login: Sendable {
        case password(Secret)
        /// An OAuth account: a fresh access token for each connection, because a round can outlast one token.
        case oauth(AccountAccessTokens, http: HTTPClient)
    }

    let account: Account
    private let login: Login
    private let logger: Logger
    private var smtp: SMTPConnection?
    /// When the SMTP connection was given its token: curl logs in again with it whenever it reconnects.
    private var smtpTokenAt = Date.distantPast
    private var imap: IMAPConnection?
    private var folders: [IMAPMailbox]?

    /// A connection logs in again with a new token once its token is this old (Google's live an hour).
    static let tokenReuseSeconds: TimeInterval = 40 * 60

    init(account: Account, login: Login, logger: Logger) {
        self.account = account
        self.login = login
        self.logger = logger
    }

    private func credential(forceRefresh: Bool = false) async throws(TransportError) -> MailCredential {
        switch login {
        case .password(let password): .password(password)
        case .oauth(let tokens, _): .bearer(try await tokens.accessToken(forceRefresh: forceRefresh))
        }
    }

    private func smtpConnection(forceRefresh: Bool = false) async throws(TransportError) -> SMTPConnection {
        if case .oauth = login, smtp != nil, forceRefresh || Date().timeIntervalSince(smtpTokenAt) > Self.tokenReuseSeconds {
            await smtp?.close()
            smtp = nil
        }
        if let smtp { return smtp }
        let connection = SMTPConnection(
            endpoint: account.smtp, username: account.username, credential: try await credential(forceRefresh: forceRefresh), trust: account.trust, logger: logger
        )
        smtp = connection
        smtpTokenAt = Date()
        return connection
    }

    func send(
        _ message: [UInt8], messageID: String, from sender: EmailAddress, to recipient: EmailAddress, gmailThreadID: String?,
        beforeHandOver: (@Sendable () -> Bool)?
    ) async throws(TransportError) -> DeliveryReceipt {
        do {
            let connection = try await smtpConnection()
            return DeliveryReceipt(reply: try await connection.send(from: sender, to: [recipient], message: message, beforeFinalDot: beforeHandOver))
        } catch {
            // A refused token (revoked early, or expired on a reconnect) is refused before any data: one more try with
            // a new token is safe. A password is not retried.
            guard error.kind == .authentication, case .oauth = login else { throw error }
            let connection = try await smtpConnection(forceRefresh: true)
            return DeliveryReceipt(reply: try await connection.send(from: sender, to: [recipient], message: message, beforeFinalDot: beforeHandOver))
        }
    }

    /// Appends a sent message to Sent when the account wants that. Returns the problem instead of throwing: the
    /// message is out, and a missing copy must not turn a sent row into a failed one.
    func copyToSent(_ message: [UInt8]) async -> TransportError? {
        guard account.copyToSent else { return nil }
        do {
            try await append(message, to: .sent, flags: [.seen])
            return nil
        } catch {
            return error
        }
    }

    func storeDraft(_ message: [UInt8], messageID: String, gmailThreadID: String?) async throws(TransportError) -> DeliveryReceipt {
        try await append(message, to: .drafts, flags: [.draft, .seen])
        return DeliveryReceipt(reply: SMTPReply(code: 250, enhancedStatus: nil, text: "stored in Drafts"))
    }

    private func append(_ message: [UInt8], to use: IMAPMailbox.SpecialUse, flags: [IMAPConnection.AppendFlag]) async throws(TransportError) {
        let connection = try await imapConnection(for: use == .drafts ? "saving drafts" : "a copy in \(use.title)")
        if folders == nil { folders = try await connection.listMailboxes() }
        guard let folder = folders?.mailbox(for: use) else {
            throw TransportError(.protocolFailure, server: account.imap?.label ?? account.transportLabel, detail: "no \(use.title) folder found (neither marked \\\(use.title) nor named like one)")
        }
        try await connection.append(message, to: folder.name, flags: flags)
    }

    /// Whether a message with this Message-ID is in the account's Sent folder (reconciling an unknown outcome).
    /// - Returns: nil when the account keeps no Sent folder we can find.
    func sentFolderHolds(messageID: String, handedOverAt: Date) async throws(TransportError) -> Bool? {
        let connection = try await imapConnection(for: "looking a message up in Sent")
        if folders == nil { folders = try await connection.listMailboxes() }
        guard let sent = folders?.mailbox(for: .sent) else { return nil }
        return try await connection.uidSearch(in: sent.name, header: "Message-ID", contains: "<\(messageID)>").isEmpty == false
    }

    private func imapConnection(for purpose: String) async throws(TransportError) -> IMAPConnection {
        if let imap { return imap }
        let endpoint: ServerEndpoint
        do { endpoint = try account.imapServer(for: purpose) } catch { throw TransportError(.configuration, server: account.transportLabel, detail: error.description) }
        let connection = IMAPConnection(endpoint: endpoint, trust: account.trust, logger: logger)
        try await connection.connect()
        try await connection.authenticate(username: account.username, credential: try await credential())
        imap = connection
        return connection
    }

    func close() async {
        await smtp?.close()
        await imap?.logout()
        smtp = nil
        imap = nil
        if case .oauth(_, let http) = login { await http.close() }
    }
}
