import Logging
import OutreachCore
import OutreachTransport

/// The connections one round uses for one SMTP+IMAP account: a single SMTP connection reused for every message, and
/// an IMAP connection opened on first need for the Sent copy and for drafts. Logs in with a password or an XOAUTH2
/// bearer token (``MailCredential``).
actor MailSession: DeliverySession {
    let account: Account
    private let credential: MailCredential
    private let logger: Logger
    private var smtp: SMTPConnection?
    private var imap: IMAPConnection?
    private var folders: [IMAPMailbox]?

    init(account: Account, credential: MailCredential, logger: Logger) {
        self.account = account
        self.credential = credential
        self.logger = logger
    }

    func send(
        _ message: [UInt8], messageID: String, from sender: EmailAddress, to recipient: EmailAddress, gmailThreadID: String?,
        beforeHandOver: (@Sendable () -> Bool)?
    ) async throws(TransportError) -> DeliveryReceipt {
        let connection: SMTPConnection
        if let smtp {
            connection = smtp
        } else {
            connection = SMTPConnection(endpoint: account.smtp, username: account.username, credential: credential, trust: account.trust, logger: logger)
            smtp = connection
        }
        return DeliveryReceipt(reply: try await connection.send(from: sender, to: [recipient], message: message, beforeFinalDot: beforeHandOver))
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
        let connection = try await imapConnection()
        if folders == nil { folders = try await connection.listMailboxes() }
        guard let folder = folders?.mailbox(for: use) else {
            throw TransportError(.protocolFailure, server: account.imap.label, detail: "no \(use.title) folder found (neither marked \\\(use.title) nor named like one)")
        }
        try await connection.append(message, to: folder.name, flags: flags)
    }

    /// Whether a message with this Message-ID is in the account's Sent folder (reconciling an unknown outcome).
    /// - Returns: nil when the account keeps no Sent folder we can find.
    func sentFolderHolds(messageID: String) async throws(TransportError) -> Bool? {
        let connection = try await imapConnection()
        if folders == nil { folders = try await connection.listMailboxes() }
        guard let sent = folders?.mailbox(for: .sent) else { return nil }
        return try await connection.uidSearch(in: sent.name, header: "Message-ID", contains: "<\(messageID)>").isEmpty == false
    }

    private func imapConnection() async throws(TransportError) -> IMAPConnection {
        if let imap { return imap }
        let connection = IMAPConnection(endpoint: account.imap, trust: account.trust, logger: logger)
        try await connection.connect()
        try await connection.authenticate(username: account.username, credential: credential)
        imap = connection
        return connection
    }

    func close() async {
        await smtp?.close()
        await imap?.logout()
        smtp = nil
        imap = nil
    }
}
