import Foundation
import OutreachCore

/// `Date:` header values (RFC 5322 §3.3), always in English whatever the machine's locale.
///
/// Formatted by hand: a DateFormatter goes through ICU, which was the largest single cost of building a message.
public enum RFC5322Date {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func format(_ date: Date, timeZone: TimeZone = .current) -> String {
        let offset = timeZone.secondsFromGMT(for: date)
        let local = Int(date.timeIntervalSince1970.rounded(.down)) + offset
        let c = CivilTime.components(seconds: local)
        let days = (local - (local % 86_400 + 86_400) % 86_400) / 86_400
        let weekday = weekdays[((days % 7) + 7) % 7]
        let (year, month, day) = (c.year, c.month, c.day)
        let seconds = c.hour * 3_600 + c.minute * 60 + c.second
        let sign = offset < 0 ? "-" : "+"
        let zone = abs(offset) / 60
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(seconds / 3600)):\(two(seconds % 3600 / 60)):\(two(seconds % 60)) "
            + "\(sign)\(two(zone / 60))\(two(zone % 60))"
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
}
