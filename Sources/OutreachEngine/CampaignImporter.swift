import Foundation
import OutreachCore
import OutreachStore

/// Imports a master CSV into a new campaign, streaming: the file is read in chunks and stored in batches, so a
/// million rows need no more memory than a few thousand.
///
/// Every row ends up either stored or in the ``ImportReport`` with its row number and the reason; a file that
/// cannot be read to its end (an unterminated quote, a workbook instead of CSV) leaves no half campaign behind.
public struct CampaignImporter: Sendable {
    let campaigns: any CampaignStore
    /// Where the history of an exported master file (`r1_message_id`, `r1_status`, …) goes back to.
    let ledger: any DeliveryLedger
    let chunkSize: Int
    let batchSize: Int
    let settings: CSVImportSettings

    public init(
        campaigns: any CampaignStore, ledger: any DeliveryLedger, settings: CSVImportSettings = .init(), chunkSize: Int = 1 << 20, batchSize: Int = 2_000
    ) {
        self.campaigns = campaigns
        self.ledger = ledger
        self.settings = settings
        self.chunkSize = chunkSize
        self.batchSize = batchSize
    }

    public enum Problem: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case empty(path: String)
        case csv(path: String, CSVError)
        case layout(path: String, MasterFileError)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
            case .empty(let path): "\(path) has no header row; a master file starts with a line of column names (email, first, last, company, …)"
            case .csv(let path, let error): "\(path): \(error) — nothing was imported"
            case .layout(let path, let error): "\(path): \(error)"
            }
        }
    }

    /// - Parameters:
    ///   - ownerID: the web user importing it (nil from the CLI).
    ///   - sourceName: the file name to remember, when `path` is only where an upload was kept.
    public func importFile(
        at path: String, name: String, accountID: Int64, ownerID: Int64? = nil, sourceName: String? = nil
    ) async throws -> (Campaign, ImportReport) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Problem.unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        defer { try? handle.close() }

        var parser = CSVParser(maximumFieldLength: settings.maximumFieldBytes)
        var pending: [CSVRecord] = []
        var finished = false
        func readMore() throws -> Bool {
            guard !finished else { return false }
            let data = try handle.read(upToCount: chunkSize) ?? Data()
            // A Result rather than a typed-throws closure: Swift 6.3's IR generation crashes on the thunk that
            // withUnsafeBytes needs for `throws(CSVError)`.
            let outcome: Result<Void, CSVError>
            if data.isEmpty {
                finished = true
                outcome = Result { () throws(CSVError) in try parser.finish(into: &pending) }
            } else {
                outcome = data.withUnsafeBytes { bytes in Result { () throws(CSVError) in try parser.feed(bytes, into: &pending) } }
            }
            if case .failure(let error) = outcome { throw Problem.csv(path: path, error) }
            return true
        }

        // The header decides everything else: read until the first record is there.
        while pending.isEmpty, try readMore() {}
        guard !pending.isEmpty else { throw Problem.empty(path: path) }
        let header = pending.removeFirst()
        let layout: MasterFileLayout
        do { layout = try MasterFileLayout(header: header) } catch { throw Problem.layout(path: path, error) }

        let columns = layout.prospectColumns.map { Campaign.Column(header: $0.header, key: $0.key) }
        let campaign = try await campaigns.createCampaign(
            Campaign(name: name, accountID: accountID, columns: columns, sourceFile: sourceName ?? path, ownerID: ownerID)
        )
        guard let campaignID = campaign.id else { throw StoreError.campaignNotFound(name: name) }
        var report = ImportReport(layout: layout)
        // Rows whose history columns say what earlier rounds did, by row: restored once every row is stored.
        var histories: [Int: (line: Int, entries: [RoundHistory.Entry])] = [:]
        do {
            // Reading and parsing the next batch overlaps with storing the previous one (one store in flight): on two
            // cores that nearly halves a large import.
            try await withThrowingTaskGroup(of: ([ImportedProspect], [DuplicateProspect]).self) { group in
                var inFlight = false
                func collect() async throws {
                    guard inFlight, let (stored, duplicates) = try await group.next() else { return }
                    inFlight = false
                    Self.account(for: stored, duplicates: duplicates, in: &report)
                }
                var batch: [ImportedProspect] = []
                while true {
                    for record in pending {
                        switch layout.prospect(from: record) {
                        case .success(var prospect):
                            if !prospect.roundMetadata.isEmpty {
                                let (entries, problems) = RoundHistory.entries(prospect.roundMetadata)
                                if !entries.isEmpty { histories[prospect.row] = (prospect.line, entries) }
                                prospect.warnings += problems.map {
                                    ImportProblem(row: prospect.row, line: prospect.line, kind: .unreadableHistory(column: $0.column.key.rawValue, value: $0.value))
                                }
                            }
                            batch.append(prospect)
                        case .failure(let problem): report.record(.failure(problem))
                        }
                    }
                    pending.removeAll(keepingCapacity: true)
                    if batch.count >= batchSize || (finished && !batch.isEmpty) {
                        try await collect()
                        let toStore = batch
                        group.addTask { (toStore, try await self.store(toStore, campaignID: campaignID)) }
                        inFlight = true
                        batch = []
                    }
                    if finished { break }
                    _ = try readMore()
                }
                try await collect()
            }
            report.note(parser)
            if !histories.isEmpty { try await restore(histories, campaignID: campaignID, report: &report) }
        } catch {
            try? await campaigns.deleteCampaign(id: campaignID)
            throw error
        }
        return (campaign, report)
    }

    /// Writes the history's ledger rows for the stored prospects (a duplicate row's history is not its own).
    private func restore(_ histories: [Int: (line: Int, entries: [RoundHistory.Entry])], campaignID: Int64, report: inout ImportReport) async throws {
        var restored: [RoundHistory.Entry] = []
        var problems: [ImportProblem] = []
        try await campaigns.forEachProspect(campaignID: campaignID, pageSize: 5_000) { prospect in
            guard let (line, entries) = histories[prospect.row], let prospectID = prospect.id else { return }
            for entry in entries {
                do {
                    _ = try await ledger.insert(entry.delivery(prospectID: prospectID))
                    restored.append(entry)
                } catch StoreError.deliveryExists {
                    // The prospect is new, so the Message-ID is what exists: another campaign here sent this message.
                    problems.append(ImportProblem(
                        row: prospect.row, line: line, kind: .historyAlreadyHere(round: entry.round, messageID: entry.messageID ?? "")
                    ))
                }
            }
        }
        for entry in restored { report.recordRestored(entry) }
        for problem in problems { report.recordHistoryProblem(problem) }
    }

    private func store(_ batch: [ImportedProspect], campaignID: Int64) async throws -> [DuplicateProspect] {
        try await campaigns.insertProspects(batch.map { imported in
            Prospect(campaignID: campaignID, row: imported.row, email: imported.email, fields: imported.fields, selected: imported.select, variant: imported.variant)
        })
    }

    /// Every stored row counts as imported, except those the store found to be duplicates.
    private static func account(for batch: [ImportedProspect], duplicates: [DuplicateProspect], in report: inout ImportReport) {
        let firstRows = Dictionary(duplicates.map { ($0.row, $0.firstRow) }, uniquingKeysWith: { first, _ in first })
        for imported in batch {
            if let firstRow = firstRows[imported.row] {
                report.recordDuplicate(of: imported, firstRow: firstRow)
            } else {
                report.record(.success(imported))
            }
        }
    }
}
