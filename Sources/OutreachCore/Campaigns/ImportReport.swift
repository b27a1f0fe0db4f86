/// What an import did with every row of a master file: counts, the problems row by row, and a summary that tells
/// the operator what to fix.
///
/// Feed it one outcome per data row, in order, once the store has decided (an address seen before is a duplicate,
/// which only the store can tell while streaming). Every row that is not imported is either in ``problems`` or in
/// the counted tail beyond ``detailLimit``: nothing is dropped silently.
///
/// ```swift
/// switch layout.prospect(from: record) {
/// case .success(let prospect):
///     if let firstRow = try store.insert(prospect) { report.recordDuplicate(of: prospect, firstRow: firstRow) }
///     else { report.record(.success(prospect)) }
/// case .failure(let problem):
///     report.record(.failure(problem))
/// }
/// ```
public struct ImportReport: Sendable, Equatable, CustomStringConvertible {
    /// How many problems of one category are kept by default; the rest are only counted.
    public static let defaultDetailLimit = 1_000

    /// Problems kept per category.
    public let detailLimit: Int
    /// Data rows seen (the header not included).
    public private(set) var rowsRead = 0
    public private(set) var imported = 0
    /// Problems kept, in the order they were recorded, at most ``detailLimit`` per category.
    public private(set) var problems: [ImportProblem] = []
    private var counts: [ImportProblem.Category: Int] = [:]

    /// The file's encoding, if the caller sets it (from ``CSVParser/encoding``).
    public var encoding: TextEncoding?
    /// The file's delimiter, if the caller sets it (from ``CSVParser/delimiter``).
    public var delimiter: UInt8?
    /// Fields that were not UTF-8 and were read as Windows-1252 (from ``CSVParser/windows1252FieldCount``).
    public var windows1252Fields = 0
    /// Columns renamed because of a duplicate header (from ``MasterFileLayout/renamedColumns``).
    public var renamedColumns: [MasterFileLayout.Column] = []
    /// The ledger rows restored from the file's history columns, by round and state.
    public private(set) var restored: [Int: [Delivery.State: Int]] = [:]

    public init(detailLimit: Int = ImportReport.defaultDetailLimit) {
        self.detailLimit = detailLimit
    }

    /// Starts a report for a file with this layout, noting its renamed columns.
    public init(layout: MasterFileLayout, detailLimit: Int = ImportReport.defaultDetailLimit) {
        self.init(detailLimit: detailLimit)
        self.renamedColumns = layout.renamedColumns
    }

    // MARK: - Recording

    /// Records one data row: imported (with its warnings), or not imported for the problem's reason.
    public mutating func record(_ outcome: Result<ImportedProspect, ImportProblem>) {
        rowsRead += 1
        switch outcome {
        case .success(let prospect):
            imported += 1
            for warning in prospect.warnings { add(warning) }
        case .failure(let problem):
            precondition(problem.rejectsRow, "a warning is recorded with the prospect it belongs to, not on its own")
            add(problem)
        }
    }

    /// Records a row the store refused because its address is already in the campaign.
    /// - Parameter firstRow: the row that has the address, when known.
    public mutating func recordDuplicate(of prospect: ImportedProspect, firstRow: Int?) {
        record(
            .failure(
                ImportProblem(row: prospect.row, line: prospect.line, kind: .duplicateEmail(email: prospect.email.normalized, firstRow: firstRow))
            ))
    }

    /// Takes the parser's findings: encoding, delimiter, and the fields read as Windows-1252.
    public mutating func note(_ parser: CSVParser) {
        encoding = parser.encoding
        delimiter = parser.delimiter
        windows1252Fields = parser.windows1252FieldCount
    }

    private mutating func add(_ problem: ImportProblem) {
        let category = problem.category
        let count = counts[category, default: 0]
        counts[category] = count + 1
        if count < detailLimit { problems.append(problem) }
    }

    // MARK: - Reading

    /// Rows of this category (for warnings: rows imported with it).
    /// A history problem found after the row was stored (its Message-ID already in the ledger).
    public mutating func recordHistoryProblem(_ problem: ImportProblem) {
        precondition(!problem.rejectsRow, "history problems never keep a row out")
        add(problem)
    }

    public mutating func recordRestored(_ entry: RoundHistory.Entry) {
        restored[entry.round, default: [:]][entry.state, default: 0] += 1
    }

    public func count(of category: ImportProblem.Category) -> Int { counts[category, default: 0] }
    /// Problems of this category that were counted but not kept.
    public func omitted(_ category: ImportProblem.Category) -> Int { max(0, count(of: category) - detailLimit) }

    public var notImported: Int { rowsRead - imported }
    public var duplicates: Int { count(of: .duplicateEmail) }
    public var invalidEmails: Int { count(of: .invalidEmail) }
    /// Rows without an address, including rows cut short before the email column.
    public var emptyEmails: Int { count(of: .emptyEmail) }
    public var blankRows: Int { count(of: .blankRow) }
    /// Rows imported although their number of values differs from the header's.
    public var raggedRows: Int { count(of: .raggedRow) }
    public var unrecognizedSelects: Int { count(of: .unrecognizedSelect) }
    /// Whether anything needs the operator's attention (blank rows alone do not).
    public var hasIssues: Bool {
        ImportProblem.Category.allCases.contains { $0 != .blankRow && count(of: $0) > 0 } || windows1252Fields > 0 || !renamedColumns.isEmpty
    }

    public var description: String { summary() }

    /// A multi-line account for the operator: the totals, then each problem with what to do, at most
    /// `linesPerCategory` per category followed by "… and N more".
    public func summary(linesPerCategory: Int = 20) -> String {
        var lines: [String] = []
        var totals = "Read \(Self.number(rowsRead)) \(Self.plural(rowsRead, "row")): \(Self.number(imported)) imported"
        if notImported > 0 { totals += ", \(Self.number(notImported)) not imported" }
        lines.append(totals + ".")

        var fileNotes: [String] = []
        if let encoding, encoding != .utf8 {
            fileNotes.append("The file is \(encoding)" + (encoding == .windows1252 ? " (Excel's plain \"CSV\"), not UTF-8." : "."))
        }
        if let delimiter, delimiter != UInt8(ascii: ",") {
            let name = delimiter == UInt8(ascii: "\t") ? "tabs" : "'\(Character(Unicode.Scalar(delimiter)))'"
            fileNotes.append("Values are separated by \(name).")
        }
        if windows1252Fields > 0 {
            fileNotes.append(
                "\(Self.number(windows1252Fields)) \(windows1252Fields == 1 ? "field was" : "fields were") not UTF-8 and "
                    + "\(windows1252Fields == 1 ? "was" : "were") read as Windows-1252 — check accented names; saving as "
                    + "\"CSV UTF-8\" in Excel avoids the guess.")
        }
        for column in renamedColumns {
            guard let firstIndex = column.duplicateOf else { continue }
            let first = MasterFileLayout.Column.letter(at: firstIndex)
            fileNotes.append(
                "Column \(column.letter) \"\(column.header.visiblyEscaped)\" means \(column.normalizedKey) like column \(first): "
                    + "column \(first) is used, column \(column.letter) was kept as \(column.key).")
        }
        lines.append(contentsOf: fileNotes)
        for round in restored.keys.sorted() {
            let states = restored[round]!.sorted { $0.value > $1.value }.map { "\(Self.number($0.value)) \($0.key.rawValue)" }
            lines.append("Round \(round)'s ledger restored from the file's history: \(states.joined(separator: ", ")).")
        }

        let rejected = ImportProblem.Category.allCases.filter { $0.rejectsRow && count(of: $0) > 0 }
        if !rejected.isEmpty {
            lines.append("")
            lines.append("Not imported:")
            for category in rejected { lines.append(contentsOf: section(category, limit: linesPerCategory)) }
        }
        let warned = ImportProblem.Category.allCases.filter { !$0.rejectsRow && count(of: $0) > 0 }
        if !warned.isEmpty {
            lines.append("")
            lines.append("Imported, but check:")
            for category in warned { lines.append(contentsOf: section(category, limit: linesPerCategory)) }
        }
        return lines.joined(separator: "\n")
    }

    private func section(_ category: ImportProblem.Category, limit: Int) -> [String] {
        let total = count(of: category)
        var lines = ["  \(Self.heading(category, total)):"]
        let kept = problems.lazy.filter { $0.category == category }
        var shown = 0
        for problem in kept.prefix(limit) {
            lines.append("    \(problem)")
            shown += 1
        }
        if total > shown { lines.append("    … and \(Self.number(total - shown)) more") }
        return lines
    }

    private static func heading(_ category: ImportProblem.Category, _ count: Int) -> String {
        let n = number(count)
        switch category {
        case .blankRow: return "\(n) blank \(plural(count, "row")) (every cell empty)"
        case .emptyEmail: return "\(n) \(plural(count, "row")) without an email"
        case .invalidEmail: return "\(n) invalid \(plural(count, "address", "addresses"))"
        case .duplicateEmail: return "\(n) duplicate \(plural(count, "address", "addresses"))"
        case .raggedRow: return "\(n) \(plural(count, "row")) with a different number of values than the header"
        case .unrecognizedSelect: return "\(n) unrecognized select \(plural(count, "value"))"
        case .controlCharacter: return "\(n) \(plural(count, "row")) with control characters"
        case .unreadableHistory: return "\(n) unreadable history \(plural(count, "value"))"
        }
    }

    private static func plural(_ count: Int, _ one: String, _ many: String? = nil) -> String {
        count == 1 ? one : many ?? one + "s"
    }

    /// 1234567 → "1,234,567".
    static func number(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }
}
