import Foundation
import Logging
import OutreachCore
import OutreachTransport

/// A round's connection to a Gmail API account: messages.send and drafts.create with the raw RFC 5322 message, and
/// — a follow-up — the Gmail thread id of round 1, so Gmail files it in the same conversation.
///
/// Gmail files what it sends in Sent itself, so there is no copy to make, and "is it in Sent?" is a search by
/// Message-ID (or, under the metadata scope, which cannot search, a look at the newest sent messages).
actor GmailSession: DeliverySession {
    let account: Account
    private let api: GmailAPI
    private let http: HTTPClient
    private let logger: Logger

    init(account: Account, api: GmailAPI, http: HTTPClient, logger: Logger) {
        self.account = account
        self.api = api
        self.http = http
        self.logger = logger
    }

    func send(
        _ message: [UInt8], messageID: String, from sender: EmailAddress, to recipient: EmailAddress, gmailThreadID: String?,
        beforeHandOver: (@Sendable () -> Bool)?
    ) async throws(TransportError) -> DeliveryReceipt {
        // The API call is the commit point: the row is written `sending` right before it, as at SMTP's final dot.
        if let beforeHandOver, !beforeHandOver() {
            throw TransportError(.withdrawn, server: account.transportLabel, detail: "the message was withdrawn before it was handed to Gmail, so nothing was sent")
        }
        let sent: GmailMessageRef
        do {
            sent = try await api.send(raw: message, threadID: gmailThreadID)
        } catch where error.kind == .outcomeUnknown {
            // Gmail may have sent it before the answer was lost: look before deciding.
            guard let found = try await findSent(messageID: messageID) else { throw error }
            logger.notice("Gmail's answer was lost but the message is in Sent", metadata: ["gmail.id": "\(found.id)"])
            sent = found
        }
        return try await receipt(for: sent, ourMessageID: messageID, what: "sent")
    }

    func storeDraft(_ message: [UInt8], messageID: String, gmailThreadID: String?) async throws(TransportError) -> DeliveryReceipt {
        let draft = try await api.createDraft(raw: message, threadID: gmailThreadID)
        var receipt = try await receipt(for: draft.message, ourMessageID: messageID, what: "stored as draft \(draft.draftID)")
        receipt.reply = SMTPReply(code: 250, enhancedStatus: nil, text: "stored in Gmail's Drafts (draft \(draft.draftID), thread \(draft.message.threadID))")
        return receipt
    }

    /// Reads back the Message-ID Gmail kept: replies will cite that one, so the ledger must hold it.
    private func receipt(for ref: GmailMessageRef, ourMessageID: String, what: String) async throws(TransportError) -> DeliveryReceipt {
        var kept: String?
        do {
            let stored = try await api.message(id: ref.id, format: .metadata(headers: ["Message-ID"]))
            kept = stored.header("Message-ID").map(MessageIDText.bare)
        } catch {
            // The message is out; only the read-back failed. Keep ours (Gmail keeps a client's Message-ID as a rule).
            logger.warning("sent, but its Message-ID could not be read back: \(error)")
        }
        let replaced = kept.flatMap { $0 == ourMessageID ? nil : $0 }
        return DeliveryReceipt(
            reply: SMTPReply(code: 250, enhancedStatus: nil, text: "\(what) by the Gmail API as message \(ref.id) in thread \(ref.threadID)"),
            gmailMessageID: ref.id, gmailThreadID: ref.threadID, keptMessageID: replaced
        )
    }

    func copyToSent(_ message: [UInt8]) async -> TransportError? { nil }

    func sentFolderHolds(messageID: String) async throws(TransportError) -> Bool? {
        try await findSent(messageID: messageID) != nil
    }

    /// The sent message with this Message-ID, if Gmail has it.
    private func findSent(messageID: String) async throws(TransportError) -> GmailMessageRef? {
        if account.oauth?.canSearchAndReadBodies == true {
            return try await api.listMessages(query: "rfc822msgid:\(messageID)", includeSpamTrash: true, maxResults: 5).messages.first
        }
        // The metadata scope cannot search: an answer that was lost concerns one of the newest messages sent.
        let newest = try await api.listMessages(query: nil, labelIDs: ["SENT"], maxResults: 25).messages
        for ref in newest {
            let stored = try await api.message(id: ref.id, format: .metadata(headers: ["Message-ID"]))
            if stored.header("Message-ID").map(MessageIDText.bare) == messageID { return ref }
        }
        return nil
    }

    func close() async {
        await http.close()
    }
}

/// Message-IDs as the ledger keeps them: without angle brackets or surrounding space.
enum MessageIDText {
    static func bare(_ text: String) -> String {
        var id = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if id.hasPrefix("<") { id = id.dropFirst() }
        if id.hasSuffix(">") { id = id.dropLast() }
        return String(id)
    }
}
