import GRDB

/// The database could not be read or written — its disk is full, its file cannot be written, an I/O error, a lock
/// held too long — as opposed to a rule the data broke. Nothing about the job, row or message is wrong, and the same
/// write succeeds once the operator has fixed the cause; callers stop at a defined point and try again later.
public struct StorageFault: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in words ("its disk is full").
    public let reason: String
    /// What the operator can do about it.
    public let advice: String
    /// The database's own words ("database or disk is full"), for logs; not part of ``description``.
    public let detail: String?

    /// Recognises a storage-level failure in an error thrown by a store; nil for every other error.
    public init?(_ error: any Error) {
        if let fault = error as? StorageFault {
            self = fault
            return
        }
        guard let error = error as? DatabaseError else { return nil }
        detail = error.message
        switch error.resultCode {
        case .SQLITE_FULL,
            .SQLITE_IOERR where error.extendedResultCode == .SQLITE_IOERR_SHMSIZE:
            // SHMSIZE: the shared-memory index beside a WAL database could not be grown, which on Linux means no
            // room on its file system.
            reason = "its disk is full"
            advice = "free space on the disk that holds it"
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            reason = "its file cannot be written"
            advice = "check that the database file, its -wal and -shm files and their folder are writable by this user, and that the disk is not mounted read-only"
        case .SQLITE_IOERR:
            reason = "the disk refused a write or a read"
            advice = "check the disk (full? read-only? the file made immutable?) and the system log"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            reason = "another process kept it locked for too long"
            advice = "look for a stuck process using the same database"
        case .SQLITE_NOMEM:
            reason = "the machine ran out of memory"
            advice = "free memory on this machine"
        default:
            return nil
        }
    }

    public init(reason: String, advice: String, detail: String? = nil) {
        self.reason = reason
        self.advice = advice
        self.detail = detail
    }

    public var description: String { "the database could not be written: \(reason); \(advice)" }
}
