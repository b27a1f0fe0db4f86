import Foundation
import Testing

@testable import OutreachCore

/// Parses `bytes` fed in the chunks `cuts` splits it into, and returns the records with the parser's findings.
private func parse(
    _ bytes: [UInt8], cuts: [Int] = [], delimiter: UInt8? = nil, encoding: TextEncoding? = nil, sampleLength: Int = CSVParser.defaultSampleLength,
    maximumFieldLength: Int = CSVParser.defaultMaximumFieldLength
) throws -> (records: [CSVRecord], parser: CSVParser) {
    var parser = CSVParser(delimiter: delimiter, encoding: encoding, maximumFieldLength: maximumFieldLength, sampleLength: sampleLength)
    var records: [CSVRecord] = []
    var start = 0
    for cut in cuts + [bytes.count] {
        records += try parser.feed(Array(bytes[start..<cut]))
        start = cut
    }
    records += try parser.finish()
    return (records, parser)
}

private func fields(_ records: [CSVRecord]) -> [[String]] { records.map(\.fields) }

private func utf16(_ text: String, bigEndian: Bool, byteOrderMark: Bool = true) -> [UInt8] {
    var bytes: [UInt8] = byteOrderMark ? (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) : []
    for unit in text.utf16 {
        let (high, low) = (UInt8(unit >> 8), UInt8(unit & 0xFF))
        bytes += bigEndian ? [high, low] : [low, high]
    }
    return bytes
}

/// A file with every construct the state machine has: quoted delimiters, CRLF / LF / lone CR inside and outside
/// quotes, doubled quotes, text after a closing quote, a literal quote in an unquoted field, multi-byte UTF-8, blank
/// lines, a trailing delimiter and no final line break.
private let tricky = Array(
    "email,name,note\r\n\"a@x.com\",\"Zoë \"\"Z\"\" Ähm\",\"two\r\nlines, and\rmore\"\r\n\r\nb@x.com,5\" disk,\"abc\"def\n\rc@x.com,,trailing,\r\"d@x.com\",\"\",\"end\"".utf8)
private let trickyFields = [
    ["email", "name", "note"],
    ["a@x.com", "Zoë \"Z\" Ähm", "two\r\nlines, and\rmore"],
    ["b@x.com", "5\" disk", "abcdef"],
    ["c@x.com", "", "trailing", ""],
    ["d@x.com", "", "end"],
]
private let trickyLines = [1, 2, 6, 8, 9]

@Suite("CSV parser")
struct CSVParserTests {
    @Test("A messy Excel export: BOM, semicolons, quoted newline, doubled quotes, CRLF")
    func excelExport() throws {
        let file = [0xEF, 0xBB, 0xBF]
            + Array(
                ("E-mail Address;First Name;Company Name;Notes\r\n"
                    + "anna@example.com;Anna;\"Müller; Söhne GmbH\";\"Met at the fair,\r\ncall back in May\"\r\n"
                    + "bob@example.com;Bob;\"The \"\"Best\"\" Co\";\r\n").utf8)
        let (records, parser) = try parse(file)
        #expect(parser.delimiter == UInt8(ascii: ";"))
        #expect(parser.encoding == .utf8)
        #expect(parser.windows1252FieldCount == 0)
        #expect(
            fields(records) == [
                ["E-mail Address", "First Name", "Company Name", "Notes"],
                ["anna@example.com", "Anna", "Müller; Söhne GmbH", "Met at the fair,\r\ncall back in May"],
                ["bob@example.com", "Bob", "The \"Best\" Co", ""],
            ])
        #expect(records.map(\.index) == [0, 1, 2])
        #expect(records.map(\.line) == [1, 2, 4], "the record after a two-line cell starts on line 4")
    }

    @Test("Every construct, in one chunk and fed one byte at a time")
    func trickyFile() throws {
        for cuts in [[], Array(1..<tricky.count)] {
            let (records, _) = try parse(tricky, cuts: cuts, sampleLength: 3)
            #expect(fields(records) == trickyFields)
            #expect(records.map(\.line) == trickyLines)
            #expect(records.map(\.index) == [0, 1, 2, 3, 4])
        }
    }

    @Test("A record split across two feeds at every byte offset reads the same")
    func everySplit() throws {
        for cut in 0...tricky.count {
            let detected = try parse(tricky, cuts: [cut], sampleLength: 3)
            #expect(fields(detected.records) == trickyFields, "cut at \(cut)")
            #expect(detected.records.map(\.line) == trickyLines, "cut at \(cut)")
            let given = try parse(tricky, cuts: [cut], delimiter: UInt8(ascii: ","), encoding: .utf8)
            #expect(fields(given.records) == trickyFields, "cut at \(cut), dialect given")
        }
    }

    @Test("Three chunks: every pair of cut points")
    func everyPairOfSplits() throws {
        let file = Array("e,n\r\n\"a\"\"b\",\"c\r\nd\"\r\nx,\"ü\"y\r\n".utf8)
        let expected = [["e", "n"], ["a\"b", "c\r\nd"], ["x", "üy"]]
        for first in 0...file.count {
            for second in first...file.count {
                let (records, _) = try parse(file, cuts: [first, second], delimiter: UInt8(ascii: ","), encoding: .utf8)
                #expect(fields(records) == expected, "cuts at \(first), \(second)")
                #expect(records.map(\.line) == [1, 2, 4], "cuts at \(first), \(second)")
            }
        }
    }

    @Test("Random files written per RFC 4181 read back exactly, whatever the chunk sizes")
    func randomRoundTrip() throws {
        var random = SplitMix64(seed: 0x5EED)
        let alphabet: [String] = ["a", "Z", "0", " ", ",", ";", "\"", "\r", "\n", "\r\n", "ü", "€", "🚀", "\t", "'"]
        for _ in 0..<200 {
            let width = Int(random.next() % 4) + 2
            let table = (0..<Int(random.next() % 6) + 1).map { _ in
                (0..<width).map { _ in (0..<Int(random.next() % 6)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }.joined() }
            }
            var text = ""
            for row in table {
                text += row.map { field in
                    field.contains(where: { ",\"\r\n".contains($0) }) || field.unicodeScalars.contains("\r") || field.unicodeScalars.contains("\n")
                        ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
                }.joined(separator: ",") + (random.next() % 2 == 0 ? "\r\n" : "\n")
            }
            let bytes = Array(text.utf8)
            var cuts: [Int] = []
            var at = 0
            while true {
                at += Int(random.next() % 9) + 1
                if at >= bytes.count { break }
                cuts.append(at)
            }
            let (records, _) = try parse(bytes, cuts: cuts, delimiter: UInt8(ascii: ","), encoding: .utf8)
            #expect(fields(records) == table, "\(text.debugDescription) cut at \(cuts)")
        }
    }

    @Test("Lone CR line ends (old Mac Excel), LF, blank lines and a missing final line break")
    func lineEnds() throws {
        let (records, _) = try parse(Array("email\ra@x.com\r\rb@x.com\n\n\nc@x.com".utf8))
        #expect(fields(records) == [["email"], ["a@x.com"], ["b@x.com"], ["c@x.com"]])
        #expect(records.map(\.line) == [1, 2, 4, 7])
    }

    @Test("Blank lines are not records; a row of delimiters is")
    func blankLines() throws {
        let (records, _) = try parse(Array("a,b\r\n\r\n\r\n,\r\n".utf8))
        #expect(fields(records) == [["a", "b"], ["", ""]])
        #expect(records.map(\.index) == [0, 1])
    }

    @Test("Windows-1252 bytes are read as Windows-1252: Müller, €, typographic quotes")
    func windows1252() throws {
        // "email;name;note" / "m@x.de;Müller;„Angebot“ 5 €" in Windows-1252.
        var file = Array("email;name;note\r\nm@x.de;M".utf8) + [0xFC] + Array("ller;".utf8)
        file += [0x84] + Array("Angebot".utf8) + [0x93, 0x20, 0x35, 0x20, 0x80] + Array("\r\nplain@x.de;Plain;ok\r\n".utf8)
        let (records, parser) = try parse(file)
        #expect(parser.encoding == .windows1252)
        #expect(parser.delimiter == UInt8(ascii: ";"))
        #expect(fields(records)[1] == ["m@x.de", "Müller", "„Angebot“ 5 €"])
        #expect(fields(records)[2] == ["plain@x.de", "Plain", "ok"])
        #expect(parser.windows1252FieldCount == 2, "only the two fields with non-UTF-8 bytes")
    }

    @Test("A Windows-1252 field after the sample of a UTF-8 file is read as Windows-1252 and counted")
    func windows1252AfterSample() throws {
        var file = Array("email,name\n".utf8)
        var row = 0
        while file.count < CSVParser.defaultSampleLength + 1000 {
            file += Array("p\(row)@x.com,Zoë\n".utf8)
            row += 1
        }
        file += Array("late@x.com,M".utf8) + [0xFC] + Array("ller\n".utf8)
        let (records, parser) = try parse(file, cuts: Array(stride(from: 4096, to: file.count, by: 4096)))
        #expect(parser.encoding == .utf8)
        #expect(records.count == row + 2)
        #expect(records[1].fields == ["p0@x.com", "Zoë"])
        #expect(records.last?.fields == ["late@x.com", "Müller"])
        #expect(parser.windows1252FieldCount == 1)
    }

    @Test("Windows-1252 given explicitly reads every byte as Windows-1252")
    func windows1252Given() throws {
        // C3 A9 is "é" in UTF-8 but "Ã©" in Windows-1252.
        let (records, parser) = try parse([0x61, 0xC3, 0xA9, 0x0A], delimiter: UInt8(ascii: ","), encoding: .windows1252)
        #expect(records.map(\.fields) == [["aÃ©"]])
        #expect(parser.windows1252FieldCount == 1)
    }

    @Test("The Windows-1252 table: 0x80–0x9F, the undefined five as C1 controls, 0xA0–0xFF as Latin-1")
    func windows1252Table() {
        let high = TextDecoding.windows1252String(Array(0x80...0x9F))
        #expect(high == "€\u{81}‚ƒ„…†‡ˆ‰Š‹Œ\u{8D}Ž\u{8F}\u{90}‘’“”•–—˜™š›œ\u{9D}žŸ")
        let latin = TextDecoding.windows1252String(Array(0xA0...0xFF))
        #expect(latin.unicodeScalars.map(\.value) == Array(0xA0...0xFF))
        #expect(TextDecoding.windows1252String(Array("plain".utf8)) == "plain")
    }

    @Test("UTF-16 LE with BOM (Excel Unicode text), tab-delimited, fed in chunks that split code units and surrogate pairs")
    func utf16LittleEndian() throws {
        let text = "E-mail Address\tFirst Name\r\nzoe@x.com\tZoë 🚀\r\nhans@x.de\t\"Groß\tKlein\"\r\n"
        let file = utf16(text, bigEndian: false)
        let expected = [["E-mail Address", "First Name"], ["zoe@x.com", "Zoë 🚀"], ["hans@x.de", "Groß\tKlein"]]
        let (records, parser) = try parse(file)
        #expect(parser.encoding == .utf16LittleEndian)
        #expect(parser.delimiter == UInt8(ascii: "\t"))
        #expect(fields(records) == expected)
        #expect(records.map(\.line) == [1, 2, 3])
        // A tiny sample makes the parser start after eight bytes, so every later chunk goes through the transcoder.
        for chunk in 1...7 {
            let (records, parser) = try parse(
                file, cuts: Array(stride(from: chunk, to: file.count, by: chunk)), delimiter: UInt8(ascii: "\t"), sampleLength: 3)
            #expect(parser.encoding == .utf16LittleEndian)
            #expect(fields(records) == expected, "chunks of \(chunk)")
        }
    }

    @Test("UTF-16 BE with BOM, and UTF-16 LE without one")
    func utf16Variants() throws {
        let text = "email,name\nann@x.com,Ann Ørsted\n"
        let big = try parse(utf16(text, bigEndian: true))
        #expect(big.parser.encoding == .utf16BigEndian)
        #expect(fields(big.records) == [["email", "name"], ["ann@x.com", "Ann Ørsted"]])
        let bare = try parse(utf16(text, bigEndian: false, byteOrderMark: false))
        #expect(bare.parser.encoding == .utf16LittleEndian)
        #expect(fields(bare.records) == [["email", "name"], ["ann@x.com", "Ann Ørsted"]])
    }

    @Test("UTF-16 transcoding keeps surrogate pairs across every chunk boundary and replaces broken ones")
    func transcoder() {
        let text = "a🚀b€"
        let bytes = utf16(text, bigEndian: false, byteOrderMark: false)
        for cut in 0...bytes.count {
            var transcoder = UTF16Transcoder(bigEndian: false)
            var out: [UInt8] = []
            transcoder.transcode(Array(bytes[..<cut]), appendingTo: &out)
            transcoder.transcode(Array(bytes[cut...]), appendingTo: &out)
            transcoder.finish(appendingTo: &out)
            #expect(String(decoding: out, as: UTF8.self) == text, "cut at \(cut)")
            #expect(transcoder.replacementCount == 0)
        }
        // A high surrogate followed by a letter, a lone low surrogate, and an odd last byte.
        var transcoder = UTF16Transcoder(bigEndian: true)
        var out: [UInt8] = []
        transcoder.transcode([0xD8, 0x3D, 0x00, 0x41, 0xDC, 0x00, 0x00], appendingTo: &out)
        transcoder.finish(appendingTo: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\u{FFFD}A\u{FFFD}\u{FFFD}")
        #expect(transcoder.replacementCount == 3)
    }

    @Test("A quote that is never closed is an error naming the line where it opened")
    func unterminatedQuote() throws {
        let file = Array("email,name\r\na@x.com,Ann\r\nb@x.com,\"Bob\r\nc@x.com,Cy\r\n".utf8)
        #expect(throws: CSVError.unterminatedQuote(line: 3)) { try parse(file) }
        for cut in 0...file.count {
            #expect(throws: CSVError.unterminatedQuote(line: 3)) { try parse(file, cuts: [cut], sampleLength: 3) }
        }
        #expect(CSVError.unterminatedQuote(line: 3).description.hasPrefix("line 3: a quoted field starts here and is never closed"))
    }

    @Test("A runaway quoted field is kept no longer than the limit and reported as the quote that is never closed")
    func runawayQuote() throws {
        var file = Array("email,note\na@x.com,\"".utf8)
        file += Array(repeating: UInt8(ascii: "x"), count: 5000)
        file += Array("\nb@x.com,ok\n".utf8)
        #expect(throws: CSVError.unterminatedQuote(line: 2)) {
            try parse(file, cuts: Array(stride(from: 100, to: file.count, by: 100)), sampleLength: 3, maximumFieldLength: 1024)
        }
        #expect(throws: CSVError.unterminatedQuote(line: 2)) { try parse(file, maximumFieldLength: 1024) }
    }

    @Test("A closed field over the limit is refused with the limit in words, without the unclosed-quote hint")
    func fieldTooLong() throws {
        for quoted in [true, false] {
            var file = Array("email,note\na@x.com,\(quoted ? "\"" : "")".utf8)
            file += Array(repeating: UInt8(ascii: "x"), count: 5000)
            if quoted { file += Array("\"\"x".utf8) + [UInt8(ascii: "\"")] }
            file += Array("\nb@x.com,ok\n".utf8)
            #expect(throws: CSVError.fieldTooLong(line: 2, limit: 1024)) {
                try parse(file, cuts: Array(stride(from: 100, to: file.count, by: 100)), sampleLength: 3, maximumFieldLength: 1024)
            }
            #expect(throws: CSVError.fieldTooLong(line: 2, limit: 1024)) { try parse(file, maximumFieldLength: 1024) }
            #expect(try parse(file, maximumFieldLength: 8192).records[1].fields[1].count >= 5000)
        }
    }

    @Test("A closed 5 MB quoted field: the default limit, 1 MiB, is named with the setting that changes it")
    func fiveMegabyteField() throws {
        let file = Array("email,note\na@x.com,\"".utf8) + Array(repeating: UInt8(ascii: "x"), count: 5_000_000) + Array("\"\n".utf8)
        let error = try #require(throws: CSVError.self) { try parse(file, cuts: Array(stride(from: 1 << 16, to: file.count, by: 1 << 16))) }
        #expect(error == .fieldTooLong(line: 2, limit: 1 << 20))
        #expect(error.description == "line 2: a value is longer than 1 MiB, the most one cell may hold — shorten it, or raise the limit with OUTREACH_CSV_MAX_FIELD_BYTES if the file really needs such cells")
        #expect(!error.description.contains("never closed"))
        #expect(CSVError.fieldTooLong(line: 1, limit: 512 << 10).description.contains("longer than 512 KiB"))
        #expect(CSVError.fieldTooLong(line: 1, limit: 1000).description.contains("longer than 1000 bytes"))
    }

    @Test("OUTREACH_CSV_MAX_FIELD_BYTES sets the cell limit, in bytes or with a unit", arguments: [
        ("", 1 << 20), ("2097152", 2 << 20), ("512KiB", 512 << 10), ("4 MiB", 4 << 20), ("8m", 8 << 20), ("64K", 64 << 10),
    ])
    func maximumFieldBytesSetting(value: String, bytes: Int) throws {
        #expect(try CSVImportSettings(settings: ["OUTREACH_CSV_MAX_FIELD_BYTES": value]).maximumFieldBytes == bytes)
    }

    @Test("A wrong OUTREACH_CSV_MAX_FIELD_BYTES is refused with an example", arguments: ["0", "-1", "lots", "5GiB", "1.5MiB"])
    func badMaximumFieldBytesSetting(value: String) {
        #expect(throws: CSVImportSettingsError(name: "OUTREACH_CSV_MAX_FIELD_BYTES", value: value, problem: "give a size in bytes, such as 1048576, 512KiB or 4MiB (at most 2 GiB)")) {
            try CSVImportSettings(settings: ["OUTREACH_CSV_MAX_FIELD_BYTES": value])
        }
    }

    @Test("Delimiter detection", arguments: [
        ("email,name\na@x.com,Ann\n", ","),
        ("email;name;company\na@x.com;Smith, John;ACME, Inc.\nb@x.com;Doe, Jane;X\n", ";"),
        ("email\tname\na@x.com\tAnn; Bob\n", "\t"),
        ("email|name\na@x.com|Ann\n", "|"),
        ("email\na@x.com\n", ","),
        ("\"a;b\",c\n\"d;e\",f\n", ","),
        ("a,b;c\nd,e;f\n", ","),
    ])
    func delimiter(sample: String, expected: Character) {
        #expect(CSVDialect.detect(sample: Array(sample.utf8)) == expected.asciiValue)
    }

    @Test("Encoding detection from a sample cut inside a UTF-8 sequence")
    func cutSample() {
        let bytes = Array("email\nZoë".utf8)
        #expect(TextDecoding.detect(sample: Array(bytes.dropLast()), isComplete: false).encoding == .utf8)
        #expect(TextDecoding.detect(sample: Array(bytes.dropLast()), isComplete: true).encoding == .windows1252)
        #expect(TextDecoding.detect(sample: [0xEF, 0xBB, 0xBF, 0x61], isComplete: true) == TextDecoding(encoding: .utf8, byteOrderMarkLength: 3))
    }

    @Test("A workbook saved as .xlsx or .xls instead of CSV is named as such")
    func workbook() throws {
        let xlsx: [UInt8] = [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00] + Array(repeating: 0x41, count: 200)
        let xls: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Array(repeating: 0x00, count: 200)
        #expect(throws: CSVError.spreadsheetWorkbook) { try parse(xlsx) }
        #expect(throws: CSVError.spreadsheetWorkbook) { try parse(xls, cuts: [3, 50]) }
        #expect(CSVError.spreadsheetWorkbook.description.contains("save it as \"CSV UTF-8"))
    }

    @Test("Empty input has no records")
    func emptyInput() throws {
        #expect(try parse([]).records.isEmpty)
        #expect(try parse([0xEF, 0xBB, 0xBF]).records.isEmpty)
        #expect(try parse(Array("\r\n\n".utf8)).records.isEmpty)
    }
}

/// A small deterministic generator, so a failing random case can be reproduced.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
