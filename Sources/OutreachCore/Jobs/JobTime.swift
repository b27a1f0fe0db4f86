import Foundation

/// How job times are written and read: ISO 8601 local time (`2026-12-01T09:00`) or with an offset
/// (`2026-12-01T09:00+01:00`, `…Z`), as operators type them after `--at`.
public enum JobTime {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let text: String
        public var description: String {
            "'\(text)' is not a time; write it as 2026-12-01T09:00 (local time), 2026-12-01T09:00:30, or with an offset such as 2026-12-01T09:00+01:00 or …Z"
        }
    }

    /// Parses a time; without an offset it is local time in `timeZone`.
    public static func parse(_ text: String, timeZone: TimeZone = .current) throws(ParseError) -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "T")
        // Date-time, then an optional offset: Z, ±HH:MM, ±HHMM.
        let pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$/
        guard let match = trimmed.wholeMatch(of: pattern) else { throw ParseError(text: text) }
        var zone = timeZone
        if let offset = match.7 {
            if offset == "Z" {
                zone = TimeZone(secondsFromGMT: 0)!
            } else {
                let digits = offset.dropFirst().filter(\.isNumber)
                let hours = Int(digits.prefix(2))!, minutes = Int(digits.suffix(2))!
                guard hours < 24, minutes < 60 else { throw ParseError(text: text) }
                let seconds = (hours * 3600 + minutes * 60) * (offset.first == "-" ? -1 : 1)
                guard let fixed = TimeZone(secondsFromGMT: seconds) else { throw ParseError(text: text) }
                zone = fixed
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = DateComponents(
            year: Int(match.1), month: Int(match.2), day: Int(match.3), hour: Int(match.4), minute: Int(match.5), second: match.6.map { Int($0)! } ?? 0
        )
        guard parts.month! >= 1, parts.month! <= 12, parts.day! >= 1, parts.hour! < 24, parts.minute! < 60, parts.second! < 60,
            let date = calendar.date(from: parts), calendar.component(.day, from: date) == parts.day
        else { throw ParseError(text: text) }
        return date
    }

    /// "2026-12-01 09:00:05 +01:00" in the given zone: what job listings show.
    public static func format(_ date: Date, timeZone: TimeZone = .current) -> String {
        // Job lists format hundreds of these per page: plain appends, not String(format:).
        let c = components(date, timeZone)
        let offset = timeZone.secondsFromGMT(for: date)
        var text = pad(c.year!, 4) + "-" + pad(c.month!) + "-" + pad(c.day!) + " " + pad(c.hour!) + ":" + pad(c.minute!) + ":" + pad(c.second!)
        text += (offset < 0 ? " -" : " +") + pad(abs(offset) / 3600) + ":" + pad(abs(offset) % 3600 / 60)
        return text
    }

    private static func pad(_ value: Int, _ width: Int = 2) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// The same moment as `--at` takes it, rounded up to the next whole minute (never earlier than `date`).
    public static func argument(_ date: Date, timeZone: TimeZone = .current) -> String {
        let rounded = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.up) * 60)
        let c = components(rounded, timeZone)
        return String(format: "%04d-%02d-%02dT%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!)
    }

    private static func components(_ date: Date, _ timeZone: TimeZone) -> DateComponents {
        var calendar = timeZone == localCalendar.timeZone ? localCalendar : Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    }

    /// Made once: a Calendar is costly to create, and nearly every call is for the process's own zone.
    private static let localCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        return calendar
    }()
}
