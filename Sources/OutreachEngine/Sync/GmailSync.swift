import Foundation
import Logging
import OutreachCore
import OutreachMail
import OutreachStore
import OutreachTransport

/// Mirrors a Gmail API account into the thread index, as ``AccountSync`` does over IMAP: the first sync lists the
/// bounded window (messages.list, then messages.get with the header fields the index needs); later syncs read only
/// what changed since the stored history id (history.list: messageAdded, and labelAdded with SENT for drafts the user
/// sent from Gmail). A history id Gmail no longer keeps (404) falls back to the full bounded listing, which skips what
/// is already indexed. A drafted ledger row whose draft shows up sent becomes `sent` (``HandSentDrafts``).
///
/// Read-only: nothing is modified, labelled or marked read. Gmail's message and thread ids are kept beside each
/// Message-ID, so a reply Gmail threaded without References still lands in round 1's thread.
struct GmailSync: Sendable {
    /// The mailbox_state row that holds the account's history id (in `highestModSeq`).
    static let stateFolder = "[Gmail API]"

    let index: any ThreadIndex
    let handSent: HandSentDrafts
    let logger: Logger

    /// - Parameter readers: Gmail clients of the account, read on side by side; the first also lists.
    func run(
        account: Account, accountID: Int64, readers: [GmailAPI], bound: Date, progress: @Sendable (AccountSync.Progress) -> Void
    ) async throws -> AccountSync.Report {
        guard let api = readers.first else { return AccountSync.Report() }
        var report = AccountSync.Report()
        if let saved = try await index.mailboxState(accountID: accountID, folder: Self.stateFolder), saved.highestModSeq > 0 {
            do {
                report.folders.append(try await incremental(from: saved, account: account, accountID: accountID, readers: readers, progress: progress))
                return report
            } catch let error as TransportError where error.isGmailHistoryExpired {
                logger.notice(
                    "Gmail no longer keeps history from \(saved.highestModSeq); listing the mailbox again", metadata: ["account.email": "\(account.email)"]
                )
                report.folders.append(try await full(account: account, accountID: accountID, readers: readers, bound: bound, resync: true, progress: progress))
                return report
            }
        }
        report.folders.append(try await full(account: account, accountID: accountID, readers: readers, bound: bound, resync: false, progress: progress))
        return report
    }

    /// Everything since the bound. The history id is read first, so mail that arrives while listing is picked up by
    /// the next incremental sync instead of being missed.
    private func full(
        account: Account, accountID: Int64, readers: [GmailAPI], bound: Date, resync: Bool, progress: @Sendable (AccountSync.Progress) -> Void
    ) async throws -> AccountSync.FolderReport {
        let api = readers[0]
        let profile = try await api.profile()
        let canSearch = account.oauth?.canSearchAndReadBodies == true
        var pageToken: String?
        var fetched = 0
        var added = 0
        repeat {
            // Under the metadata scope Gmail refuses `q`: list newest first and stop at the bound instead.
            let page = try await api.listMessages(
                query: canSearch ? "after:\(Int(bound.timeIntervalSince1970)) -in:drafts" : nil, includeSpamTrash: true, pageToken: pageToken
            )
            let (messages, oldest) = try await fetch(page.messages, account: account, accountID: accountID, readers: readers, bound: canSearch ? nil : bound)
            added += try await index.ingest(messages, accountID: accountID)
            try await handSent.settle(messages.filter { $0.folder == "Sent" }, accountID: accountID)
            fetched += messages.count
            progress(AccountSync.Progress(folder: "Gmail", fetched: fetched, total: nil))
            pageToken = page.nextPageToken
            if !canSearch, let oldest, oldest < bound { break }
        } while pageToken != nil
        try await saveHistoryID(profile.historyID, accountID: accountID)
        return AccountSync.FolderReport(folder: "Gmail (all mail since \(JobTime.format(bound)))", newMessages: added, fetched: fetched, uidValidityChanged: resync)
    }

    private func incremental(
        from saved: MailboxState, account: Account, accountID: Int64, readers: [GmailAPI], progress: @Sendable (AccountSync.Progress) -> Void
    ) async throws -> AccountSync.FolderReport {
        let api = readers[0]
        var refs: [GmailMessageRef] = []
        var seen: [String: Int] = [:]
        var pageToken: String?
        var latest = saved.highestModSeq
        repeat {
            let page = try await api.history(startHistoryID: saved.highestModSeq, pageToken: pageToken)
            for ref in page.added {
                // Its latest labels count: a draft added and then sent in the same span is a sent message.
                if let earlier = seen[ref.id] { refs[earlier] = ref } else {
                    seen[ref.id] = refs.count
                    refs.append(ref)
                }
            }
            latest = max(latest, page.historyID)
            pageToken = page.nextPageToken
        } while pageToken != nil
        let (messages, _) = try await fetch(refs, account: account, accountID: accountID, readers: readers, bound: nil)
        let added = try await index.ingest(messages, accountID: accountID)
        try await handSent.settle(messages.filter { $0.folder == "Sent" }, accountID: accountID)
        progress(AccountSync.Progress(folder: "Gmail", fetched: messages.count, total: refs.count))
        // Saved after the messages are in: a sync that dies halfway reads the same history again.
        try await saveHistoryID(latest, accountID: accountID)
        return AccountSync.FolderReport(folder: "Gmail (history)", newMessages: added, fetched: messages.count, uidValidityChanged: false)
    }

    /// The index rows of these messages, drafts and already indexed ones left out.
    /// - Parameter bound: when given, messages older than it are left out too.
    /// - Returns: the rows, and the oldest date seen (to know when a newest-first listing has passed the bound).
    private func fetch(
        _ refs: [GmailMessageRef], account: Account, accountID: Int64, readers: [GmailAPI], bound: Date?
    ) async throws -> ([IndexedMessage], Date?) {
        let known = try await index.knownGmailMessageIDs(refs.map(\.id), accountID: accountID)
        let wanted = refs.filter { !known.contains($0.id) && !$0.labelIDs.contains("DRAFT") }
        let read = try await Self.read(wanted, readers: readers, canReadBodies: account.oauth?.canSearchAndReadBodies == true)
        var messages: [IndexedMessage] = []
        var oldest: Date?
        for ref in wanted {
            // Absent: deleted between the listing and the read; there is nothing left to index.
            guard let (message, facts) = read[ref.id] else { continue }
            if let date = message.internalDate { oldest = min(oldest ?? date, date) }
            if message.labelIDs.contains("DRAFT") { continue }
            if let bound, let date = message.internalDate, date < bound { continue }
            var indexed = AccountSync.indexed(
                header: Self.headerBytes(message), fallbackKey: message.id, classification: MessageClassifier.classify(facts),
                folder: Self.folder(message.labelIDs), account: account
            )
            indexed.gmailThreadID = message.threadID
            indexed.gmailMessageID = message.id
            messages.append(indexed)
        }
        // Under the metadata scope a report's body (which names our Message-ID) is out of reach; Gmail files its own
        // bounces in the thread of the message that bounced, which tells the same — that message may be in this very
        // batch (listed after the bounce, newest first) or indexed already.
        for i in messages.indices where !["human", "auto_reply", "delivered"].contains(messages[i].classification) && messages[i].originalMessageID == nil {
            guard let thread = messages[i].gmailThreadID else { continue }
            if let ours = messages.first(where: { $0.gmailThreadID == thread && $0.direction == .ours }) {
                messages[i].originalMessageID = ours.messageID
            } else {
                messages[i].originalMessageID = try await index.ourMessageID(inGmailThread: thread, accountID: accountID)
            }
        }
        return (messages, oldest)
    }

    /// Reads each message's header fields (and, where the scope allows and the classifier needs it, the whole
    /// message) on all the readers at once, each taking every n-th message: one call per message, so Gmail's
    /// latency adds up unless the calls overlap. The readers share one quota budget.
    /// - Returns: what was read, by Gmail id; a message Gmail no longer has is absent.
    static func read(
        _ refs: [GmailMessageRef], readers: [GmailAPI], canReadBodies: Bool
    ) async throws -> [String: (message: GmailMessage, facts: MessageFacts)] {
        try await withThrowingTaskGroup(of: [(String, GmailMessage, MessageFacts)].self) { group in
            for (lane, reader) in readers.enumerated() {
                let share = stride(from: lane, to: refs.count, by: readers.count).map { refs[$0] }
                guard !share.isEmpty else { continue }
                group.addTask {
                    var part: [(String, GmailMessage, MessageFacts)] = []
                    for ref in share {
                        guard let message = try await messageIfPresent(ref.id, api: reader) else { continue }
                        var facts = MessageReportParser.facts(header: headerBytes(message))
                        if canReadBodies, !message.labelIDs.contains("DRAFT"), MessageClassifier.needsFullMessage(facts),
                            let raw = try await reader.message(id: ref.id, format: .raw).raw
                        {
                            facts = MessageReportParser.facts(message: raw)
                        }
                        part.append((ref.id, message, facts))
                    }
                    return part
                }
            }
            var all: [String: (message: GmailMessage, facts: MessageFacts)] = [:]
            for try await part in group { for (id, message, facts) in part { all[id] = (message, facts) } }
            return all
        }
    }

    /// The message's header fields, or nil when Gmail no longer has it. (A function of its own: a typed-throws
    /// call caught by kind inside an untyped-throwing loop crashes Swift 6.3.1's SILGen.)
    private static func messageIfPresent(_ id: String, api: GmailAPI) async throws(TransportError) -> GmailMessage? {
        do {
            return try await api.message(id: id, format: .metadata(headers: AccountSync.headerFields))
        } catch {
            if error.kind == .rejectedPermanently, error.replyCode == 404 { return nil }
            throw error
        }
    }

    private func saveHistoryID(_ historyID: UInt64, accountID: Int64) async throws {
        try await index.saveMailboxState(
            MailboxState(accountID: accountID, folder: Self.stateFolder, uidValidity: 0, lastUID: 0, highestModSeq: historyID, syncedAt: Date())
        )
    }

    /// The header fields Gmail returned, as header lines the parsers read (values come unfolded and decoded).
    static func headerBytes(_ message: GmailMessage) -> [UInt8] {
        var text = ""
        for header in message.headers {
            let value = header.value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            text += "\(header.name): \(value)\r\n"
        }
        return Array((text + "\r\n").utf8)
    }

    /// The folder name the index shows for a Gmail message, from its system labels.
    static func folder(_ labels: [String]) -> String {
        if labels.contains("SPAM") { return "Junk" }
        if labels.contains("TRASH") { return "Trash" }
        if labels.contains("SENT") { return "Sent" }
        if labels.contains("INBOX") { return "INBOX" }
        return "All Mail"
    }
}
