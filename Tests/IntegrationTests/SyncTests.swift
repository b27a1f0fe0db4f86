import Foundation
import OutreachCore
import OutreachStore
import Testing

/// `outreach sync` against a real Dovecot: what lands in the thread index, and what stays untouched on the server.
@Suite("Sync into the thread index", .timeLimit(.minutes(5)))
struct SyncTests {
    @Test("replies thread with our first emails however they link back; a second sync fetches nothing; no flag changes on the server")
    func syncThreadsReplies() async throws {
        let sender = (email: "sales@example.test", password: "sales-pw")
        let prospects = (1...3).map { (email: "p\($0)@example.test", password: "pw\($0)") }
        let servers = try MailServers(users: [sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: sender, servers: servers)
        let csv = "email,first\n" + prospects.map { "\($0.email),P" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: cli.directory + "/l.csv", atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}.\n".write(toFile: cli.directory + "/t.md", atomically: true, encoding: .utf8)
        try #require(cli.run(["campaign", "import", "T", cli.directory + "/l.csv", "--account", sender.email]).status == 0)
        try #require(cli.run(["send", "T", "--template", cli.directory + "/t.md", "--wait"]).status == 0)

        let database = try SQLiteDatabase(path: cli.databasePath, create: false)
        let campaign = try #require(try await database.campaigns.campaign(named: "T"))
        let ledger = try await database.deliveries.deliveries(campaignID: campaign.id!)
        let ids = try ledger.sorted { $0.prospectID < $1.prospectID }.map { try #require($0.messageID) }
        #expect(ids.count == 3)

        // p1 answers with full References, p2 with only In-Reply-To, p3 with a reply whose own id another reply cites first.
        func reply(from: String, id: String, headers: String) -> String {
            "From: \(from)\r\nTo: \(sender.email)\r\nSubject: Re: Hello P\r\nMessage-ID: <\(id)>\r\n\(headers)Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nSounds good.\r\n"
        }
        try servers.deliver(reply(from: prospects[0].email, id: "r1@example.test", headers: "In-Reply-To: <\(ids[0])>\r\nReferences: <\(ids[0])>\r\n"), from: prospects[0].email, to: sender.email)
        try servers.deliver(reply(from: prospects[1].email, id: "r2@example.test", headers: "In-Reply-To: <\(ids[1])>\r\n"), from: prospects[1].email, to: sender.email)
        // A follow-up from p3 that arrives before the message it answers: a placeholder joins them once both are in.
        try servers.deliver(reply(from: prospects[2].email, id: "r3b@example.test", headers: "References: <\(ids[2])> <r3a@example.test>\r\n"), from: prospects[2].email, to: sender.email)
        try servers.deliver(reply(from: prospects[2].email, id: "r3a@example.test", headers: "In-Reply-To: <\(ids[2])>\r\n"), from: prospects[2].email, to: sender.email)
        let before = try servers.mailboxes(of: [sender.email])[sender.email]?["INBOX"]?.map { $0.flags ?? "" }

        let first = try cli.run(["sync"])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stdout.contains("\(sender.email): 7 new"), "\(first.output)")
        let second = try cli.run(["sync", "--account", sender.email])
        #expect(second.stdout.contains("\(sender.email): 0 new"), "\(second.output)")

        let accountID = try #require(campaign.accountID as Int64?)
        for (index, ourID) in ids.enumerated() {
            let thread = try await database.threads.thread(containing: ourID, accountID: accountID)
            let theirs = thread.filter { $0.direction == .theirs }
            #expect(thread.contains { $0.messageID == ourID && $0.direction == .ours && $0.folder == "Sent" })
            #expect(theirs.allSatisfy { $0.from?.description == prospects[index].email })
            #expect(theirs.count == (index == 2 ? 2 : 1), "thread of \(prospects[index].email): \(thread.map(\.messageID))")
        }
        let after = try servers.mailboxes(of: [sender.email])[sender.email]?["INBOX"]?.map { $0.flags ?? "" }
        #expect(before == after, "sync changed flags: \(before ?? []) → \(after ?? [])")
        #expect(after?.allSatisfy { !$0.contains("S") } == true, "sync marked messages as read")
    }
}
