/// Why a storage operation failed, in words an operator can act on.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case databaseMissing(path: String)
    case cannotOpen(path: String, reason: String)
    case duplicateAccount(email: String)
    case accountNotFound(email: String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .databaseMissing(let path): "no database at \(path); run `outreach init` first (or pass --db / set OUTREACH_DB)"
        case .cannotOpen(let path, let reason): "cannot open the database \(path): \(reason)"
        case .duplicateAccount(let email): "an account for \(email) already exists; to change its server or password, remove it first with `outreach account remove \(email)`"
        case .accountNotFound(let email): "no account \(email); `outreach account list` shows the accounts there are"
        case .corrupt(let what): "the database holds data Outreach cannot read: \(what)"
        }
    }
}
