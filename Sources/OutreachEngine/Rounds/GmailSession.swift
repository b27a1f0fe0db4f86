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
        // The API call is the commit point: the row is written `sending` right before each attempt goes out (after
        // any quota or rate-limit wait), as at SMTP's final dot.
        let handedOverAt = Date()
        let sent: GmailMessageRef
        do {
            sent = try await api.send(raw: message, threadID: gmailThreadID, beforeSubmit: beforeHandOver)
        } catch where error.kind == .outcomeUnknown {
            // Gmail may have sent it before the answer was lost: look before deciding. A lookup that fails leaves
            // the outcome unknown — never a reason to send again.
            guard let found = try? await findSent(messageID: messageID, since: handedOverAt) else { throw error }
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

    func sentFolderHolds(messageID: String, handedOverAt: Date) async throws(TransportError) -> Bool? {
        try await findSent(messageID: messageID, since: handedOverAt) != nil
    }

    /// The sent message (not a draft) with this Message-ID, if Gmail has it.
    /// - Parameter since: when it was handed over; under the metadata scope everything sent since then is looked at.
    private func findSent(messageID: String, since: Date) async throws(TransportError) -> GmailMessageRef? {
        if account.oauth?.canSearchAndReadBodies == true {
            return try await api.listMessages(query: "rfc822msgid:\(messageID) in:sent", includeSpamTrash: true, maxResults: 5).messages.first
        }
        // The metadata scope cannot search: read the sent messages newest first, back to a little before the hand-over
        // (clocks differ), so "not there" is an answer and not a guess.
        let cutoff = since.addingTimeInterval(-600)
        var pageToken: String?
        repeat {
            let page = try await api.listMessages(query: nil, labelIDs: ["SENT"], pageToken: pageToken, maxResults: 50)
            for ref in page.messages {
                let stored = try await api.message(id: ref.id, format: .metadata(headers: ["Message-ID"]))
                if stored.header("Message-ID").map(MessageIDText.bare) == messageID { return ref }
                if let date = stored.internalDate, date < cutoff { return nil }
            }
            pageToken = page.nextPageToken
        } while pageToken != nil
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
