import Foundation
import OutreachCore
import Testing

/// What reaches the wire and the files for unusual addresses and cells: internationalised domains in their IDNA
/// form, invisible characters and control bytes refused at import by row, formula-like cells guarded in exports
/// and given back unchanged by the next import, and the cell size limit as a setting.
@Suite("Addresses and CSV cells end to end", .timeLimit(.minutes(5)))
struct AddressAndCSVTests {
    static let sender = (email: "sales@example.test", password: "sales-secret-pw")

    @Test("A prospect at bücher.test is mailed as someone@xn--bcher-kva.test in RCPT TO and To; shown in Unicode")
    func internationalisedDomain() throws {
        let recipient = (email: "someone@xn--bcher-kva.test", password: "someone-pw")
        let servers = try MailServers(users: [Self.sender, recipient])
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: Self.sender, servers: servers, name: "Sam Sender")
        let csv = cli.directory + "/idn.csv"
        let template = cli.directory + "/first.md"
        try "email,first\r\nsomeone@Bücher.test,Kim\r\n".write(toFile: csv, atomically: true, encoding: .utf8)
        try "Subject: Hello {first}\n\nHi {first}, a short note.\n".write(toFile: template, atomically: true, encoding: .utf8)

        let imported = try cli.expectSuccess(["campaign", "import", "IDN", csv, "--account", Self.sender.email])
        #expect(imported.stdout.contains("Imported 1 of 1 rows"), "\(imported.output)")

        let preview = try cli.expectSuccess(["preview", "IDN", "--template", template, "--row", "1"])
        #expect(preview.stdout.contains("To: Kim <someone@xn--bcher-kva.test>"), "\(preview.stdout)")

        let round = try cli.run(["send", "IDN", "--template", template, "--mode", "send-all", "--wait"])
        #expect(round.status == 0, "\(round.output)")
        #expect(servers.relayLog.contains("to someone@xn--bcher-kva.test"), "\(servers.relayLog)")
        let inbox = try servers.mailboxes(of: [recipient.email])[recipient.email]?["INBOX"] ?? []
        #expect(inbox.count == 1)
        #expect(inbox.first?.to == "Kim <someone@xn--bcher-kva.test>", "\(String(describing: inbox.first?.to))")
        #expect(inbox.first?.subject == "Hello Kim")

        let export = try cli.expectSuccess(["campaign", "export", "IDN"])
        #expect(export.stdout.contains("someone@Bücher.test,Kim"), "the display form is kept:\n\(export.stdout)")
    }

    @Test("Import refuses invisible characters and control bytes by row; an export guards formulas and imports back unchanged")
    func importAndExport() throws {
        try Self.withAccount { cli in
            // As cells of the source file: a leading tab or CR only survives the import's trimming behind an apostrophe
            // (as Excel users write it), and a stored value that starts with an apostrophe is written with one more.
            let tricky = ["-1+cmd|' /C calc'!A0", "+1", "-2 (x)", "@SUM(A1)", "'\tx", "'\rx", "=1", "+49 30 1234", "''=already"]
            var bytes = Array("email,Notes,Phone\r\n".utf8)
            for (n, value) in tricky.enumerated() {
                bytes += Array("p\(n + 1)@example.test,\"\(value)\",+49 30 1234\r\n".utf8)
            }
            // Row 6's quoted CR counts as a line: rows 10 to 13 are on lines 12 to 15.
            bytes += Array("p10@pros\u{FEFF}pects.test,bom,\r\n".utf8)  // row 10
            bytes += Array("p11@prospects.test\u{200B},zwsp,\r\n".utf8)  // row 11
            bytes += Array("p12@pros\u{00AD}pects.test,shy,\r\n".utf8)  // row 12
            bytes += Array("p13@example.test,nul ".utf8) + [0x00] + Array("here,\r\n".utf8)  // row 13
            let csv = cli.directory + "/tricky.csv"
            try Data(bytes).write(to: URL(fileURLWithPath: csv))

            let imported = try cli.expectSuccess(["campaign", "import", "Tricky", csv, "--account", Self.sender.email])
            let out = imported.stdout
            #expect(out.contains("Imported 9 of 13 rows"), "\(imported.output)")
            #expect(out.contains("row 10 (line 12): 'p10@pros\\u{FEFF}pects.test' holds an invisible character, U+FEFF ZERO WIDTH NO-BREAK SPACE"), "\(out)")
            #expect(out.contains("row 11 (line 13): 'p11@prospects.test\\u{200B}' holds an invisible character, U+200B ZERO WIDTH SPACE"), "\(out)")
            #expect(out.contains("row 12 (line 14): 'p12@pros\\u{AD}pects.test' holds an invisible character, U+00AD SOFT HYPHEN"), "\(out)")
            #expect(out.contains("row 13 (line 15): column B 'Notes' holds a control character, U+0000 NUL"), "\(out)")
            #expect(!imported.output.utf8.contains(0), "a NUL byte reached the output")

            let first = cli.directory + "/first-export.csv"
            try cli.expectSuccess(["campaign", "export", "Tricky", "-o", first])
            let exported = try String(contentsOfFile: first, encoding: .utf8)
            #expect(exported.contains("p1@example.test,'-1+cmd|' /C calc'!A0,'+49 30 1234\r\n"), "\(exported)")
            #expect(exported.contains("p4@example.test,'@SUM(A1),"), "\(exported)")
            #expect(exported.contains("p5@example.test,'\tx,"), "\(exported)")
            #expect(exported.contains("p6@example.test,\"'\rx\","), "\(exported)")
            #expect(exported.contains("p9@example.test,''=already,"), "\(exported)")

            try cli.expectSuccess(["campaign", "import", "Tricky again", first, "--account", Self.sender.email])
            let second = cli.directory + "/second-export.csv"
            try cli.expectSuccess(["campaign", "export", "Tricky again", "-o", second])
            #expect(try String(contentsOfFile: second, encoding: .utf8) == exported, "export → import → export changed the file")
        }
    }

    @Test("OUTREACH_CSV_MAX_FIELD_BYTES sets the cell limit; the error names it and blames no quote")
    func fieldLimitSetting() throws {
        try Self.withAccount { cli in
            let csv = cli.directory + "/long.csv"
            try ("email,notes\r\na@example.test,\"" + String(repeating: "x", count: 3000) + "\"\r\n").write(toFile: csv, atomically: true, encoding: .utf8)

            let refused = try cli.run(["campaign", "import", "Long", csv, "--account", Self.sender.email], extraEnvironment: ["OUTREACH_CSV_MAX_FIELD_BYTES": "2KiB"])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("line 2: a value is longer than 2 KiB, the most one cell may hold"), "\(refused.output)")
            #expect(refused.stderr.contains("OUTREACH_CSV_MAX_FIELD_BYTES"), "\(refused.output)")
            #expect(!refused.output.contains("never closed"), "\(refused.output)")

            let wrong = try cli.run(["campaign", "import", "Long", csv, "--account", Self.sender.email], extraEnvironment: ["OUTREACH_CSV_MAX_FIELD_BYTES": "lots"])
            #expect(wrong.status != 0)
            #expect(wrong.stderr.contains("OUTREACH_CSV_MAX_FIELD_BYTES=lots: give a size in bytes"), "\(wrong.output)")

            let accepted = try cli.run(["campaign", "import", "Long", csv, "--account", Self.sender.email])
            #expect(accepted.status == 0, "\(accepted.output)")
        }
    }

    /// A sandbox with the sender as its account (campaigns need one), on servers that run while `body` does.
    static func withAccount(_ body: (OutreachSandbox) throws -> Void) throws {
        let servers = try MailServers(users: [sender])
        defer { servers.stop() }
        let cli = try OutreachSandbox()
        defer { cli.remove() }
        try cli.initialize(sender: sender, servers: servers)
        try body(cli)
    }
}
