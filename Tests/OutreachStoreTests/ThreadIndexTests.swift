import Foundation
import OutreachCore
import OutreachStore
import Testing

struct ThreadIndexTests {
    func indexWithAccount() async throws -> (SQLiteThreadIndex, Int64) {
        let database = try SQLiteDatabase.inMemory()
        let account = try await database.accounts.insert(
            Account(
                email: try EmailAddress(parsing: "sales@sales.example"), smtp: try ServerEndpoint(parsing: "smtps://h", as: .smtp),
                imap: try ServerEndpoint(parsing: "imaps://h", as: .imap)
            ), sealedPassword: [1]
        )
        return (database.threads, try #require(account.id))
    }

    @Test("dates, ids, addresses and Gmail ids come back as they were indexed (rows are read straight from SQLite's columns)")
    func roundTrip() async throws {
        let (index, accountID) = try await indexWithAccount()
        let dates: [Date?] = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -43_200.5), Date(timeIntervalSince1970: 951_868_799.999),
            Date(timeIntervalSince1970: 2_147_483_647), Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000), nil,
        ]
        var messages: [IndexedMessage] = []
        for (i, date) in dates.enumerated() {
            messages.append(IndexedMessage(
                messageID: "m\(i)@x.example", references: i == 0 ? [] : ["m0@x.example"], from: try EmailAddress(parsing: "Anna\(i)@Acme.example"),
                to: [try EmailAddress(parsing: "sales@sales.example"), try EmailAddress(parsing: "b@c.example")], subject: i == 2 ? "Ré: ünïcode" : nil,
                date: date, direction: i == 1 ? .ours : .theirs, folder: "INBOX", gmailThreadID: i == 3 ? "18c0ffee00000001" : nil,
                gmailMessageID: i == 3 ? "18c0ffee00000002" : nil
            ))
        }
        _ = try await index.ingest(messages, accountID: accountID)
        let thread = try await index.thread(containing: "m0@x.example", accountID: accountID)
        #expect(Set(thread.map(\.messageID)) == Set(messages.map(\.messageID)))
        for original in messages {
            let stored = try #require(thread.first { $0.messageID == original.messageID })
            // Stored to the millisecond, as GRDB stores dates.
            let drift = (stored.date?.timeIntervalSince1970 ?? 0) - (original.date?.timeIntervalSince1970 ?? 0)
            #expect((stored.date == nil) == (original.date == nil) && abs(drift) < 0.0005, "\(original.messageID): \(String(describing: stored.date)) vs \(String(describing: original.date))")
            // Addresses are kept normalized (lower-cased), as every lookup compares them.
            #expect(stored.from?.normalized == original.from?.normalized && stored.to.map(\.normalized) == original.to.map(\.normalized))
            #expect(stored.subject == original.subject && stored.direction == original.direction)
            #expect(stored.gmailThreadID == original.gmailThreadID && stored.gmailMessageID == original.gmailMessageID)
            #expect(stored.references == original.references)
        }
    }

    @Test("a bounce keeps every failed recipient it names, in its order")
    func failedRecipients() async throws {
        let (index, accountID) = try await indexWithAccount()
        let bounce = IndexedMessage(
            messageID: "dsn@mx.example", from: try EmailAddress(parsing: "MAILER-DAEMON@mx.example"), subject: "Undelivered Mail Returned to Sender",
            date: Date(), direction: .theirs, folder: "INBOX", classification: "bounce_hard",
            failedRecipients: ["Office@Elsewhere.example", "anna@acme.example"]
        )
        let complaint = IndexedMessage(
            messageID: "arf@fbl.example", from: try EmailAddress(parsing: "fbl@fbl.example"), subject: "Abuse report", date: Date(),
            direction: .theirs, folder: "INBOX", classification: "complaint"
        )
        var refused = IndexedMessage(
            messageID: "dsn2@mx.example", from: try EmailAddress(parsing: "MAILER-DAEMON@mx.example"), subject: "Undelivered Mail Returned to Sender",
            date: Date(), direction: .theirs, folder: "INBOX", classification: "bounce_sender", failedRecipients: ["anna@acme.example"]
        )
        refused.bounceReason = "blocked"
        var hard = bounce
        hard.bounceReason = "user-unknown"
        _ = try await index.ingest([hard, complaint, refused], accountID: accountID)
        let stored = try await index.bouncesAndComplaints(accountID: accountID)
        #expect(stored.map(\.failedRecipients) == [["office@elsewhere.example", "anna@acme.example"], [], ["anna@acme.example"]])
        #expect(stored.map(\.bounceReason) == ["user-unknown", nil, "blocked"])
    }

    @Test("follow-up evidence reads the prospect's messages, or with sameDomain every address at its domain, since round 1")
    func evidenceBySenderOrDomain() async throws {
        let (index, accountID) = try await indexWithAccount()
        let sent = Date(timeIntervalSince1970: 1_795_953_600)
        func message(_ id: String, from: String, at offset: TimeInterval, direction: IndexedMessage.Direction = .theirs) throws -> IndexedMessage {
            IndexedMessage(
                messageID: id, from: try EmailAddress(parsing: from), subject: "Hello Anna", date: sent.addingTimeInterval(offset),
                direction: direction, folder: direction == .ours ? "Sent" : "INBOX"
            )
        }
        _ = try await index.ingest(
            [
                try message("root@sales.example", from: "sales@sales.example", at: 0, direction: .ours),
                try message("anna@acme.example", from: "Anna@Acme.example", at: 60), try message("bob@acme.example", from: "bob@acme.example", at: 120),
                try message("early@acme.example", from: "bob@acme.example", at: -60), try message("eu@acme.example", from: "eve@eu.acme.example", at: 180),
                try message("x@other.example", from: "anna@other.example", at: 240),
            ], accountID: accountID
        )
        let prospect = try await index.followUpEvidence(
            [FollowUpEvidenceQuery(root: "root@sales.example", sender: "anna@acme.example", sameDomain: false, since: sent)], accountID: accountID
        )[0]
        #expect(prospect.thread.map(\.messageID) == ["root@sales.example"])
        #expect(prospect.fromSender.map(\.messageID) == ["anna@acme.example"])
        let domain = try await index.followUpEvidence(
            [FollowUpEvidenceQuery(root: "root@sales.example", sender: "Anna@ACME.example", sameDomain: true, since: sent)], accountID: accountID
        )[0]
        #expect(domain.fromSender.map(\.messageID) == ["anna@acme.example", "bob@acme.example"])
    }
}
