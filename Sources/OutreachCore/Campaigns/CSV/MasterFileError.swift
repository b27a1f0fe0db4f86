/// Why a CSV file cannot be imported as a campaign's master file.
public enum MasterFileError: Error, Equatable, CustomStringConvertible {
    /// The file has no records at all, not even a header.
    case emptyFile
    /// No header normalizes to `email`; `headers` are the file's headers as written.
    case noEmailColumn(headers: [String])
    /// The file is an Outreach round log, which has one line per message sent, not one row per prospect.
    case roundLog

    public var description: String {
        switch self {
        case .emptyFile:
            return "the file is empty — a master file needs a header row (with an email column) and one row per prospect"
        case .noEmailColumn(let headers):
            let shown = headers.prefix(20).map { "\"\($0.visiblyEscaped)\"" }.joined(separator: ", ") + (headers.count > 20 ? ", …" : "")
            if let address = headers.first(where: { EmailAddress.isValid($0) }) {
                return "the first row holds data ('\(address.trimmingASCIIWhitespace())'), not column names — add a header "
                    + "row above it with a column named email (or e-mail, email address)"
            }
            return "no email column: the header has \(headers.isEmpty ? "no columns" : shown) — name the column that holds "
                + "the addresses email, e-mail or email address (any case) and import again"
        case .roundLog:
            return "this is an Outreach round log (\(MasterFileLayout.roundLogHeader.joined(separator: ","))), not a "
                + "master file. Rounds run from the master file: use the campaign itself (outreach followup NAME --round N), "
                + "or `outreach campaign export NAME`, which writes the master CSV with its per-round columns "
                + "(r1_message_id, r1_status, …) — a log lists messages, not prospects, and cannot be imported"
        }
    }
}
