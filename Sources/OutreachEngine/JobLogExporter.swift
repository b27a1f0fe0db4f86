import Foundation
import OutreachCore
import OutreachStore

/// Writes a job's log as CSV: one line per event, the columns of the job page's log (`outreach job logs` prints the
/// same lines). Cells go through ``CSVWriter``, so a detail or address starting with `=` cannot run as a formula.
public struct JobLogExporter: Sendable {
    let jobs: any JobStore

    /// "address", not "email": a job log is a record, and importing one as a campaign finds no email column.
    public static let header = ["time", "what", "row", "address", "detail"]

    public init(jobs: any JobStore) {
        self.jobs = jobs
    }

    public func writeLog(jobID: Int64, write: (String) async throws -> Void) async throws {
        let writer = CSVWriter()
        try await write(writer.line(Self.header))
        var after: Int64 = 0
        while true {
            let page = try await jobs.events(jobID: jobID, afterID: after, limit: 5_000)
            guard let last = page.last else { break }
            after = last.id ?? after
            for event in page {
                try await write(writer.line([
                    CampaignExporter.timestamp(event.at), event.kind.rawValue, event.row.map(String.init) ?? "", event.email ?? "", event.detail,
                ]))
            }
        }
    }
}
