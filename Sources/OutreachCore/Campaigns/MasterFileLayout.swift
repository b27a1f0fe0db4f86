/// What the header row of a master file means: every column as written, its normalized key, and which columns play
/// the roles Outreach needs (email, first, last, company, select, variant). It turns each later record into an
/// ``ImportedProspect`` or says why it cannot (``ImportProblem``).
public struct MasterFileLayout: Sendable, Equatable {
    public struct Column: Sendable, Hashable {
        /// 0-based position in the file.
        public let index: Int
        /// The header cell exactly as written, so an export can give the columns back in their original spelling.
        public let header: String
        /// ``ColumnKey/init(normalizing:)`` of the header; `column_N` (N from 1) for an empty header.
        public let normalizedKey: ColumnKey
        /// The key the column's values are stored under: ``normalizedKey``, or for a later column with the same
        /// normalized key a disambiguated one (`email_2`) so that no data is lost.
        public let key: ColumnKey
        /// The index of the earlier column that took ``normalizedKey``, when this column had to be renamed.
        public let duplicateOf: Int?
        /// Set for the per-round columns of an Outreach export (`r1_message_id`, …).
        public let roundMetadata: RoundMetadataColumn?

        /// The column as Excel names it: A, B, …, Z, AA, ….
        public var letter: String { Self.letter(at: index) }

        /// Excel's name for the column at a 0-based position.
        public static func letter(at index: Int) -> String {
            var n = index + 1
            var letters: [Character] = []
            while n > 0 {
                n -= 1
                letters.insert(Character(Unicode.Scalar(UInt8(ascii: "A") + UInt8(n % 26))), at: 0)
                n /= 26
            }
            return String(letters)
        }
    }

    /// The header of Outreach's round log export, one line per message. A file with this shape is refused as a
    /// master file; the log exporter writes it from here.
    public static let roundLogHeader = [
        "campaign", "round", "row", "email", "status", "message_id", "thread_key", "sent_at", "reply_code", "reply_text",
    ]

    public let columns: [Column]
    public let emailColumn: Int
    public let firstColumn: Int?
    public let lastColumn: Int?
    public let companyColumn: Int?
    public let selectColumn: Int?
    public let variantColumn: Int?

    private struct Slot: Sendable, Equatable {
        let index: Int
        let key: ColumnKey
    }
    private struct MetadataSlot: Sendable, Equatable {
        let index: Int
        let column: RoundMetadataColumn
    }
    private let prospectSlots: [Slot]
    private let metadataSlots: [MetadataSlot]
    private let keys: Set<ColumnKey>

    /// Reads the header record.
    /// - Throws: ``MasterFileError/roundLog`` for an Outreach round log, ``MasterFileError/noEmailColumn(headers:)``
    ///   when no column means email.
    public init(header: CSVRecord) throws(MasterFileError) {
        try self.init(headers: header.fields)
    }

    public init(headers: [String]) throws(MasterFileError) {
        let normalized = headers.enumerated().map { index, header in
            let key = ColumnKey(normalizing: header)
            return key.rawValue.isEmpty ? ColumnKey(normalizedValue: "column_\(index + 1)") : key
        }
        if Self.isRoundLog(normalized) { throw .roundLog }

        // First occurrences claim their key; later duplicates take the first free `key_N`.
        var firstIndex: [ColumnKey: Int] = [:]
        for (index, key) in normalized.enumerated() where firstIndex[key] == nil { firstIndex[key] = index }
        var taken = Set(firstIndex.keys)
        var columns: [Column] = []
        columns.reserveCapacity(headers.count)
        // The original (Python) app's master file: its round-1 metadata in unprefixed `message_id`, `thread_id`,
        // `status` (and `sent_at`) columns. Recognized only with a `message_id` column and no `r1_…` ones, so a
        // prospect list's own "Status" column stays a prospect column.
        let legacyRound1 = firstIndex["message_id"] != nil && !normalized.contains { RoundMetadataColumn(key: $0) != nil }
        for (index, header) in headers.enumerated() {
            let key = normalized[index]
            let first = firstIndex[key]!
            var assigned = key
            if first != index {
                var suffix = 2
                repeat {
                    assigned = ColumnKey(normalizedValue: "\(key.rawValue)_\(suffix)")
                    suffix += 1
                } while taken.contains(assigned)
                taken.insert(assigned)
            }
            columns.append(
                Column(
                    index: index, header: header, normalizedKey: key, key: assigned, duplicateOf: first == index ? nil : first,
                    roundMetadata: RoundMetadataColumn(key: assigned) ?? (legacyRound1 && first == index ? RoundMetadataColumn(legacyKey: key) : nil)))
        }

        guard let email = firstIndex[.email] else { throw .noEmailColumn(headers: headers) }
        self.columns = columns
        self.emailColumn = email
        self.firstColumn = firstIndex[.first]
        self.lastColumn = firstIndex[.last]
        self.companyColumn = firstIndex[.company]
        self.selectColumn = firstIndex[.select]
        self.variantColumn = firstIndex[.variant]
        self.prospectSlots = columns.filter { $0.roundMetadata == nil }.map { Slot(index: $0.index, key: $0.key) }
        self.metadataSlots = columns.compactMap { column in column.roundMetadata.map { MetadataSlot(index: column.index, column: $0) } }
        self.keys = taken
    }

    /// Columns renamed because an earlier one has the same normalized key (two "Email" columns, "E-mail" beside
    /// "Email Address"): the import report mentions each.
    public var renamedColumns: [Column] { columns.filter { $0.duplicateOf != nil } }
    /// The columns that hold prospect data, in file order: all but the round metadata.
    public var prospectColumns: [Column] { columns.filter { $0.roundMetadata == nil } }
    /// The per-round columns of an Outreach export, in file order.
    public var roundMetadataColumns: [Column] { columns.filter { $0.roundMetadata != nil } }

    /// Whether normalized header keys are those of an Outreach round log: it has `round`, `status` and `message_id`
    /// columns, which a prospect list never has together (an export's per-round columns are `r1_status`, …).
    public static func isRoundLog(_ keys: [ColumnKey]) -> Bool {
        let set = Set(keys)
        return set.contains("round") && set.contains("status") && set.contains("message_id")
    }

    /// Whether a normalized key is one of the per-round columns of a master export, and which round and field.
    public static func roundMetadata(of key: ColumnKey) -> RoundMetadataColumn? {
        RoundMetadataColumn(key: key)
    }

    // MARK: - Rows

    /// Turns a data record into a prospect, or into the reason it cannot be imported.
    ///
    /// The row number reported is the record's ``CSVRecord/index`` (the header being record 0). Values are trimmed
    /// of surrounding white space (spaces, tabs, line breaks, no-break spaces). A row shorter than the header gets
    /// empty values and a ``ImportProblem/Kind/raggedRow(fieldCount:columnCount:)`` warning; a longer one keeps the
    /// extra values as `extra_1`, … with the same warning, unless they are all empty (a trailing delimiter). The
    /// apostrophe an Outreach export puts before formula-like cells (`'=…`) is removed again. A row with a control
    /// character (NUL, DEL, a C0 or C1 control other than tab, CR and LF) in any cell is refused, naming the column.
    public func prospect(from record: CSVRecord) -> Result<ImportedProspect, ImportProblem> {
        let values = record.fields
        let row = record.index
        let line = record.line
        func problem(_ kind: ImportProblem.Kind) -> Result<ImportedProspect, ImportProblem> {
            .failure(ImportProblem(row: row, line: line, kind: kind))
        }

        guard emailColumn < values.count else {
            if isBlank(values) { return problem(.blankRow) }
            return problem(.missingEmail(fieldCount: values.count, columnCount: columns.count))
        }
        if let (index, scalar) = Self.firstControlCharacter(in: values) {
            let header = index < columns.count ? columns[index].header : "extra_\(index - columns.count + 1)"
            return problem(.controlCharacter(column: header, letter: Column.letter(at: index), scalar: scalar))
        }
        let emailText = Self.value(values[emailColumn])
        if emailText.isEmpty { return problem(isBlank(values) ? .blankRow : .emptyEmail) }
        let email: EmailAddress
        do {
            email = try EmailAddress(parsing: emailText)
        } catch {
            return problem(.invalidEmail(value: emailText, reason: error))
        }

        var warnings: [ImportProblem] = []
        var fields = [ColumnKey: String](minimumCapacity: prospectSlots.count)
        for slot in prospectSlots {
            fields[slot.key] = slot.index < values.count ? Self.value(values[slot.index]) : ""
        }
        if values.count < columns.count {
            warnings.append(ImportProblem(row: row, line: line, kind: .raggedRow(fieldCount: values.count, columnCount: columns.count)))
        } else if values.count > columns.count {
            let extras = values[columns.count...].map(Self.value)
            if let lastValue = extras.lastIndex(where: { !$0.isEmpty }) {
                warnings.append(ImportProblem(row: row, line: line, kind: .raggedRow(fieldCount: values.count, columnCount: columns.count)))
                for (offset, value) in extras[...lastValue].enumerated() { fields[extraKey(offset + 1)] = value }
            }
        }

        var select = false
        if let selectColumn, selectColumn < values.count {
            let text = Self.value(values[selectColumn])
            if let value = Self.selection(text) {
                select = value
            } else {
                warnings.append(ImportProblem(row: row, line: line, kind: .unrecognizedSelect(value: text)))
            }
        }
        var variant: String?
        if let variantColumn, variantColumn < values.count {
            let text = Self.value(values[variantColumn])
            if !text.isEmpty { variant = text }
        }
        var metadata: [RoundMetadataColumn: String] = [:]
        for slot in metadataSlots where slot.index < values.count {
            let text = Self.value(values[slot.index])
            if !text.isEmpty { metadata[slot.column] = text }
        }

        return .success(
            ImportedProspect(
                row: row, line: line, email: email, select: select, variant: variant, fields: fields, roundMetadata: metadata,
                warnings: warnings))
    }

    private func extraKey(_ number: Int) -> ColumnKey {
        var key = ColumnKey(normalizedValue: "extra_\(number)")
        var suffix = 2
        while keys.contains(key) {
            key = ColumnKey(normalizedValue: "extra_\(number)_\(suffix)")
            suffix += 1
        }
        return key
    }

    /// The first cell with a control character other than tab, CR and LF, and that character. Checked on bytes: C0
    /// controls and DEL are single bytes, C1 controls are C2 80…C2 9F in UTF-8.
    static func firstControlCharacter(in values: [String]) -> (Int, Unicode.Scalar)? {
        for (index, value) in values.enumerated() {
            var previous: UInt8 = 0
            for byte in value.utf8 {
                let isC1 = previous == 0xC2 && byte >= 0x80 && byte <= 0x9F
                if (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D) || byte == 0x7F || isC1 {
                    return (index, Unicode.Scalar(byte))
                }
                previous = byte
            }
        }
        return nil
    }

    private func isBlank(_ values: [String]) -> Bool {
        values.allSatisfy { Self.trimmed($0).isEmpty }
    }

    /// Reads a select cell: `true` for 1, yes, y, true, x, ✓, ✔; `false` for empty, 0, no, n, false (any case);
    /// `nil` for anything else.
    public static func selection(_ text: String) -> Bool? {
        let utf8 = text.utf8
        if utf8.isEmpty { return false }
        if utf8.count == 1 {
            switch utf8.first! {
            case UInt8(ascii: "1"), UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "x"), UInt8(ascii: "X"): return true
            case UInt8(ascii: "0"), UInt8(ascii: "n"), UInt8(ascii: "N"): return false
            default: break
            }
        }
        return switch trimmed(text).lowercased() {
        case "1", "yes", "y", "true", "x", "✓", "✔": true
        case "", "0", "no", "n", "false": false
        default: nil
        }
    }

    /// A cell as stored: trimmed, and without the apostrophe that ``CSVWriter`` puts before formula-like cells, so
    /// that an export imports back unchanged.
    static func value(_ cell: String) -> String {
        let text = trimmed(cell)
        return text.utf8.first == UInt8(ascii: "'") ? SpreadsheetSafety.unescape(text) : text
    }

    /// Trims spaces, tabs, CR, LF, no-break spaces and stray byte order marks from both ends; returns the string
    /// itself, without copying, when both ends are visible ASCII (nearly every cell).
    static func trimmed(_ text: String) -> String {
        let utf8 = text.utf8
        guard let first = utf8.first, let last = utf8.last else { return text }
        if first > 0x20 && first < 0x7F && last > 0x20 && last < 0x7F { return text }
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.value {
            case 0x20, 0x09, 0x0A, 0x0D, 0xA0, 0xFEFF: true
            default: false
            }
        }
        while start < end, isSpace(scalars[start]) { start = scalars.index(after: start) }
        while end > start, isSpace(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        if start == scalars.startIndex && end == scalars.endIndex { return text }
        return String(scalars[start..<end])
    }
}
