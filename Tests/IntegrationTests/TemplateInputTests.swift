import Foundation
import Testing

/// Template files as operators really save them, through the real binary: `template lint` and `preview` (no mail
/// server is involved; the account is never contacted).
@Suite("Template files through lint and preview", .timeLimit(.minutes(5)))
struct TemplateInputTests {
    static let longCompany = String(repeating: "Verbundgesellschaft", count: 20)

    /// A sandbox with an account and a three-row campaign "C": Acme, no company, and a 380-letter company name.
    private func sandbox() throws -> OutreachSandbox {
        let cli = try OutreachSandbox()
        try cli.expectSuccess(["init"])
        try cli.expectSuccess(
            ["account", "add", "sales@example.test", "--smtp", "smtp://127.0.0.1:1", "--imap", "imap://127.0.0.1:1", "--name", "Sam Sender", "--password-stdin"],
            stdin: "unused-pw")
        let csv = "email,first,company\np1@example.test,Anna,Acme\np2@example.test,Ben,\np3@example.test,Zoë,\(Self.longCompany)\n"
        try csv.write(toFile: cli.directory + "/leads.csv", atomically: true, encoding: .utf8)
        try cli.expectSuccess(["campaign", "import", "C", cli.directory + "/leads.csv", "--account", "sales@example.test"])
        return cli
    }

    private func write(_ bytes: [UInt8], _ name: String, in cli: OutreachSandbox) throws -> String {
        let path = cli.directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("preview of a held row prints its reason and no usage text, and fails")
    func previewOfAHeldRow() throws {
        let cli = try sandbox()
        defer { cli.remove() }
        let template = try write(Array("Subject: Hi {company}\n\nHello {first}".utf8), "t.md", in: cli)
        let held = try cli.run(["preview", "C", "--template", template, "--row", "2"])
        #expect(held.status != 0)
        #expect(held.stderr == "Error: row 2 would be held: no value and no fallback for {company}\n", "\(held.output)")
        #expect(!held.output.contains("Usage:") && !held.output.contains("--help"), "\(held.output)")
    }

    @Test("lint says that a NUL in the subject would hold every row")
    func nulInTheSubject() throws {
        let cli = try sandbox()
        defer { cli.remove() }
        let template = try write(Array("Subject: Hi\u{0} {first}\n\nHello".utf8), "t.md", in: cli)
        let lint = try cli.run(["template", "lint", "--campaign", "C", "--template", template])
        #expect(lint.status != 0)
        #expect(
            lint.stdout.contains("\(template): line 1: error: the subject contains a NUL character (U+0000), which no email header can carry: every row would be held; remove it"),
            "\(lint.output)")
    }

    @Test("a UTF-16 template reads as the text it is; a Latin-1 line is read as Windows-1252 and lint names the line")
    func encodings() throws {
        let cli = try sandbox()
        defer { cli.remove() }
        let text = "Subject: Grüße an {company}\r\n\r\nHallo {first},\r\nbis bald."
        let utf16 = try write([0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }, "utf16.md", in: cli)
        let lint = try cli.run(["template", "lint", "--campaign", "C", "--template", utf16])
        #expect(lint.stdout.contains("\n0 template issue(s); 1 row(s) would be held"), "\(lint.output)")
        let preview = try cli.run(["preview", "C", "--template", utf16, "--row", "1"])
        #expect(preview.status == 0, "\(preview.output)")
        #expect(preview.stdout.contains("Subject: =?UTF-8?B?\(Data("Grüße an Acme".utf8).base64EncodedString())?="), "\(preview.stdout)")
        #expect(preview.stdout.contains("Hallo Anna,"), "\(preview.stdout)")

        let latin1 = try write(Array("Subject: Hi {first}\n\nHallo {first},\n".utf8) + [0x43, 0x61, 0x66, 0xE9, 0x20, 0x80, 0x35], "latin1.md", in: cli)
        let warned = try cli.run(["template", "lint", "--campaign", "C", "--template", latin1])
        #expect(
            warned.stdout.contains(
                "\(latin1): line 4: warning: this line is not valid UTF-8 and was read as Windows-1252 (\"Café €5\"); check that its accents look right, or save the file as UTF-8"),
            "\(warned.output)")
        let shown = try cli.run(["preview", "C", "--template", latin1, "--row", "1"])
        #expect(shown.stdout.contains("Caf=C3=A9 =E2=82=AC5"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("=EF=BF=BD"), "a replacement character went out")
    }

    @Test("a long subject is folded, and Python's strict parser reads it back whole; a subject or file over the limit is refused")
    func longSubjectAndLimits() throws {
        let cli = try sandbox()
        defer { cli.remove() }
        let template = try write(Array("Subject: Hi {company}\n\nHello {first}".utf8), "t.md", in: cli)
        let preview = try cli.run(["preview", "C", "--template", template, "--row", "3"])
        #expect(preview.status == 0, "\(preview.output)")
        let header = try #require(preview.stdout.components(separatedBy: "\r\n\r\n").first)
        for line in header.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 78, "\(line)") }
        let python = """
            import email, email.policy, json, sys
            msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.strict)
            print(json.dumps({"subject": str(msg["Subject"]), "to": str(msg["To"]), "defects": [repr(d) for d in msg.defects]}))
            """
        let parsed = try CommandRunner.run("/usr/bin/python3", ["-c", python], stdin: preview.stdout, timeout: 60)
        #expect(parsed.status == 0, "\(parsed.output)")
        let read = try JSONDecoder().decode(Parsed.self, from: Data(parsed.stdout.utf8))
        #expect(read.subject == "Hi \(Self.longCompany)")
        #expect(read.to == "Zoë <p3@example.test>")
        #expect(read.defects.isEmpty)

        let long = try write(Array("Subject: \(String(repeating: "Hi ", count: 400))\n\nHello".utf8), "long.md", in: cli)
        let lint = try cli.run(["template", "lint", "--campaign", "C", "--template", long])
        #expect(lint.status != 0)
        #expect(lint.stdout.contains("line 1: error: the subject is 1199 bytes long; the limit is 998"), "\(lint.output)")

        let huge = try write(Array("Subject: Hi\n\n".utf8) + Array(repeating: 0x61, count: 4 * 1024 * 1024), "huge.md", in: cli)
        for command in [["template", "lint", "--campaign", "C", "--template", huge], ["preview", "C", "--template", huge, "--row", "1"]] {
            let refused = try cli.run(command)
            #expect(refused.status != 0)
            #expect(refused.stderr.hasPrefix("Error: \(huge): the template is 4194317 bytes; the limit is 4 MiB (4194304 bytes)"), "\(refused.output)")
            #expect(!refused.output.contains("Usage:"), "\(refused.output)")
        }
    }

    struct Parsed: Decodable {
        let subject: String
        let to: String
        let defects: [String]
    }
}
