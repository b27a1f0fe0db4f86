import Foundation

/// At most `limit` messages in any 24 hours, counted over a rolling window as the providers count them (a fixed
/// midnight reset would allow twice the limit around midnight and get the account suspended).
///
/// A limit of 0 means no cap, as a guard of 0 means no guard.
public struct DailyCap: Sendable, Hashable, Codable {
    public var limit: Int

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Published provider limits for the submission host, on the low side where one host serves accounts with
    /// different limits; an operator who knows the account's real limit sets the cap on the account.
    /// - smtp.gmail.com, smtp.googlemail.com: 500, consumer Gmail's limit (a secondary figure, see
    ///   research/reliability.md); Google Workspace accounts on the same host may send 2,000
    ///   (https://support.google.com/a/answer/166852).
    /// - smtp-mail.outlook.com: 300, the figure published for free Outlook.com accounts; Microsoft 365 subscribers
    ///   get more (https://support.microsoft.com/office/sending-limits-in-outlook-com-279ee200-594c-40f0-9ec8-bb6af7735c2e).
    /// - *.office365.com: Exchange Online's 10,000 recipients a day
    ///   (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits).
    /// - anything else: 1,000, so an unknown host is not run into its own limit on the first big round.
    public static func `default`(smtpHost: String) -> DailyCap {
        var host = smtpHost.trimmingASCIIWhitespace().lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        if host == "smtp.gmail.com" || host == "smtp.googlemail.com" { return DailyCap(limit: 500) }
        if host == "smtp-mail.outlook.com" { return DailyCap(limit: 300) }
        if host == "office365.com" || host.hasSuffix(".office365.com") { return DailyCap(limit: 10_000) }
        return DailyCap(limit: 1_000)
    }

    /// Nil when one more message may go now: fewer than `limit` of `times` fall in the last 24 hours
    /// (`now` − 24 h, `now`]. Otherwise the moment the oldest of the last `limit` sends drops out of that window,
    /// which is when exactly one more may go. `times` may be unsorted and hold older sends; sends after `now`
    /// (a clock stepped back) are not counted.
    public func nextSlot(sentAt times: [Date], now: Date) -> Date? {
        guard limit > 0 else { return nil }
        let windowStart = now.addingTimeInterval(-Self.window)
        let recent = times.filter { $0 > windowStart && $0 <= now }.sorted()
        guard recent.count >= limit else { return nil }
        return recent[recent.count - limit].addingTimeInterval(Self.window)
    }

    private static let window: Double = 24 * 3600
}
