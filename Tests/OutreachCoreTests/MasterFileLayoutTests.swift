import Testing

@testable import OutreachCore

/// Reads a whole file the way an import does: header → layout, every other record → report.
private func importFile(_ text: String, detailLimit: Int = ImportReport.defaultDetailLimit) throws -> (MasterFileLayout, [ImportedProspect], ImportReport) {
    try importFile(Array(text.utf8), detailLimit: detailLimit)
}

private func importFile(_ bytes: [UInt8], detailLimit: Int = ImportReport.defaultDetailLimit) throws -> (MasterFileLayout, [ImportedProspect], ImportReport) {
    var parser = CSVParser()
    var records = try parser.feed(bytes)
    try parser.finish(into: &records)
    guard let header = records.first else { throw MasterFileError.emptyFile }
    let layout = try MasterFileLayout(header: header)
    var report = ImportReport(layout: layout, detailLimit: detailLimit)
    var prospects: [ImportedProspect] = []
    var seen: [String: Int] = [:]
    for record in records.dropFirst() {
        switch layout.prospect(from: record) {
        case .success(let prospect):
            if let firstRow = seen[prospect.email.normalized] {
                report.recordDuplicate(of: prospect, firstRow: firstRow)
            } else {
                seen[prospect.email.normalized] = prospect.row
                prospects.append(prospect)
                report.record(.success(prospect))
            }
        case .failure(let problem):
            report.record(.failure(problem))
        }
    }
    report.note(parser)
    return (layout, prospects, report)
}

private func record(_ fields: [String], row: Int = 1) -> CSVRecord {
    CSVRecord(fields: fields, index: row, line: row + 1)
}

@Suite("Master file layout and import report")
struct MasterFileLayoutTests {
    @Test("Spreadsheet headers find their roles; a second FirstName is kept as first_2")
    func roles() throws {
        let layout = try MasterFileLayout(headers: ["First Name", "E-mail Address", "Company Name", "FirstName", "Last", "Selected", "AB Variant"])
        #expect(layout.emailColumn == 1)
        #expect(layout.firstColumn == 0)
        #expect(layout.companyColumn == 2)
        #expect(layout.lastColumn == 4)
        #expect(layout.selectColumn == 5)
        #expect(layout.variantColumn == 6)
        #expect(layout.columns.map(\.header) == ["First Name", "E-mail Address", "Company Name", "FirstName", "Last", "Selected", "AB Variant"])
        #expect(layout.columns.map(\.key) == ["first", "email", "company", "first_2", "last", "select", "variant"])
        #expect(layout.renamedColumns.map(\.index) == [3])
        #expect(layout.renamedColumns.first?.duplicateOf == 0)

        let prospect = try layout.prospect(from: record(["Ann", " ann@example.com ", "ACME", "Annie", "Lee", "yes", " B "])).get()
        #expect(prospect.email.normalized == "ann@example.com")
        #expect(prospect[.first] == "Ann")
        #expect(prospect["first_2"] == "Annie")
        #expect(prospect.select)
        #expect(prospect.variant == "B")
        #expect(prospect.warnings.isEmpty)

        let report = ImportReport(layout: layout)
        #expect(report.summary().contains("Column D \"FirstName\" means first like column A: column A is used, column D was kept as first_2."))
    }

    @Test("Disambiguated keys never collide with a real column")
    func duplicateKeys() throws {
        let layout = try MasterFileLayout(headers: ["email", "Email", "email_2", "", ""])
        #expect(layout.columns.map(\.key) == ["email", "email_3", "email_2", "column_4", "column_5"])
        #expect(layout.emailColumn == 0)
        #expect([0, 25, 26, 701, 702].map(MasterFileLayout.Column.letter(at:)) == ["A", "Z", "AA", "ZZ", "AAA"])
    }

    @Test("No email column: the error lists the headers and says what to name the column")
    func noEmail() {
        #expect(throws: MasterFileError.noEmailColumn(headers: ["Name", "Firma", "Mail Addr"])) {
            try MasterFileLayout(headers: ["Name", "Firma", "Mail Addr"])
        }
        let message = MasterFileError.noEmailColumn(headers: ["Name", "Firma", "Mail Addr"]).description
        #expect(message.contains("\"Name\", \"Firma\", \"Mail Addr\""))
        #expect(message.contains("email, e-mail or email address"))
        let headerless = MasterFileError.noEmailColumn(headers: ["Ann", "ann@example.com"]).description
        #expect(headerless.contains("the first row holds data ('ann@example.com')"))
    }

    @Test("An Outreach round log is refused with directions to the master file")
    func roundLog() throws {
        #expect(throws: MasterFileError.roundLog) { try MasterFileLayout(headers: MasterFileLayout.roundLogHeader) }
        let log = MasterFileLayout.roundLogHeader.joined(separator: ",") + "\r\nspring,2,1,a@x.com,sent,<m1@x>,<t1@x>,2026-03-01T09:00:00Z,250,OK\r\n"
        #expect(throws: MasterFileError.roundLog) { try importFile(log) }
        // Spelled as a spreadsheet would after a round trip through Excel.
        #expect(throws: MasterFileError.roundLog) { try MasterFileLayout(headers: ["Email", "Round", "Status", "Message-ID"]) }
        let message = MasterFileError.roundLog.description
        #expect(message.contains("outreach campaign export NAME"))
        #expect(message.contains("master file"))
        // A master export's own per-round columns are not a log.
        #expect(throws: Never.self) { try MasterFileLayout(headers: ["email", "r1_message_id", "r1_status", "status"]) }
    }

    @Test("Per-round metadata columns are recognized by round and field", arguments: [
        ("r1_message_id", 1, RoundMetadataColumn.Field.messageID),
        ("R2 Thread Key", 2, .threadKey),
        ("r10Status", 10, .status),
        ("r3_sent_at", 3, .sentAt),
    ])
    func roundMetadata(header: String, round: Int, field: RoundMetadataColumn.Field) {
        let column = MasterFileLayout.roundMetadata(of: ColumnKey(normalizing: header))
        #expect(column == RoundMetadataColumn(round: round, field: field))
        #expect(column?.key == ColumnKey(normalizing: header))
    }

    @Test("Columns that only look like round metadata are prospect fields", arguments: ["r0_status", "r1_notes", "round_status", "r1", "r01_status", "rx_status", "status"])
    func notRoundMetadata(header: String) {
        #expect(MasterFileLayout.roundMetadata(of: ColumnKey(normalizing: header)) == nil)
    }

    @Test("Re-importing a master export round-trips: metadata apart, formula guard undone, headers as written")
    func exportRoundTrip() throws {
        let writer = CSVWriter()
        let headers = ["Email", "First Name", "Notes", "r1_message_id", "r1_thread_key", "r1_status", "r1_sent_at", "r2_status"]
        let export = writer.line(headers)
            + writer.line(["ann@example.com", "Ann", "=1+2, \"quoted\"", "<a1@mail.example>", "<a1@mail.example>", "sent", "2026-03-01T09:00:00Z", ""])
            + writer.line(["bob@example.com", "Bob", "-not a number", "", "", "skipped", "", ""])
        let (layout, prospects, report) = try importFile(export)
        #expect(layout.columns.map(\.header) == headers)
        #expect(layout.prospectColumns.map(\.key) == ["email", "first", "notes"])
        #expect(layout.roundMetadataColumns.compactMap(\.roundMetadata).map(\.key) == ["r1_message_id", "r1_thread_key", "r1_status", "r1_sent_at", "r2_status"])
        #expect(prospects.count == 2)
        #expect(prospects[0].fields == ["email": "ann@example.com", "first": "Ann", "notes": "=1+2, \"quoted\""])
        #expect(
            prospects[0].roundMetadata == [
                RoundMetadataColumn(round: 1, field: .messageID): "<a1@mail.example>",
                RoundMetadataColumn(round: 1, field: .threadKey): "<a1@mail.example>",
                RoundMetadataColumn(round: 1, field: .status): "sent",
                RoundMetadataColumn(round: 1, field: .sentAt): "2026-03-01T09:00:00Z",
            ])
        #expect(prospects[1].fields["notes"] == "-not a number")
        #expect(prospects[1].roundMetadata == [RoundMetadataColumn(round: 1, field: .status): "skipped"])
        #expect(!report.hasIssues)
    }

    @Test("Every cell a spreadsheet could run as a formula is written with an apostrophe and imports back unchanged", arguments: [
        "-1+cmd|' /C calc'!A0", "+1", "-2 (x)", "@SUM(A1)", "\tx", "\rx", "=1", "+49 30 1234", "-5", "'=1", "''+2",
    ])
    func formulaGuardRoundTrip(value: String) throws {
        let writer = CSVWriter()
        let export = writer.line(["email", "notes"]) + writer.line(["ann@example.com", value])
        let cell = try #require(try CSVParser.parse(Array(export.utf8)).last?.fields.last)
        #expect(cell == "'" + value)
        let (_, prospects, report) = try importFile(export)
        #expect(prospects.first?.fields["notes"] == value)
        #expect(!report.hasIssues)
    }

    @Test("Cells that cannot start a formula are written as they are, and a leading apostrophe of one's own stays", arguments: [
        "Ann", "1+2", "'quoted'", "'", "' =1", "x=1",
    ])
    func formulaGuardLeavesOthers(value: String) throws {
        let writer = CSVWriter()
        let export = writer.line(["email", "notes"]) + writer.line(["ann@example.com", value])
        #expect(try CSVParser.parse(Array(export.utf8)).last?.fields.last == value)
        let (_, prospects, _) = try importFile(export)
        #expect(prospects.first?.fields["notes"] == value)
    }

    @Test("Select cells", arguments: [
        ("1", true), ("yes", true), ("Y", true), ("TRUE", true), ("x", true), ("✓", true), (" X ", true),
        ("", false), ("0", false), ("no", false), ("FALSE", false),
    ])
    func select(cell: String, selected: Bool) throws {
        let layout = try MasterFileLayout(headers: ["email", "select"])
        let prospect = try layout.prospect(from: record(["a@x.com", cell])).get()
        #expect(prospect.select == selected)
        #expect(prospect.warnings.isEmpty)
    }

    @Test("An unrecognized select value imports the row as not selected, with a warning")
    func unrecognizedSelect() throws {
        let layout = try MasterFileLayout(headers: ["email", "select"])
        let prospect = try layout.prospect(from: record(["a@x.com", "maybe"], row: 4)).get()
        #expect(!prospect.select)
        #expect(prospect.warnings == [ImportProblem(row: 4, line: 5, kind: .unrecognizedSelect(value: "maybe"))])
    }

    @Test("Ragged rows: short rows get empty values, long rows keep the extras, trailing empty cells are no problem")
    func ragged() throws {
        let layout = try MasterFileLayout(headers: ["email", "first", "company"])
        let short = try layout.prospect(from: record(["a@x.com", "Ann"])).get()
        #expect(short.fields == ["email": "a@x.com", "first": "Ann", "company": ""])
        #expect(short.warnings.map(\.kind) == [.raggedRow(fieldCount: 2, columnCount: 3)])

        let long = try layout.prospect(from: record(["a@x.com", "Ann", "ACME", "Berlin", "", "x"])).get()
        #expect(long.fields["extra_1"] == "Berlin")
        #expect(long.fields["extra_2"] == "")
        #expect(long.fields["extra_3"] == "x")
        #expect(long.warnings.map(\.kind) == [.raggedRow(fieldCount: 6, columnCount: 3)])

        let trailing = try layout.prospect(from: record(["a@x.com", "Ann", "ACME", "", " "])).get()
        #expect(trailing.warnings.isEmpty)
        #expect(trailing.fields.count == 3)
    }

    @Test("Every reason a row is not imported", arguments: [
        (["", " ", ""], ImportProblem.Kind.blankRow),
        (["Ann", "ACME", "  "], .emptyEmail),
        (["Ann"], .missingEmail(fieldCount: 1, columnCount: 3)),
        (["Bob", "", "bob@@example.com"], .invalidEmail(value: "bob@@example.com", reason: .badLocalPart("bob@@example.com"))),
        (["Bob", "", " bob.example.com"], .invalidEmail(value: "bob.example.com", reason: .missingAt("bob.example.com"))),
    ])
    func rejected(fields: [String], kind: ImportProblem.Kind) throws {
        let layout = try MasterFileLayout(headers: ["first", "company", "email"])
        let outcome = layout.prospect(from: record(fields, row: 17))
        #expect(outcome == .failure(ImportProblem(row: 17, line: 18, kind: kind)))
        #expect(ImportProblem(row: 17, line: 18, kind: kind).rejectsRow)
    }

    @Test("The report counts every row and tells the operator what to fix")
    func reportSummary() throws {
        let file = """
            email,first,select
            ann@example.com,Ann,yes
            bob@@example.com,Bob,
            ,Cy,
            ann@example.com,Ann again,
            dan@example.com,Dan,maybe
            eve@example.com
            ,,
            fay@example.com,Fay,1,extra

            """
        let (_, prospects, report) = try importFile(file)
        #expect(prospects.map(\.email.normalized) == ["ann@example.com", "dan@example.com", "eve@example.com", "fay@example.com"])
        #expect(report.rowsRead == 8)
        #expect(report.imported == 4)
        #expect(report.invalidEmails == 1)
        #expect(report.emptyEmails == 1)
        #expect(report.duplicates == 1)
        #expect(report.blankRows == 1)
        #expect(report.raggedRows == 2)
        #expect(report.unrecognizedSelects == 1)
        #expect(report.notImported == report.invalidEmails + report.emptyEmails + report.duplicates + report.blankRows)

        let summary = report.summary()
        #expect(summary.hasPrefix("Read 8 rows: 4 imported, 4 not imported."))
        #expect(summary.contains("row 2 (line 3): 'bob@@example.com' is not a valid address (the part before the @ has characters addresses cannot have) — fix it in the CSV and import again"))
        #expect(summary.contains("row 3 (line 4): the email cell is empty"))
        #expect(summary.contains("row 4 (line 5): ann@example.com is already in row 1"))
        #expect(summary.contains("row 5 (line 6): select is 'maybe'"))
        #expect(summary.contains("row 6 (line 7): 1 value where the header has 3 columns — the missing ones were left empty"))
        #expect(summary.contains("row 8 (line 9): 4 values where the header has 3 columns — the 1 extra value was kept as extra_1"))
        #expect(summary.contains("1 blank row"))
    }

    @Test("A broken million-row file does not fill memory: details are capped, the rest counted")
    func cappedDetails() throws {
        var report = ImportReport(detailLimit: 3)
        for row in 1...10 {
            report.record(.failure(ImportProblem(row: row, line: row + 1, kind: .emptyEmail)))
        }
        report.record(.failure(ImportProblem(row: 11, line: 12, kind: .invalidEmail(value: "x", reason: .missingAt("x")))))
        #expect(report.rowsRead == 11)
        #expect(report.emptyEmails == 10)
        #expect(report.problems.count == 4)
        #expect(report.omitted(.emptyEmail) == 7)
        let summary = report.summary(linesPerCategory: 2)
        #expect(summary.contains("10 rows without an email:"))
        #expect(summary.contains("row 2 (line 3)"))
        #expect(!summary.contains("row 3 (line 4)"))
        #expect(summary.contains("… and 8 more"))
        #expect(summary.contains("1 invalid address:"))
    }

    @Test("A Windows-1252 export with semicolons imports with its accents and says so")
    func windows1252Import() throws {
        var file = Array("E-Mail;Vorname;Firma\r\nm@example.de;J".utf8) + [0xFC] + Array("rgen;M".utf8) + [0xFC] + Array("ller & S".utf8) + [0xF6]
        file += Array("hne\r\n".utf8)
        let (_, prospects, report) = try importFile(file)
        #expect(prospects.first?.fields == ["email": "m@example.de", "first": "Jürgen", "company": "Müller & Söhne"])
        #expect(report.encoding == .windows1252)
        #expect(report.windows1252Fields == 2)
        let summary = report.summary()
        #expect(summary.contains("The file is Windows-1252"))
        #expect(summary.contains("2 fields were not UTF-8 and were read as Windows-1252"))
        #expect(summary.contains("Values are separated by ';'."))
    }

    @Test("Addresses with invisible characters are refused at import and reported by row, the character named and escaped")
    func invisibleCharactersInAddresses() throws {
        let hidden: [(String, String)] = [
            ("p1@pros\u{FEFF}pects.test", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
            ("p2@prospects.test\u{200B}", "U+200B ZERO WIDTH SPACE"),
            ("p3@pros\u{00AD}pects.test", "U+00AD SOFT HYPHEN"),
            ("p4@prospects.test\u{00AD}", "U+00AD SOFT HYPHEN"),
            ("p5\u{200B}@prospects.test", "U+200B ZERO WIDTH SPACE"),
            ("p6@prospects\u{2060}.test", "U+2060 WORD JOINER"),
            ("p7@pro\u{200C}spects.test", "U+200C ZERO WIDTH NON-JOINER"),
            ("p8@prospects.test\u{200E}", "U+200E LEFT-TO-RIGHT MARK"),
        ]
        let file = "email,name\n" + hidden.map { "\($0.0),x\n" }.joined() + "p9@bücher.test,ok\n"
        let (_, prospects, report) = try importFile(file)
        #expect(prospects.map(\.email.description) == ["p9@bücher.test"])
        #expect(report.invalidEmails == hidden.count)
        let summary = report.summary()
        for (row, (address, name)) in hidden.enumerated() {
            let shown = address.visiblyEscaped
            #expect(summary.contains("row \(row + 1) (line \(row + 2)): '\(shown)' holds an invisible character, \(name)"), "\(summary)")
        }
        #expect(!summary.unicodeScalars.contains { $0.isInvisible }, "\(summary)")
    }

    @Test("A trailing byte order mark is trimmed like white space, so that address imports as it would be sent")
    func trailingByteOrderMark() throws {
        let (_, prospects, _) = try importFile("email\np1@prospects.test\u{FEFF}\n")
        #expect(prospects.map(\.email.wireForm) == ["p1@prospects.test"])
    }

    @Test("A row with a NUL or another control character in any cell is refused, naming the row and the column, never echoing the byte")
    func controlCharactersInValues() throws {
        var bytes = Array("email,First Name,Notes\r\n".utf8)
        bytes += Array("a@x.test,Ann,fine\r\n".utf8)
        bytes += Array("b@x.test,Bo".utf8) + [0x00] + Array("b,note\r\n".utf8)
        bytes += Array("c@x.test,Cy,\"two\r\nlines\ttabbed\"\r\n".utf8)
        bytes += Array("d@x.test,Di,esc".utf8) + [0x1B] + Array("[31mred\r\n".utf8)
        bytes += Array("e@x.te".utf8) + [0x07] + Array("st,Ed,x\r\n".utf8)
        bytes += Array("f@x.test,Fy,c1 ".utf8) + [0xC2, 0x85] + Array("\r\n".utf8)
        let (_, prospects, report) = try importFile(bytes)
        #expect(prospects.map(\.email.description) == ["a@x.test", "c@x.test"])
        #expect(prospects.last?.fields["notes"] == "two\r\nlines\ttabbed")
        #expect(report.count(of: .controlCharacter) == 4)
        let summary = report.summary()
        #expect(summary.contains("4 rows with control characters:"), "\(summary)")
        #expect(summary.contains("row 2 (line 3): column B 'First Name' holds a control character, U+0000 NUL, the mark of a damaged file"), "\(summary)")
        #expect(summary.contains("row 4 (line 6): column C 'Notes' holds a control character, U+001B ESC"), "\(summary)")
        #expect(summary.contains("row 5 (line 7): column A 'email' holds a control character, U+0007 BEL"), "\(summary)")
        #expect(summary.contains("row 6 (line 8): column C 'Notes' holds a control character, U+0085"), "\(summary)")
        #expect(!summary.unicodeScalars.contains { $0.isControlCharacter && $0 != "\n" }, "\(summary)")
    }

    @Test("Headers with control characters are shown escaped when no email column is found")
    func controlCharactersInHeaders() {
        let error = MasterFileError.noEmailColumn(headers: ["na\u{0}me", "\u{1B}[2Jcompany"])
        #expect(error.description.contains("\"na\\u{0}me\", \"\\u{1B}[2Jcompany\""), "\(error)")
    }
}


struct ColumnKeyTests {
    @Test("the byte path for ASCII names gives what the Character path gives, on every kind of header")
    func asciiPathMatches() {
        var generator = RetryBackoffTests.SeededGenerator(state: 11)
        let alphabet = Array("aZ9_ -.Ab1cDEFfgH(x)/\t&")
        var names = ["FirstName", "HTMLTitle", "E-mail Address", "Job Title", "address2Line", "__x__", "", "ABC123def", "first_name", "a1B2c3"]
        for _ in 0..<2_000 {
            let length = Int(generator.next() % 14)
            names.append(String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }))
        }
        for name in names {
            #expect(ColumnKey.normalizedASCII(name) == ColumnKey.normalizedCharacters(name), "\(name)")
        }
        #expect(ColumnKey.normalizedASCII("Vorname ü") == nil)
        #expect(ColumnKey(normalizing: "First Name") == .first && ColumnKey(normalizing: "Prénom") == .first)
    }
}
