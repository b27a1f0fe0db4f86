import Foundation

/// How far the sync got in one folder: the next sync fetches only UIDs above ``lastUID`` while ``uidValidity`` holds.
public struct MailboxState: Sendable, Hashable, Codable {
    public var accountID: Int64
    public var folder: String
    public var uidValidity: UInt32
    public var lastUID: UInt32
    /// 0 when the server has no CONDSTORE.
    public var highestModSeq: UInt64
    public var syncedAt: Date

    public init(accountID: Int64, folder: String, uidValidity: UInt32, lastUID: UInt32, highestModSeq: UInt64, syncedAt: Date = Date()) {
        self.accountID = accountID
        self.folder = folder
        self.uidValidity = uidValidity
        self.lastUID = lastUID
        self.highestModSeq = highestModSeq
        self.syncedAt = syncedAt
    }
}
