import Foundation
import OutreachCore
import Testing

struct CivilTimeTests {
    @Test("seconds and components agree with Foundation's Gregorian calendar in UTC, leap days and years before 1970 included")
    func agreesWithCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        var generator = SystemRandomNumberGenerator()
        let samples = [-2_208_988_800, -1, 0, 951_782_400, 951_868_799, 4_107_542_400, 253_402_300_799]
            + (0..<2_000).map { _ in Int.random(in: -5_000_000_000...8_000_000_000, using: &generator) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: Double(seconds))
            let expected = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let c = CivilTime.components(seconds: seconds)
            #expect(
                [c.year, c.month, c.day, c.hour, c.minute, c.second] == [expected.year, expected.month, expected.day, expected.hour, expected.minute, expected.second],
                "\(seconds)"
            )
            #expect(CivilTime.seconds(year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second) == seconds)
        }
    }
}
