import Foundation
import OutreachCore

/// Reads the text GRDB stores a `Date` as — `YYYY-MM-DD HH:MM:SS.SSS`, UTC — without GRDB's general date decoding,
/// which accepts a dozen formats and was a visible share of reading tens of thousands of index rows.
enum StoredDate {
    /// nil for any other shape; the caller then decodes it the general way.
    static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count == 19 || bytes.count == 23 else { return nil }
            func number(_ start: Int, _ length: Int) -> Int? {
                var value = 0
                for i in start..<(start + length) {
                    let digit = Int(bytes[i]) - 48
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"),
                bytes[16] == UInt8(ascii: ":"), let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                let minute = number(14, 2), let second = number(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
                second < 61
            else { return nil }
            var milliseconds = 0
            if bytes.count == 23 {
                guard bytes[19] == UInt8(ascii: "."), let fraction = number(20, 3) else { return nil }
                milliseconds = fraction
            }
            let whole = CivilTime.seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
            // From the 2001 reference date, as Foundation's calendar (and so GRDB) computes it: the same Double.
            return Date(timeIntervalSinceReferenceDate: Double(whole - 978_307_200) + Double(milliseconds) / 1_000)
        }
    }

    /// The text GRDB would store for `date` (UTC, to the millisecond), made without a DateFormatter.
    static func format(_ date: Date) -> String {
        // Rounded to the nearest millisecond, as Foundation's DateFormatter (and so GRDB) does.
        let milliseconds = Int(((date.timeIntervalSinceReferenceDate + 978_307_200) * 1_000 + 0.5).rounded(.down))
        var seconds = milliseconds / 1_000
        var fraction = milliseconds % 1_000
        if fraction < 0 {
            fraction += 1_000
            seconds -= 1
        }
        let c = CivilTime.components(seconds: seconds)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = c.year < 1000 ? String(repeating: "0", count: 4 - String(c.year).count) + String(c.year) : String(c.year)
        let millis = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(year)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second)).\(millis)"
    }
}
