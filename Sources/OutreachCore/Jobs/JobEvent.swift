import Foundation

/// One line of a job's log: what happened to one row (or to the job).
public struct JobEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case sent = "SENT", drafted = "DRAFTED", skipped = "SKIPPED", held = "HELD", error = "ERROR", info = "INFO"
    }

    public var id: Int64?
    public var jobID: Int64
    public var at: Date
    public var kind: Kind
    /// The data row, or nil for an event of the whole job.
    public var row: Int?
    public var email: String?
    public var detail: String

    public init(id: Int64? = nil, jobID: Int64, at: Date = Date(), kind: Kind, row: Int? = nil, email: String? = nil, detail: String) {
        self.id = id
        self.jobID = jobID
        self.at = at
        self.kind = kind
        self.row = row
        self.email = email
        self.detail = detail
    }

    public var description: String {
        let subject = row.map { "row \($0) \(email ?? "")" } ?? "job"
        return "\(kind.rawValue) \(subject)\(detail.isEmpty ? "" : ": \(detail)")"
    }
}
