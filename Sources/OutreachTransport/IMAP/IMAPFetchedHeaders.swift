/// One message's header fields as fetched with `BODY.PEEK[HEADER.FIELDS (…)]` (never sets \Seen).
public struct IMAPFetchedHeaders: Sendable, Equatable {
    public let uid: UInt32
    public let headerBytes: [UInt8]
}
