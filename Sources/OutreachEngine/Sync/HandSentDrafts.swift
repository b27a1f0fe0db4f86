import Foundation
import Logging
import OutreachCore
import OutreachStore

/// Drafts the operator sent by hand from their own mail client (the drafts-only workflow): the sync hands over each
/// batch of our messages it found in Sent, and a drafted ledger row whose message is among them becomes `sent`, so
/// follow-ups answer it in its thread.
///
/// A message matches a drafted row by its Message-ID (or, on a Gmail API account, by Gmail's id of the draft). A
/// client that gives an edited draft a new Message-ID is matched by recipient, the draft's subject, and a time after
/// the draft was stored; the row then takes the new Message-ID, which follow-ups answer.
struct HandSentDrafts: Sendable {
    /// What the ledger notes on such a row, and the follow-up plan repeats in its reason.
    static let note = "sent by hand from its draft"
    /// How far a client's clock may be behind ours when a message is matched by its time.
    static let clockSkew: TimeInterval = 600

    let ledger: any DeliveryLedger
    let campaigns: any CampaignStore
    let jobs: any JobStore
    let logger: Logger

    /// A drafted row and the message that sent it.
    struct Match: Sendable {
        /// Where the message is in the batch given to ``matches(in:accountID:)``.
        let position: Int
        let draft: Delivery
        let message: IndexedMessage
    }

    /// The drafted rows of the account that these messages (ours, from Sent, none of them a draft) sent.
    func matches(in messages: [IndexedMessage], accountID: Int64) async throws -> [Match] {
        let candidates = messages.indices.filter { messages[$0].direction == .ours }
        guard !candidates.isEmpty else { return [] }
        let drafts = try await ledger.drafts(accountID: accountID)
        guard !drafts.isEmpty else { return [] }
        var byMessageID: [String: Int] = [:]
        var byGmailID: [String: Int] = [:]
        for (i, draft) in drafts.enumerated() {
            if let id = draft.delivery.messageID { byMessageID[id] = i }
            if let id = draft.delivery.gmailMessageID { byGmailID[id] = i }
        }
        var matches: [Match] = []
        var matched = Set<Int>()
        var rest: [Int] = []
        for position in candidates {
            let message = messages[position]
            if let i = byMessageID[message.messageID] ?? message.gmailMessageID.flatMap({ byGmailID[$0] }), matched.insert(i).inserted {
                matches.append(Match(position: position, draft: drafts[i].delivery, message: message))
            } else if byMessageID[message.messageID] == nil {
                // A message that is some draft's own is never another draft's edited copy.
                rest.append(position)
            }
        }
        guard !rest.isEmpty else { return matches }
        // Edited copies: the drafts still unmatched, by their recipient's address; only those a message went to are
        // rendered, to compare subjects.
        var byRecipient: [String: [Int]] = [:]
        for (i, draft) in drafts.enumerated() where !matched.contains(i) {
            guard let address = try? EmailAddress(parsing: draft.email) else { continue }
            byRecipient[address.matchKey, default: []].append(i)
        }
        var templates: [Int64: EmailTemplate?] = [:]
        for position in rest {
            let message = messages[position]
            for i in message.to.flatMap({ byRecipient[$0.matchKey] ?? [] }) where !matched.contains(i) {
                let draft = drafts[i].delivery
                guard (message.date ?? .distantPast) >= draft.updatedAt.addingTimeInterval(-Self.clockSkew),
                    let subject = try await subject(of: draft, templates: &templates), Self.sameSubject(message.subject, subject)
                else { continue }
                matched.insert(i)
                matches.append(Match(position: position, draft: draft, message: message))
                break
            }
        }
        return matches
    }

    /// Matches and records in one go, for messages known not to be drafts (Gmail's, whose labels say so).
    @discardableResult
    func settle(_ messages: [IndexedMessage], accountID: Int64) async throws -> Int {
        try await record(try await matches(in: messages, accountID: accountID))
    }

    /// Writes each match's row as sent.
    /// - Returns: how many rows changed.
    @discardableResult
    func record(_ matches: [Match]) async throws -> Int {
        var changed = 0
        for match in matches {
            var sent = match.draft
            let message = match.message
            let renamed = message.messageID != sent.messageID
            sent.state = .sent
            if sent.threadKey == nil || sent.threadKey == sent.messageID { sent.threadKey = message.messageID }
            sent.messageID = message.messageID
            sent.sentAt = message.date ?? Date()
            sent.updatedAt = Date()
            sent.replyText = renamed ? "\(Self.note) (the client gave it a new Message-ID <\(message.messageID)>)" : Self.note
            sent.gmailMessageID = message.gmailMessageID ?? sent.gmailMessageID
            sent.gmailThreadID = message.gmailThreadID ?? sent.gmailThreadID
            if try await ledger.recordSentDraft(sent) {
                changed += 1
                logger.info(
                    "a draft was sent by hand",
                    metadata: ["delivery.id": "\(sent.id ?? 0)", "round": "\(sent.round)", "message.id": "\(message.messageID)"]
                )
            }
        }
        return changed
    }

    /// The subject the draft was written with: its job's template, rendered for the prospect.
    private func subject(of draft: Delivery, templates: inout [Int64: EmailTemplate?]) async throws -> String? {
        guard let jobID = draft.jobID else { return nil }
        if templates[jobID] == nil {
            let source = try await jobs.job(id: jobID)?.spec.template
            templates[jobID] = source.flatMap { try? EmailTemplate(parsing: $0) }
        }
        guard let template = templates[jobID] ?? nil, let prospect = try await campaigns.prospect(id: draft.prospectID),
            case .rendered(let email) = template.render(values: prospect.fields)
        else { return nil }
        let subject = email.subject?.trimmingCharacters(in: .whitespaces) ?? ""
        // A follow-up drafted with the template's empty Subject: line took round 1's subject; not worth guessing.
        return subject.isEmpty ? nil : subject
    }

    static func sameSubject(_ sent: String?, _ drafted: String) -> Bool {
        guard let sent else { return false }
        return sent.trimmingCharacters(in: .whitespaces).caseInsensitiveCompare(drafted) == .orderedSame
    }
}
