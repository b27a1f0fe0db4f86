import Foundation
import Testing

/// `outreach report` against real servers: replies counted from the synced thread index, per variant and round.
@Suite("outreach report", .timeLimit(.minutes(5)))
struct ReportCommandTests {
    static let sender = (email: "sales@example.test", password: "sales-pw")

    static func reply(from email: String, to root: String, index: Int) -> String {
        """
        From: \(email)\r
        To: \(sender.email)\r
        Subject: Re: Hello\r
        Date: \(BrowserTests.rfc5322(Date()))\r
        Message-ID: <report-reply-\(index)@example.test>\r
        In-Reply-To: \(root)\r
        References: \(root)\r
        \r
        Sounds good, let us talk.\r

        """
    }

    @Test("report prints, per round and variant, sent, replies, the rate with its interval and the test against the first variant; --json the same")
    func reportPerVariantAndRound() async throws {
        // Variant A: p1–p4, B: p5–p8. After round 1, p1, p2 and p3 (A) reply; round 2 goes to p4 and p5–p8;
        // then p5 (B) answers round 2.
        let prospects = JobTests.prospects(8)
        let servers = try MailServers(users: [Self.sender] + prospects)
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers)
        try cli.expectSuccess(["account", "set", Self.sender.email, "--delay", "0", "--jitter", "0", "--guard", "0"])
        let csv = "email,first,variant\n" + prospects.enumerated().map { "\($0.element.email),P\($0.offset + 1),\($0.offset < 4 ? "A" : "B")" }.joined(separator: "\n")
        try csv.write(toFile: cli.directory + "/r.csv", atomically: true, encoding: .utf8)
        try cli.expectSuccess(["campaign", "import", "R", cli.directory + "/r.csv", "--account", Self.sender.email])

        let empty = try cli.expectSuccess(["report", "R", "--no-sync"])
        #expect(empty.stdout.contains("Nothing sent yet in R"), "\(empty.stdout)")

        try "Subject: Hello\n\nHi {first}.\n".write(toFile: cli.directory + "/r1.md", atomically: true, encoding: .utf8)
        try cli.expectSuccess(["send", "R", "--template", cli.directory + "/r1.md", "--wait"])
        let boxes = try servers.mailboxes(of: prospects.map(\.email))
        for (index, prospect) in prospects.prefix(3).enumerated() {
            let root = try #require(boxes[prospect.email]?["INBOX"]?.first?.messageId)
            try servers.deliver(Self.reply(from: prospect.email, to: root, index: index), from: prospect.email, to: Self.sender.email)
        }
        try "Subject:\n\nJust checking in, {first}.\n".write(toFile: cli.directory + "/r2.md", atomically: true, encoding: .utf8)
        try cli.expectSuccess(["followup", "R", "--round", "2", "--template", cli.directory + "/r2.md", "--wait"])
        let after = try servers.mailboxes(of: [prospects[4].email])
        let followUp = try #require(after[prospects[4].email]?["INBOX"]?.first { $0.subject?.hasPrefix("Re:") == true }?.messageId)
        try servers.deliver(Self.reply(from: prospects[4].email, to: followUp, index: 9), from: prospects[4].email, to: Self.sender.email)

        // The report syncs first, so p5's answer to round 2 counts.
        let text = try cli.expectSuccess(["report", "R"]).stdout
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("Round 1") && lines.contains("Round 2"), "\(text)")
        // Round 1: A 4 sent, 3 replied (75%); B 4 sent, 1 replied (p5, to the follow-up of the same thread).
        #expect(lines.contains { $0.hasPrefix("A 4 3 75.0%") && $0.hasSuffix("baseline") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("B 4 1 25.0%") && $0.contains("p = ") }, "\(text)")
        // Round 2: A 1 sent (p4), no reply; B 4 sent, 1 reply.
        #expect(lines.contains { $0.hasPrefix("A 1 0 0.0%") }, "\(text)")
        #expect(lines.filter { $0.hasPrefix("B 4 1 25.0%") && $0.contains("p = ") }.count == 2, "\(text)")
        #expect(text.contains("two-proportion z-test"), "\(text)")

        struct Report: Decodable {
            struct Round: Decodable {
                struct Variant: Decodable { let name: String; let sent: Int; let replies: Int; let rate: Double; let low: Double; let high: Double }
                let round: Int
                let variants: [Variant]
                let comparisons: [String: String]
                let verdict: String
            }
            let campaign: String
            let rounds: [Round]
        }
        let json = try JSONDecoder().decode(Report.self, from: Data(try cli.expectSuccess(["report", "R", "--json", "--no-sync"]).stdout.utf8))
        #expect(json.campaign == "R" && json.rounds.map(\.round) == [1, 2])
        let counts = json.rounds.map { $0.variants.map { "\($0.name) \($0.sent) \($0.replies)" } }
        #expect(counts == [["A 4 3", "B 4 1"], ["A 1 0", "B 4 1"]], "\(counts)")
        #expect(json.rounds[0].comparisons["A"] == "baseline")
        let a = json.rounds[0].variants[0]
        #expect(a.rate == 0.75 && a.low < 0.75 && a.high > 0.75 && a.high <= 1, "\(a)")
    }
}
