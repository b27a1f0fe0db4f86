/// Something wrong with one row of a master file: either a reason the row was not imported, or a warning about a
/// row that was. Each says which row it is and what to do about it.
public struct ImportProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Every cell is empty (Excel writes such rows for formatted but unused lines). Not imported.
        case blankRow
        /// The email cell is empty. Not imported.
        case emptyEmail
        /// The row ends before the email column. Not imported.
        case missingEmail(fieldCount: Int, columnCount: Int)
        /// The email cell is not a valid address. Not imported.
        case invalidEmail(value: String, reason: EmailAddress.Invalid)
        /// An earlier row (or the campaign) already has this address; found by the store, which sees all rows. Not imported.
        case duplicateEmail(email: String, firstRow: Int?)
        /// The row has a different number of values than the header has columns. Imported: missing values are empty,
        /// extra ones kept as `extra_1`, ….
        case raggedRow(fieldCount: Int, columnCount: Int)
        /// The select cell is neither yes nor no. Imported, as not selected.
        case unrecognizedSelect(value: String)
        /// A cell holds a control character (NUL, other C0 controls but tab and line breaks, DEL, C1): the mark of a
        /// damaged or binary file, and something no message header can carry. Not imported.
        case controlCharacter(column: String, letter: String, scalar: Unicode.Scalar)
        /// A round's status or time in the file's history columns could not be read. Imported; that round's ledger
        /// row is not restored, or restored as unknown when a Message-ID says something was sent or drafted.
        case unreadableHistory(column: String, value: String)
        /// A round's Message-ID is already in this installation's ledger (the file was imported here before, or the
        /// campaign is still here): imported without that round's history, which stays with the campaign that has it.
        case historyAlreadyHere(round: Int, messageID: String)
    }

    /// The kinds, without their details: what ``ImportReport`` counts and caps.
    public enum Category: String, Sendable, CaseIterable, Comparable {
        case blankRow, emptyEmail, invalidEmail, controlCharacter, duplicateEmail, raggedRow, unrecognizedSelect, unreadableHistory

        /// Whether a problem of this category keeps the row out of the campaign.
        public var rejectsRow: Bool {
            switch self {
            case .blankRow, .emptyEmail, .invalidEmail, .controlCharacter, .duplicateEmail: true
            case .raggedRow, .unrecognizedSelect, .unreadableHistory: false
            }
        }

        public static func < (a: Category, b: Category) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// The data row number (1 = the first row after the header).
    public var row: Int
    /// The physical line the row starts on.
    public var line: Int
    public var kind: Kind

    public init(row: Int, line: Int, kind: Kind) {
        self.row = row
        self.line = line
        self.kind = kind
    }

    public var category: Category {
        switch kind {
        case .blankRow: .blankRow
        case .emptyEmail, .missingEmail: .emptyEmail
        case .invalidEmail: .invalidEmail
        case .duplicateEmail: .duplicateEmail
        case .raggedRow: .raggedRow
        case .unrecognizedSelect: .unrecognizedSelect
        case .controlCharacter: .controlCharacter
        case .unreadableHistory, .historyAlreadyHere: .unreadableHistory
        }
    }

    public var rejectsRow: Bool { category.rejectsRow }

    /// "row 17 (line 18)": the data row, and the line a text editor (or Excel, when no cell spans lines) shows.
    public var location: String { "row \(row) (line \(line))" }

    public var description: String { "\(location): \(message)" }

    /// What is wrong and what to do, without the location.
    public var message: String {
        switch kind {
        case .blankRow:
            return "every cell is empty — skipped"
        case .emptyEmail:
            return "the email cell is empty — fill in the address (or delete the row) and import again"
        case .missingEmail(let fieldCount, let columnCount):
            return "only \(fieldCount) of \(columnCount) values, so there is no email — the row is cut short (often a line "
                + "break inside a cell that is not quoted); fix it in the CSV and import again"
        case .invalidEmail(let value, let reason):
            if case .invisibleCharacter(_, let scalar) = reason {
                return "'\(value.visiblyEscaped)' \(EmailAddress.Invalid.invisibleReason(scalar)) — delete it in the CSV "
                    + "(retype the address if it looks right) and import again"
            }
            return "'\(value.visiblyEscaped)' is not a valid address (\(Self.explain(reason))) — fix it in the CSV and import again"
        case .duplicateEmail(let email, let firstRow):
            let earlier = firstRow.map { "row \($0)" } ?? "the campaign"
            return "\(email) is already in \(earlier) — this row was skipped; merge the two rows in the CSV if they differ"
        case .raggedRow(let fieldCount, let columnCount) where fieldCount < columnCount:
            return "\(fieldCount) \(fieldCount == 1 ? "value" : "values") where the header has \(columnCount) columns — "
                + "the missing ones were left empty; "
                + "check that the values line up with the header"
        case .raggedRow(let fieldCount, let columnCount):
            let extra = fieldCount - columnCount
            return "\(fieldCount) values where the header has \(columnCount) columns — the \(extra) extra "
                + "\(extra == 1 ? "value was" : "values were") kept as extra_1\(extra > 1 ? "…extra_\(extra)" : ""); "
                + "check for a delimiter inside a cell that is not quoted"
        case .unrecognizedSelect(let value):
            return "select is '\(value.visiblyEscaped)', which is neither yes (1, yes, y, true, x, ✓) nor no (empty, 0, no, false) — "
                + "imported as not selected; correct the cell if the row should be selected"
        case .controlCharacter(let column, let letter, let scalar):
            return "column \(letter) '\(column.visiblyEscaped)' holds a control character, \(scalar.codePointDescription), "
                + "the mark of a damaged file or a binary export — remove it in the CSV and import again"
        case .unreadableHistory(let column, let value):
            return "\(column) is '\(value.visiblyEscaped)', which Outreach cannot read (statuses: sent, drafted, skipped, failed, unknown; "
                + "times: ISO 8601) — the row was imported; a round with a Message-ID was restored as unknown (held, never resent), "
                + "otherwise without its history"
        case .historyAlreadyHere(let round, let messageID):
            return "round \(round)'s Message-ID <\(messageID)> is already in another campaign's ledger here — the row was imported "
                + "without that round's history (follow-ups in that thread belong to the campaign that sent it)"
        }
    }

    private static func explain(_ reason: EmailAddress.Invalid) -> String {
        switch reason {
        case .empty: "it is empty"
        case .missingAt: "there is no @"
        case .badLocalPart: "the part before the @ has characters addresses cannot have"
        case .badDomain: "the part after the @ is not a valid domain"
        case .tooLong: "longer than SMTP allows: 64 characters before the @, 254 in all"
        case .invisibleCharacter(_, let scalar): EmailAddress.Invalid.invisibleReason(scalar)
        }
    }
}
