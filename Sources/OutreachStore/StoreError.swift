/// Why a storage operation failed, in words an operator can act on.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case databaseMissing(path: String)
    case cannotOpen(path: String, reason: String)
    case duplicateAccount(email: String)
    case accountNotFound(email: String)
    case accountInUse(email: String, campaigns: [String])
    case duplicateCampaign(name: String)
    case campaignNotFound(name: String)
    case deliveryExists(prospectID: Int64, round: Int)
    case deliverySettled(deliveryID: Int64)
    case corrupt(String)
    /// PostgreSQL refused a statement for a reason that is not the operator's to fix (a broken rule, a bug).
    case postgres(String)
    /// `db copy` found rows in the target database.
    case copyTargetNotEmpty(location: String, tables: [String])
    /// `db copy` found the two databases' schemas or contents not matching.
    case copyMismatch(String)

    public var description: String {
        switch self {
        case .databaseMissing(let path): "no database at \(path); run `outreach init` first (or pass --db / set OUTREACH_DB)"
        case .cannotOpen(let path, let reason): "cannot open the database \(path): \(reason)"
        case .duplicateAccount(let email): "an account for \(email) already exists; to change its server or password, remove it first with `outreach account remove \(email)`"
        case .accountNotFound(let email): "no account \(email); `outreach account list` shows the accounts there are"
        case .accountInUse(let email, let campaigns):
            "\(email) sends the campaign\(campaigns.count == 1 ? "" : "s") \(campaigns.map { "'\($0)'" }.joined(separator: ", ")); its ledger and threads belong to it, so it is not removed (nothing was changed)"
        case .duplicateCampaign(let name): "a campaign named '\(name)' already exists; choose another name (`outreach campaign list` shows them)"
        case .campaignNotFound(let name): "no campaign '\(name)'; `outreach campaign list` shows the campaigns there are"
        case .deliveryExists(let prospectID, let round): "prospect \(prospectID) already has a round \(round) delivery; a round never mails anyone twice"
        case .deliverySettled(let id): "delivery \(id) was already sent or drafted; it is not changed again (another worker took the job over)"
        case .corrupt(let what): "the database holds data Outreach cannot read: \(what)"
        case .postgres(let message): "PostgreSQL refused a statement: \(message)"
        case .copyTargetNotEmpty(let location, let tables):
            "\(location) already holds data (\(tables.joined(separator: ", "))); nothing was copied. Copy into a new, empty database "
                + "(createdb), so that no row of the installation is mixed with another's"
        case .copyMismatch(let what): "the copy stopped and nothing was committed: \(what)"
        }
    }
}
