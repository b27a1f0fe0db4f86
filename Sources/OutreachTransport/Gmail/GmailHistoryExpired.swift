extension TransportError {
    private static let gmailHistoryExpiredPrefix = "the history id is older than Gmail keeps"

    /// ``GmailAPI/history(startHistoryID:pageToken:maxResults:)``'s signal for Gmail's 404: the start id is too
    /// old. The caller does a full sync and takes a new baseline from ``GmailAPI/profile()``.
    static func gmailHistoryExpired(server: String, startHistoryID: UInt64, message: String) -> TransportError {
        TransportError(
            .rejectedPermanently, server: server,
            detail: "\(gmailHistoryExpiredPrefix) (\(startHistoryID): \(message)); a full sync is needed", replyCode: 404
        )
    }

    /// True for the error ``GmailAPI/history(startHistoryID:pageToken:maxResults:)`` throws when its start id has
    /// expired (Gmail's 404), as opposed to any other refusal.
    public var isGmailHistoryExpired: Bool {
        kind == .rejectedPermanently && replyCode == 404 && detail.hasPrefix(Self.gmailHistoryExpiredPrefix)
    }
}
