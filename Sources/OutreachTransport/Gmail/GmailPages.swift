/// `users.getProfile`: the mailbox's address and the history id a sync starts from.
public struct GmailProfile: Sendable {
    public let emailAddress: String
    public let historyID: UInt64

    public init(emailAddress: String, historyID: UInt64) {
        self.emailAddress = emailAddress
        self.historyID = historyID
    }
}

/// One page of `messages.list`.
public struct GmailMessagePage: Sendable {
    public let messages: [GmailMessageRef]
    public let nextPageToken: String?

    public init(messages: [GmailMessageRef], nextPageToken: String?) {
        self.messages = messages
        self.nextPageToken = nextPageToken
    }
}

/// One page of `history.list` (messageAdded, and labelAdded with SENT).
public struct GmailHistoryPage: Sendable {
    /// The messages added or labelled SENT, oldest first, with their labels at the time (one message may come twice:
    /// added as a draft, then sent).
    public let added: [GmailMessageRef]
    public let nextPageToken: String?
    /// The mailbox's current history id: the next sync's start once the last page is read.
    public let historyID: UInt64

    public init(added: [GmailMessageRef], nextPageToken: String?, historyID: UInt64) {
        self.added = added
        self.nextPageToken = nextPageToken
        self.historyID = historyID
    }
}
