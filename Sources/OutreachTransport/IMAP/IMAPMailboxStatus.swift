/// What EXAMINE reports about a folder; sync keeps these to fetch only what is new.
public struct IMAPMailboxStatus: Sendable, Equatable {
    public let uidValidity: UInt32
    public let uidNext: UInt32
    public let messageCount: UInt32
    /// 0 when the server has no CONDSTORE or reports NOMODSEQ.
    public let highestModSeq: UInt64
}
