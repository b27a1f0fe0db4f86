import Foundation
import OutreachCore
import OutreachTransport

/// What a round needs from an account's mail provider: send a message, store a draft, and answer "did this
/// Message-ID reach Sent?" after a crash. ``MailSession`` does it over SMTP and IMAP, ``GmailSession`` over the
/// Gmail API, so the round, the ledger rules and the job's reconciliation are the same for both.
protocol DeliverySession: Sendable {
    /// - Parameters:
    ///   - gmailThreadID: the Gmail thread a follow-up joins (Gmail API accounts; ignored over SMTP).
    ///   - beforeHandOver: runs right before the provider can commit the message (SMTP's final dot, the API call);
    ///     false withdraws it and nothing is sent.
    ///   - messageID: the message's own Message-ID (without brackets), to find it again if the answer is lost.
    func send(
        _ message: [UInt8], messageID: String, from sender: EmailAddress, to recipient: EmailAddress, gmailThreadID: String?,
        beforeHandOver: (@Sendable () -> Bool)?
    ) async throws(TransportError) -> DeliveryReceipt
    func storeDraft(_ message: [UInt8], messageID: String, gmailThreadID: String?) async throws(TransportError) -> DeliveryReceipt
    /// Files a copy of a sent message where the account keeps sent mail, when the provider does not do it itself.
    /// Returns the problem instead of throwing: the message is out, and a missing copy must not fail the row.
    func copyToSent(_ message: [UInt8]) async -> TransportError?
    /// Whether the account's sent mail holds this Message-ID (handed over at `handedOverAt`, about). nil when there is
    /// no sent folder to look in.
    func sentFolderHolds(messageID: String, handedOverAt: Date) async throws(TransportError) -> Bool?
    func close() async
}

/// What the provider said when it took a message.
struct DeliveryReceipt: Sendable {
    /// The SMTP server's reply; for the Gmail API a 250 built from Gmail's answer, so the ledger reads the same.
    var reply: SMTPReply
    var gmailMessageID: String? = nil
    var gmailThreadID: String? = nil
    /// The Message-ID the provider kept when it is not the one we wrote (Gmail may replace it); replies will cite it.
    var keptMessageID: String? = nil
}
