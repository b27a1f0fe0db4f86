import Foundation

/// When an account may send: some days of the week, one span of hours on each, in one time zone — written as
/// operators say it, `Mon-Fri 09:00-17:00 Europe/Berlin`.
///
/// Hours are wall-clock times in the window's time zone, so a window keeps its local hours across daylight-saving
/// changes (09:00 Berlin is 08:00 UTC in winter and 07:00 UTC in summer). A time that does not exist on a
/// spring-forward day moves forward with the clock (02:30 becomes 03:30); a time that happens twice on a
/// fall-back day means the first of the two.
///
/// Overnight hours are allowed: `Fri 22:00-06:00` opens Friday at 22:00 and closes Saturday at 06:00 — a night
/// belongs to the day it starts. Periods that touch (`Mon-Sun 00:00-24:00`, or `Mon-Tue 00:00-24:00`) form one
/// open period, so ``closing(after:)`` reports when sending really stops, not the next midnight.
public struct SendingWindow: Sendable, Hashable, Codable, CustomStringConvertible {
    /// ISO order (Monday first), as the canonical text lists days.
    public enum Weekday: Int, Sendable, Hashable, Codable, CaseIterable, Comparable {
        case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

        public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }

        public var shortName: String {
            switch self {
            case .monday: "Mon"
            case .tuesday: "Tue"
            case .wednesday: "Wed"
            case .thursday: "Thu"
            case .friday: "Fri"
            case .saturday: "Sat"
            case .sunday: "Sun"
            }
        }

        /// The day after, Sunday wrapping to Monday: day ranges such as `Fri-Mon` go round the week.
        var next: Weekday { Weekday(rawValue: rawValue % 7 + 1)! }

        /// From `Calendar`'s numbering, where 1 is Sunday.
        init(calendarWeekday: Int) { self = Weekday(rawValue: (calendarWeekday + 5) % 7 + 1)! }

        init?(name: some StringProtocol) {
            switch name.lowercased() {
            case "mon", "monday": self = .monday
            case "tue", "tues", "tuesday": self = .tuesday
            case "wed", "weds", "wednesday": self = .wednesday
            case "thu", "thur", "thurs", "thursday": self = .thursday
            case "fri", "friday": self = .friday
            case "sat", "saturday": self = .saturday
            case "sun", "sunday": self = .sunday
            default: return nil
            }
        }
    }

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case missingDays(String)
        case unknownDay(String)
        case missingHours(String)
        case badHours(String)
        case emptyHours(String)
        case missingTimeZone(String)
        case unknownTimeZone(String)
        case abbreviatedTimeZone(String)

        static let expectedForm = "write a sending window like \"Mon-Fri 09:00-17:00 Europe/Berlin\" or \"Mon,Wed,Fri 08:30-12:00 UTC\""

        public var description: String {
            switch self {
            case .empty:
                "the sending window is empty; \(Self.expectedForm)"
            case .missingDays(let text):
                "'\(text)' names no days; \(Self.expectedForm)"
            case .unknownDay(let day):
                "'\(day)' is not a day of the week (Mon, Tue, … Sun, or the full names); \(Self.expectedForm)"
            case .missingHours(let text):
                "'\(text)' has no hours; \(Self.expectedForm)"
            case .badHours(let hours):
                "'\(hours)' are not opening hours; write them as HH:MM-HH:MM on a 24-hour clock, closing at 24:00 at the latest, "
                    + "e.g. 09:00-17:00"
            case .emptyHours(let hours):
                "'\(hours)' opens and closes at the same time, so nothing could ever be sent; for the whole day write 00:00-24:00"
            case .missingTimeZone(let text):
                "'\(text)' has no time zone, and the same hours mean different moments in Berlin and New York; "
                    + "end it with an IANA time zone such as Europe/Berlin, America/New_York or UTC"
            case .unknownTimeZone(let zone):
                "'\(zone)' is not a time zone this system knows; use an IANA name such as Europe/Berlin, America/New_York or UTC"
            case .abbreviatedTimeZone(let zone):
                "'\(zone)' is an abbreviation, which does not say when daylight saving applies; "
                    + "use an IANA name such as Europe/Berlin, America/Los_Angeles or UTC"
            }
        }
    }

    public let days: Set<Weekday>
    /// Minutes after local midnight, 0..<1440.
    public let opensAtMinute: Int
    /// Minutes after local midnight, 1...1440; at or before ``opensAtMinute`` for an overnight window, which closes
    /// on the following day.
    public let closesAtMinute: Int
    /// As written (after case correction), so ``description`` gives back `UTC` rather than Foundation's `GMT`.
    public let timeZoneIdentifier: String
    public let timeZone: TimeZone

    public var isOvernight: Bool { closesAtMinute <= opensAtMinute }

    public init(parsing text: String) throws(ParseError) {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
        guard let zoneToken = tokens.last else { throw .empty }
        if zoneToken.first?.isNumber == true || zoneToken.contains(":") { throw .missingTimeZone(text) }
        let (identifier, zone) = try Self.timeZone(named: String(zoneToken))

        // Spaces inside the days or hours carry no meaning ("Mon - Fri", "Mon, Wed"); without them the days end
        // where the first digit starts, as no day name has digits.
        let body = tokens.dropLast().joined().replacingOccurrences(of: "–", with: "-")
        guard !body.isEmpty else { throw .missingDays(text) }
        let hoursStart = body.firstIndex(where: \.isNumber)
        let dayText = body[..<(hoursStart ?? body.endIndex)]
        guard !dayText.isEmpty else { throw .missingDays(text) }
        guard let hoursStart else { throw .missingHours(text) }
        let days = try Self.days(in: dayText)
        let (opens, closes) = try Self.hours(in: body[hoursStart...])

        self.days = days
        self.opensAtMinute = opens
        self.closesAtMinute = closes
        self.timeZoneIdentifier = identifier
        self.timeZone = zone
    }

    /// Canonical text: days Monday first with runs as ranges (a run through Sunday into Monday stays one range,
    /// `Fri-Mon`), zero-padded 24-hour times, the time zone as given.
    public var description: String {
        "\(Self.describe(days)) \(Self.clock(opensAtMinute))-\(Self.clock(closesAtMinute)) \(timeZoneIdentifier)"
    }

    // MARK: - Questions the worker asks

    public func contains(_ date: Date) -> Bool {
        period(containing: date) != nil
    }

    /// `date` itself when the window is open then; otherwise the start of the next open period.
    public func nextOpening(atOrAfter date: Date) -> Date {
        if contains(date) { return date }
        let today = day(of: date)
        // Every listed weekday recurs within 7 days; a fortnight also covers a period that a spring-forward
        // night left empty (e.g. `Sun 02:00-03:00`), which can only happen once a year.
        for offset in 0...14 {
            if let period = period(startingOn: today.adding(days: offset)), period.lowerBound >= date {
                return period.lowerBound
            }
        }
        // Unreachable: parsing guarantees at least one day and non-empty hours.
        return .distantFuture
    }

    /// When the open period that contains `date` ends; nil when the window is closed at `date`. A window open
    /// around the clock on every day never closes: `Date.distantFuture`.
    public func closing(after date: Date) -> Date? {
        guard var current = period(containing: date) else { return nil }
        for _ in 0..<8 {
            guard let following = period(containing: current.upperBound) else { return current.upperBound }
            current = following
        }
        return .distantFuture
    }

    // MARK: - Periods

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    private func day(of date: Date) -> CivilDay {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return CivilDay(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    /// The open period that starts on `day`, if `day` is listed. Nil too when a daylight-saving change swallows
    /// it entirely.
    private func period(startingOn day: CivilDay) -> Range<Date>? {
        guard days.contains(day.weekday), let open = moment(opensAtMinute, on: day),
              let close = moment(closesAtMinute, on: isOvernight ? day.adding(days: 1) : day), open < close
        else { return nil }
        return open..<close
    }

    /// Only a period that started the same local day or, overnight, the day before can contain `date`.
    private func period(containing date: Date) -> Range<Date>? {
        let today = day(of: date)
        for candidate in [today.adding(days: -1), today] {
            if let period = period(startingOn: candidate), period.contains(date) { return period }
        }
        return nil
    }

    private func moment(_ minute: Int, on day: CivilDay) -> Date? {
        if minute >= 1440 { return moment(minute - 1440, on: day.adding(days: 1)) }
        let parts = DateComponents(year: day.year, month: day.month, day: day.day, hour: minute / 60, minute: minute % 60)
        return calendar.date(from: parts)
    }

    // MARK: - Parsing

    private static func timeZone(named name: String) throws(ParseError) -> (String, TimeZone) {
        let upper = name.uppercased()
        if upper == "UTC" || upper == "GMT" { return (upper, TimeZone(identifier: upper) ?? TimeZone(secondsFromGMT: 0)!) }
        // Foundation also accepts abbreviations (PST, CET) and offsets (GMT+2), which say nothing about daylight
        // saving or mean different things to different people; IANA names always have a slash.
        guard name.contains("/") else {
            if TimeZone(identifier: name) != nil || TimeZone(abbreviation: upper) != nil { throw .abbreviatedTimeZone(name) }
            throw .unknownTimeZone(name)
        }
        if let zone = TimeZone(identifier: name) { return (name, zone) }
        if let known = TimeZone.knownTimeZoneIdentifiers.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }),
           let zone = TimeZone(identifier: known)
        {
            return (known, zone)
        }
        throw .unknownTimeZone(name)
    }

    private static func days(in text: Substring) throws(ParseError) -> Set<Weekday> {
        var days: Set<Weekday> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2 else { throw .unknownDay(String(item)) }
            var resolved: [Weekday] = []
            for end in ends {
                guard let day = Weekday(name: end) else { throw .unknownDay(String(end.isEmpty ? text : end)) }
                resolved.append(day)
            }
            var day = resolved[0]
            days.insert(day)
            while day != resolved[resolved.count - 1] {
                day = day.next
                days.insert(day)
            }
        }
        return days
    }

    private static func hours(in text: Substring) throws(ParseError) -> (opens: Int, closes: Int) {
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2, let opens = minute(ends[0]), let closes = minute(ends[1]), opens < 1440 else {
            throw .badHours(String(text))
        }
        // A closing time of 00:00 is the next midnight, the same moment as 24:00; so 00:00-00:00 is the whole day.
        let closing = closes == 0 ? 1440 : closes
        guard closing != opens else { throw .emptyHours(String(text)) }
        return (opens, closing)
    }

    /// `9`, `09`, `9:30`, `09:30`, up to `24:00`.
    private static func minute(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), (1...2).contains(parts[0].count), parts[0].allSatisfy(\.isASCII),
              let hour = Int(parts[0]), hour >= 0
        else { return nil }
        var minute = 0
        if parts.count == 2 {
            guard parts[1].count == 2, parts[1].allSatisfy(\.isASCII), let value = Int(parts[1]), (0..<60).contains(value) else { return nil }
            minute = value
        }
        guard hour < 24 || (hour == 24 && minute == 0) else { return nil }
        return hour * 60 + minute
    }

    // MARK: - Canonical text

    private static func clock(_ minute: Int) -> String {
        let hour = minute / 60
        let rest = minute % 60
        return (hour < 10 ? "0" : "") + "\(hour):" + (rest < 10 ? "0" : "") + "\(rest)"
    }

    private static func describe(_ days: Set<Weekday>) -> String {
        if days.count == 7 { return "Mon-Sun" }
        // Runs are found going round the week from a day that is not listed, so a run over the weekend into
        // Monday (Fri-Mon) is not cut at Sunday.
        guard let gap = Weekday.allCases.first(where: { !days.contains($0) }) else { return "Mon-Sun" }
        var runs: [(first: Weekday, last: Weekday)] = []
        var day = gap.next
        for _ in 0..<7 {
            if days.contains(day) {
                if let last = runs.last, last.last.next == day {
                    runs[runs.count - 1].last = day
                } else {
                    runs.append((day, day))
                }
            }
            day = day.next
        }
        return runs.sorted { $0.first < $1.first }
            .map { $0.first == $0.last ? $0.first.shortName : "\($0.first.shortName)-\($0.last.shortName)" }
            .joined(separator: ",")
    }

    // MARK: - Codable and equality

    /// Stored as its text, so a stored window is validated again when read and reads the way an operator wrote it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try SendingWindow(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func == (lhs: SendingWindow, rhs: SendingWindow) -> Bool {
        lhs.days == rhs.days && lhs.opensAtMinute == rhs.opensAtMinute && lhs.closesAtMinute == rhs.closesAtMinute
            && lhs.timeZoneIdentifier == rhs.timeZoneIdentifier
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(days)
        hasher.combine(opensAtMinute)
        hasher.combine(closesAtMinute)
        hasher.combine(timeZoneIdentifier)
    }
}

/// A date on the wall calendar, without a time or a zone. Day arithmetic happens here, in UTC where every day
/// has 24 hours, so stepping a day never lands on the wrong date around a daylight-saving change.
private struct CivilDay {
    var year: Int
    var month: Int
    var day: Int

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }()

    private var noonUTC: Date {
        Self.utc.date(from: DateComponents(year: year, month: month, day: day, hour: 12)) ?? Date(timeIntervalSince1970: 0)
    }

    var weekday: SendingWindow.Weekday {
        SendingWindow.Weekday(calendarWeekday: Self.utc.component(.weekday, from: noonUTC))
    }

    func adding(days: Int) -> CivilDay {
        let shifted = noonUTC.addingTimeInterval(Double(days) * 86_400)
        let parts = Self.utc.dateComponents([.year, .month, .day], from: shifted)
        return CivilDay(year: parts.year ?? year, month: parts.month ?? month, day: parts.day ?? day)
    }
}
