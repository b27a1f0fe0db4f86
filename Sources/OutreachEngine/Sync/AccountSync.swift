import Foundation
import Logging
import OutreachCore
import OutreachMail
import OutreachStore
import OutreachTransport

/// Mirrors one account's mail into the thread index over IMAP: INBOX, Sent, Junk and Archive (found by their
/// special use, else by common names), new UIDs only, header fields only, in batches.
///
/// Read-only by construction: folders are opened with EXAMINE and bodies fetched with BODY.PEEK, so no flag changes
/// and nothing is marked read. The position in each folder is saved after every batch, so a dropped connection
/// resumes where it stopped; a changed UIDVALIDITY re-reads that folder (messages already indexed stay as they are).
public struct AccountSync: Sendable {
    /// The header fields threading reads, plus those the classifier reads.
    public static let headerFields: [String] = {
        var fields = ["Message-ID", "In-Reply-To", "References", "From", "To", "Cc", "Subject", "Date"]
        for name in MessageFacts.headerFieldNames where !fields.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
            fields.append(name)
        }
        return fields
    }()
    public static let folderUses: [IMAPMailbox.SpecialUse] = [.sent, .junk, .archive]

    public struct FolderReport: Sendable {
        public let folder: String
        public let newMessages: Int
        public let fetched: Int
        public let uidValidityChanged: Bool
    }

    public struct Report: Sendable {
        public var folders: [FolderReport] = []
        public var newMessages: Int { folders.reduce(0) { $0 + $1.newMessages } }
        public var fetched: Int { folders.reduce(0) { $0 + $1.fetched } }
    }

    /// Where a running sync is, for progress displays.
    public struct Progress: Sendable {
        public let folder: String
        public let fetched: Int
        /// Messages this folder has to fetch in this sync, when known.
        public let total: Int?
    }

    let index: any ThreadIndex
    let ledger: any DeliveryLedger
    let registry: AccountRegistry
    let logger: Logger
    let batchSize: UInt32
    /// Drafted rows whose drafts the operator sent by hand turn `sent` when the sync finds them in Sent.
    let handSent: HandSentDrafts

    /// - Parameters:
    ///   - campaigns, jobs: where a drafted row's recipient and template are, to know a draft the operator's client
    ///     sent under a new Message-ID.
    public init(
        index: any ThreadIndex, ledger: any DeliveryLedger, campaigns: any CampaignStore, jobs: any JobStore, registry: AccountRegistry, logger: Logger,
        batchSize: UInt32 = 500
    ) {
        self.index = index
        self.ledger = ledger
        self.registry = registry
        self.logger = logger
        self.batchSize = batchSize
        self.handSent = HandSentDrafts(ledger: ledger, campaigns: campaigns, jobs: jobs, logger: logger)
    }

    /// - Parameter since: bounds the first sync of a folder. Default: one day before the account's first send, or
    ///   30 days back for an account that has sent nothing yet.
    public func run(account: Account, since: Date? = nil, progress: @Sendable (Progress) -> Void = { _ in }) async throws -> Report {
        guard let accountID = account.id else { throw AccountRegistry.Problem.definedInEnvironment(email: account.email.description) }
        var logger = logger
        logger[metadataKey: "account.email"] = "\(account.email)"
        let firstSyncBound: Date
        if let since {
            firstSyncBound = since
        } else if let firstSend = try await ledger.firstSend(accountID: accountID) {
            firstSyncBound = firstSend.addingTimeInterval(-86_400)
        } else {
            firstSyncBound = Date().addingTimeInterval(-30 * 86_400)
        }
        if account.provider == .gmailAPI {
            // Several clients (each its own connection, one token source and quota budget between them) read
            // messages side by side; the first also lists and reads the history.
            let clients = try (0..<max(1, registry.gmail.concurrentReads)).map { _ in try registry.gmailAPI(for: account, logger: logger) }
            do {
                let report = try await GmailSync(index: index, handSent: handSent, logger: logger).run(
                    account: account, accountID: accountID, readers: clients.map(\.api), bound: firstSyncBound, progress: progress
                )
                for client in clients { await client.http.close() }
                return report
            } catch {
                for client in clients { await client.http.close() }
                throw error
            }
        }
        let endpoint = try account.imapServer(for: "the sync (which follow-ups decide from)")
        let credential = try await registry.credential(for: account, logger: logger)

        let imap = IMAPConnection(endpoint: endpoint, trust: account.trust, logger: logger)
        do {
            try await imap.connect()
            try await imap.authenticate(username: account.username, credential: credential)
            // INBOX first, before LIST: Dovecot (maildir) re-scans a large INBOX when it is opened after a LIST in
            // the same session — half a second at 20,000 messages, on every incremental sync.
            var report = Report()
            report.folders.append(
                try await sync(folder: "INBOX", isSent: false, imap: imap, account: account, accountID: accountID, bound: firstSyncBound, progress: progress)
            )
            let mailboxes = try await imap.listMailboxes()
            var folders: [String] = []
            for use in Self.folderUses {
                if let box = mailboxes.mailbox(for: use), box.name != "INBOX", !folders.contains(box.name) { folders.append(box.name) }
            }
            let sent = mailboxes.mailbox(for: .sent)?.name
            for folder in folders {
                report.folders.append(
                    try await sync(
                        folder: folder, isSent: folder == sent, imap: imap, account: account, accountID: accountID, bound: firstSyncBound, progress: progress
                    )
                )
            }
            await imap.logout()
            return report
        } catch {
            await imap.logout()
            throw error
        }
    }

    private func sync(
        folder: String, isSent: Bool, imap: IMAPConnection, account: Account, accountID: Int64, bound: Date, progress: @Sendable (Progress) -> Void
    ) async throws -> FolderReport {
        let saved = try await index.mailboxState(accountID: accountID, folder: folder)
        // Nothing new is the common case: STATUS tells without opening the folder, which on a large Maildir costs
        // the server a directory scan.
        if let saved, saved.lastUID > 0 {
            let quick = try await imap.status(folder)
            if quick.uidValidity == saved.uidValidity, quick.uidNext > 0, quick.uidNext - 1 <= saved.lastUID {
                return FolderReport(folder: folder, newMessages: 0, fetched: 0, uidValidityChanged: false)
            }
        }
        let status = try await imap.examine(folder)
        var state = saved
            ?? MailboxState(accountID: accountID, folder: folder, uidValidity: status.uidValidity, lastUID: 0, highestModSeq: 0)
        var validityChanged = false
        if state.uidValidity != status.uidValidity {
            logger.notice("UIDVALIDITY of \(folder) changed; reading the folder again", metadata: ["folder": "\(folder)"])
            state = MailboxState(accountID: accountID, folder: folder, uidValidity: status.uidValidity, lastUID: 0, highestModSeq: 0)
            validityChanged = true
        }
        // UIDNEXT - 1 is the highest UID that can exist now; a server that sent no UIDNEXT is read to the end.
        let top: UInt32? = status.uidNext > 0 ? status.uidNext - 1 : nil
        if let top, state.lastUID >= top || status.messageCount == 0 {
            state.lastUID = max(state.lastUID, top)
            state.highestModSeq = status.highestModSeq
            state.syncedAt = Date()
            try await index.saveMailboxState(state)
            return FolderReport(folder: folder, newMessages: 0, fetched: 0, uidValidityChanged: validityChanged)
        }

        var start = state.lastUID + 1
        if state.lastUID == 0 {
            // The first sync reads only what is recent enough to answer our mail.
            let recent = try await imap.uidSearch(since: bound)
            guard let first = recent.min() else {
                state.lastUID = top ?? 0
                state.syncedAt = Date()
                try await index.saveMailboxState(state)
                return FolderReport(folder: folder, newMessages: 0, fetched: 0, uidValidityChanged: validityChanged)
            }
            start = first
        }
        let total = top.map { Int($0) - Int(start) + 1 }
        var fetched = 0
        var added = 0
        // The next batch is fetched (on the IMAP connection's thread) while this one is parsed and stored: on two
        // cores the server's answer, libetpan's parsing and ours overlap instead of taking turns.
        func fetch(from start: UInt32) -> (end: UInt32?, batch: Task<[IMAPFetchedHeaders], any Error>) {
            let end = top.map { min(start &+ batchSize - 1, $0) }
            return (end, Task { try await imap.fetchHeaderFields(Self.headerFields, uids: end.map { start...$0 }, from: start) })
        }
        var next = fetch(from: start)
        defer { next.batch.cancel() }
        while top == nil || start <= top! {
            let end = next.end
            let batch = try await next.batch.value
            if let end, let top, end < top { next = fetch(from: end + 1) }
            // Classified from the header fields; the few that look like delivery or feedback reports are fetched
            // whole, because only the body names the failed recipient and our original Message-ID.
            var facts = batch.map { MessageReportParser.facts(header: $0.headerBytes) }
            let reports = batch.indices.filter { MessageClassifier.needsFullMessage(facts[$0]) }
            if !reports.isEmpty {
                let full = try await imap.fetchMessages(uids: reports.map { batch[$0].uid })
                for index in reports { if let bytes = full[batch[index].uid] { facts[index] = MessageReportParser.facts(message: bytes) } }
            }
            let messages = batch.indices.map {
                Self.indexed(
                    header: batch[$0].headerBytes, fallbackKey: "\(batch[$0].uid)", classification: MessageClassifier.classify(facts[$0]), folder: folder,
                    account: account
                )
            }
            added += try await index.ingest(messages, accountID: accountID)
            if isSent {
                // Before the folder's position is saved: a sync that dies here reads the batch again.
                var matches = try await handSent.matches(in: messages, accountID: accountID)
                if !matches.isEmpty {
                    // Some clients keep drafts in Sent too: a message flagged \Draft there was never sent.
                    let drafts = Set(try await imap.uidSearchDrafts())
                    matches.removeAll { drafts.contains(batch[$0.position].uid) }
                    try await handSent.record(matches)
                }
            }
            fetched += batch.count
            state.lastUID = max(end ?? 0, batch.map(\.uid).max() ?? 0, state.lastUID)
            state.syncedAt = Date()
            try await index.saveMailboxState(state)
            progress(Progress(folder: folder, fetched: fetched, total: total))
            guard let end else { break }
            start = end + 1
        }
        state.highestModSeq = status.highestModSeq
        try await index.saveMailboxState(state)
        return FolderReport(folder: folder, newMessages: added, fetched: fetched, uidValidityChanged: validityChanged)
    }

    /// One message's index row from its header fields and how the classifier read it (IMAP and Gmail sync alike).
    /// - Parameter fallbackKey: identifies an undated message without Message-ID in its folder (its UID, its Gmail id).
    static func indexed(header: [UInt8], fallbackKey: String, classification: MessageClassification, folder: String, account: Account) -> IndexedMessage {
        let headers = HeaderParser.parse(header)
        let from = headers.from.first?.address
        let id = headers.messageID ?? IndexedMessage.synthesizedID(
            from: [folder, from?.normalized ?? "", headers.subject ?? "", headers.date.map { "\($0.timeIntervalSince1970)" } ?? fallbackKey]
        )
        var message = IndexedMessage(
            messageID: id, inReplyTo: headers.inReplyTo, references: headers.references, from: from, to: (headers.to + headers.cc).map(\.address),
            subject: headers.subject, date: headers.date, direction: from?.matchKey == account.email.matchKey ? .ours : .theirs, folder: folder
        )
        switch classification {
        case .human:
            message.classification = "human"
        case .autoReply:
            message.classification = "auto_reply"
        case .delivered(_, let original):
            message.classification = "delivered"
            message.originalMessageID = original
        case .bounce(let details):
            message.classification = "bounce_\(details.severity.rawValue)"
            message.bounceReason = details.reason.rawValue
            message.failedRecipients = details.failedRecipients
            message.originalMessageID = details.originalMessageID
        case .complaint(let recipient, let original):
            message.classification = "complaint"
            message.failedRecipients = recipient.map { [$0] } ?? []
            message.originalMessageID = original
        }
        return message
    }
}
