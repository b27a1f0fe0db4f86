import Foundation
import OutreachCore
import Testing

/// Module 1 end to end: a messy export imported, personal first emails sent and drafted by the real binary, and
/// every mailbox read back by an independent parser.
@Suite("Round 1 against real servers", .timeLimit(.minutes(5)))
struct FirstRoundTests {
    struct Person {
        let row: Int
        let email: String
        let first: String
        let last: String
        let company: String
        let title: String
        let selected: Bool
        let variant: String
    }

    /// 57 distinct prospects; every third selected; odd rows variant A, even rows B; some without a first name;
    /// one without a company (the subject needs it, so that row must be held).
    static let people: [Person] = (1...57).map { n in
        Person(
            row: n, email: String(format: "p%02d@example.test", n), first: n % 7 == 0 ? "" : ["Anna", "Jürgen", "Zoë", "Li", "O'Neil"][n % 5],
            last: "Müller-\(n)", company: n == 20 ? "" : "Firma \(n) & Söhne", title: "Head of \(n % 2 == 0 ? "Sales" : "Ops")",
            selected: n % 3 == 0, variant: n % 2 == 1 ? "A" : "B"
        )
    }

    static func messyCSV() -> [UInt8] {
        var lines = ["First Name;Last Name;E-mail Address;Company Name;Job Title;Select;Variant;Notes"]
        for p in people {
            let select = p.selected ? ["x", "yes", "1"][p.row % 3] : ["", "no", "0"][p.row % 3]
            let notes = p.row == 5 ? "\"met at the fair;\r\nsaid \"\"call me\"\"\"" : "note \(p.row)"
            let email = p.row == 11 ? "  \(p.email.uppercased())  " : p.email
            lines.append([p.first, p.last, email, p.company, p.title, select, p.variant, notes].joined(separator: ";"))
            if p.row == 12 { lines.append("Dup;Licate;P03@Example.TEST;Again GmbH;CEO;x;A;duplicate of row 3") }
            if p.row == 30 { lines.append("Bad;Address;p99@@example.test;Nowhere;CTO;x;A;invalid") }
            if p.row == 40 { lines.append("Twice;Again;p10@example.test;Again;CEO;;B;duplicate of row 10") }
        }
        return [0xEF, 0xBB, 0xBF] + Array(lines.joined(separator: "\r\n").utf8) + [13, 10]
    }

    static let template = """
        Subject: Quick idea for {company}

        Hi {first|there},

        I saw that you are **{Job Title}** at {Company Name} — may I send you a short note on how we help teams like yours?
        [gap:1]
        Best regards,
        Sam
        """

    @Test("send-selected for A, draft-selected-send-rest for B: every mailbox holds exactly what it should; a rerun sends nothing")
    func sendAndDraft() throws {
        let sender = (email: "sales@example.test", password: "sales-secret-pw")
        let servers = try MailServers(users: [sender] + Self.people.map { ($0.email, "pw-\($0.row)") })
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        let csv = cli.directory + "/leads.csv"
        let template = cli.directory + "/first.md"
        try Data(Self.messyCSV()).write(to: URL(fileURLWithPath: csv))
        try Self.template.write(toFile: template, atomically: true, encoding: .utf8)

        try cli.initialize(sender: sender, servers: servers, name: "Sam Sender")

        let imported = try cli.run(["campaign", "import", "Q4 Leads", csv, "--account", sender.email])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.stdout.contains("Imported 57 of 60 rows"), "\(imported.output)")
        #expect(imported.stdout.contains("p99@@example.test"), "the invalid address is not reported:\n\(imported.output)")
        #expect(imported.stdout.lowercased().contains("duplicate"), "duplicates are not reported:\n\(imported.output)")

        let lint = try cli.run(["template", "lint", "--campaign", "Q4 Leads", "--template", template])
        #expect(lint.stdout.contains("p20@example.test"), "the row without a company is not listed as held:\n\(lint.output)")

        let preview = try cli.run(["preview", "Q4 Leads", "--template", template, "--email", "p02@example.test"])
        #expect(preview.status == 0, "\(preview.output)")
        #expect(preview.stdout.contains("Subject: =?UTF-8?B?"), "\(preview.stdout)")
        #expect(preview.stdout.contains("From: Sam Sender <sales@example.test>"))

        let roundA = try cli.run(["send", "Q4 Leads", "--template", template, "--mode", "send-selected", "--variant", "A", "--wait"])
        #expect(roundA.status == 0, "\(roundA.output)")
        let roundB = try cli.run(["send", "Q4 Leads", "--template", template, "--mode", "draft-selected-send-rest", "--variant", "B", "--wait"])
        #expect(roundB.status == 0, "\(roundB.output)")
        #expect(roundB.stdout.contains("HELD row 21 p20@example.test: needs data: no value and no fallback for {company}"), "\(roundB.output)")

        func expectedAction(_ p: Person) -> String {
            if p.company.isEmpty { return "held" }
            if p.variant == "A" { return p.selected ? "send" : "none" }
            return p.selected ? "draft" : "send"
        }
        let boxes = try servers.mailboxes(of: [sender.email] + Self.people.map(\.email))
        var sentMessageIDs: Set<String> = []
        for person in Self.people {
            let inbox = boxes[person.email]?["INBOX"] ?? []
            let expected = expectedAction(person) == "send" ? 1 : 0
            #expect(inbox.count == expected, "\(person.email) (\(person.variant), selected \(person.selected)) has \(inbox.count) messages")
            guard let message = inbox.first else { continue }
            #expect(message.defects.isEmpty, "\(person.email): \(message.defects)")
            #expect(message.subject == "Quick idea for \(person.company)")
            #expect(message.to?.contains(person.email) == true)
            #expect(message.from == "Sam Sender <sales@example.test>")
            #expect(message.contentType == "multipart/alternative")
            let greeting = "Hi \(person.first.isEmpty ? "there" : person.first),"
            #expect(message.text?.contains(greeting) == true, "\(message.text ?? "")")
            #expect(message.text?.contains("{") == false)
            #expect(message.html?.contains("Firma \(person.row) &amp; Söhne") == true, "\(message.html ?? "")")
            if let id = message.messageId { sentMessageIDs.insert(id) }
        }
        let sentCount = Self.people.filter { expectedAction($0) == "send" }.count
        let draftCount = Self.people.filter { expectedAction($0) == "draft" }.count
        #expect(sentMessageIDs.count == sentCount)

        let senderBoxes = boxes[sender.email] ?? [:]
        let sentCopies = senderBoxes["Sent"] ?? []
        let drafts = senderBoxes["Drafts"] ?? []
        #expect(sentCopies.count == sentCount)
        #expect(Set(sentCopies.compactMap(\.messageId)) == sentMessageIDs)
        #expect(drafts.count == draftCount)
        #expect(drafts.allSatisfy { ($0.flags ?? "").contains("D") && $0.defects.isEmpty })
        #expect(Set(drafts.compactMap(\.to)).count == draftCount)

        // Again, both rounds: nothing new goes out.
        let againA = try cli.run(["send", "Q4 Leads", "--template", template, "--mode", "send-selected", "--variant", "A", "--wait"])
        let againB = try cli.run(["send", "Q4 Leads", "--template", template, "--mode", "draft-selected-send-rest", "--variant", "B", "--wait"])
        #expect(againA.stdout.contains(" 0 sent") && againB.stdout.contains(" 0 sent") && againB.stdout.contains(" 0 drafted"), "\(againA.output)\n\(againB.output)")
        let after = try servers.mailboxes(of: [sender.email] + Self.people.map(\.email))
        #expect(Self.people.map { after[$0.email]?["INBOX"]?.count ?? 0 }.reduce(0, +) == sentCount)
        #expect(after[sender.email]?["Drafts"]?.count == draftCount)

        // The export is a master file: importing it gives the same prospects, columns and round-1 history back.
        let exported = cli.directory + "/export.csv"
        try #require(cli.run(["campaign", "export", "Q4 Leads", "-o", exported]).status == 0)
        let reimported = try cli.run(["campaign", "import", "Q4 Copy", exported, "--account", sender.email])
        #expect(reimported.stdout.contains("Imported 57 of 57 rows"), "\(reimported.output)")
        // Into the same installation: the messages belong to the original campaign, so the copy gets no sent history.
        #expect(reimported.stdout.contains("is already in another campaign's ledger here"), "\(reimported.output)")
        let original = try CSVParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: exported))))
        let copy = try CSVParser.parse(Array(Data(try cli.run(["campaign", "export", "Q4 Copy"]).stdout.utf8)))
        #expect(original.first?.fields.prefix(8) == ["First Name", "Last Name", "E-mail Address", "Company Name", "Job Title", "Select", "Variant", "Notes"])
        #expect(original.first?.fields.dropFirst(8) == ["r1_message_id", "r1_thread_key", "r1_status", "r1_sent_at"])
        #expect(original.map { Array($0.fields.prefix(8)) } == copy.map { Array($0.fields.prefix(8)) })
        #expect(original.contains { $0.fields.contains("met at the fair;\r\nsaid \"call me\"") || $0.fields.contains("met at the fair;\nsaid \"call me\"") })

        // A round log is not a master file.
        let logFile = cli.directory + "/log.csv"
        try #require(cli.run(["campaign", "export", "Q4 Leads", "--log", "-o", logFile]).status == 0)
        let refused = try cli.run(["campaign", "import", "From Log", logFile, "--account", sender.email])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("master"), "\(refused.output)")
    }
}
