import Foundation
import OutreachCore
import Testing

struct SendingWindowTests {
    /// `"2025-03-28 16:59"` as a wall clock in `zone` shows it.
    private func at(_ text: String, _ zone: String) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).map { Int($0)! }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4]))!
    }

    private func utc(_ text: String) -> Date { at(text, "UTC") }

    @Test(arguments: [
        ("Mon-Fri 09:00-17:00 Europe/Berlin", "Mon-Fri 09:00-17:00 Europe/Berlin"),
        ("Mon,Wed,Fri 08:30-12:00 UTC", "Mon,Wed,Fri 08:30-12:00 UTC"),
        ("Sat-Sun 10:00-14:00 America/New_York", "Sat-Sun 10:00-14:00 America/New_York"),
        ("Mon-Sun 00:00-24:00 UTC", "Mon-Sun 00:00-24:00 UTC"),
        ("Fri-Mon 09:00-17:00 UTC", "Fri-Mon 09:00-17:00 UTC"),
        ("monday-FRIDAY 9-17 europe/berlin", "Mon-Fri 09:00-17:00 Europe/Berlin"),
        ("Mon - Fri  9:00 - 17:30  UTC", "Mon-Fri 09:00-17:30 UTC"),
        ("Wed,Mon,Tue 08:00-12:00 utc", "Mon-Wed 08:00-12:00 UTC"),
        ("Sun-Sat 08:00-12:00 UTC", "Mon-Sun 08:00-12:00 UTC"),
        ("Sun,Mon,Wed 08:00-12:00 UTC", "Wed,Sun-Mon 08:00-12:00 UTC"),
        ("Fri 22:00-06:00 UTC", "Fri 22:00-06:00 UTC"),
        ("Mon 00:00-00:00 UTC", "Mon 00:00-24:00 UTC"),
    ])
    func parsesToCanonicalText(input: String, canonical: String) throws {
        let window = try SendingWindow(parsing: input)
        #expect(window.description == canonical)
        #expect(try SendingWindow(parsing: window.description) == window)
    }

    @Test("a stored window reads back as the same window, and a corrupt one is refused")
    func codable() throws {
        let window = try SendingWindow(parsing: "Fri-Mon 09:00-17:00 Europe/Berlin")
        let data = try JSONEncoder().encode([window])
        #expect(try JSONDecoder().decode([String].self, from: data) == ["Fri-Mon 09:00-17:00 Europe/Berlin"])
        #expect(try JSONDecoder().decode([SendingWindow].self, from: data) == [window])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([SendingWindow].self, from: Data(#"["Mon-Fri 9-17"]"#.utf8)) }
    }

    @Test(arguments: [
        ("", "empty"),
        ("Mon-Fri 09:00-17:00", "time zone"),
        ("Mon-Fri 09:00-17:00 PST", "abbreviation"),
        ("Mon-Fri 09:00-17:00 Mars/Olympus", "not a time zone"),
        ("Mon-Fri 09:00-17:00 Berlin", "not a time zone"),
        ("09:00-17:00 UTC", "no days"),
        ("Mon-Fri UTC", "no hours"),
        ("Mon-Fry 09:00-17:00 UTC", "'Fry' is not a day"),
        ("Weekdays 09:00-17:00 UTC", "'Weekdays' is not a day"),
        ("Mon-Fri 09:00-25:00 UTC", "HH:MM-HH:MM"),
        ("Mon-Fri 09:60-17:00 UTC", "HH:MM-HH:MM"),
        ("Mon-Fri 24:00-17:00 UTC", "HH:MM-HH:MM"),
        ("Mon-Fri 09:00 UTC", "HH:MM-HH:MM"),
        ("Mon-Fri 09:00-09:00 UTC", "00:00-24:00"),
    ])
    func rejectsWithAnOperatorMessage(input: String, mentions: String) {
        do {
            _ = try SendingWindow(parsing: input)
            Issue.record("accepted '\(input)'")
        } catch {
            #expect(error.description.contains(mentions), "\(error.description)")
        }
    }

    @Test("every message about the form shows the form")
    func messagesShowTheForm() {
        for input in ["", "09:00-17:00 UTC", "Mon-Fri UTC", "Mon-Fry 09:00-17:00 UTC"] {
            #expect(throws: SendingWindow.ParseError.self) { try SendingWindow(parsing: input) }
            do { _ = try SendingWindow(parsing: input) } catch { #expect(error.description.contains("Mon-Fri 09:00-17:00 Europe/Berlin")) }
        }
    }

    @Test("a Friday 16:59 Berlin send is inside; the window closes at 17:00 and opens again Monday 09:00")
    func fridayEveningToMonday() throws {
        let window = try SendingWindow(parsing: "Mon-Fri 09:00-17:00 Europe/Berlin")
        let friday = at("2025-01-10 16:59", "Europe/Berlin")
        #expect(window.contains(friday))
        #expect(window.nextOpening(atOrAfter: friday) == friday)
        #expect(window.closing(after: friday) == at("2025-01-10 17:00", "Europe/Berlin"))

        let closed = at("2025-01-10 17:00", "Europe/Berlin")
        #expect(!window.contains(closed))
        #expect(window.closing(after: closed) == nil)
        #expect(window.nextOpening(atOrAfter: closed) == at("2025-01-13 09:00", "Europe/Berlin"))
        #expect(window.nextOpening(atOrAfter: at("2025-01-11 12:00", "Europe/Berlin")) == utc("2025-01-13 08:00"))
        // Before opening on a weekday: the same morning.
        #expect(window.nextOpening(atOrAfter: at("2025-01-13 06:00", "Europe/Berlin")) == at("2025-01-13 09:00", "Europe/Berlin"))
        #expect(window.contains(at("2025-01-13 09:00", "Europe/Berlin")))
    }

    @Test("over the weekend Berlin moves to summer time: Monday 09:00 is 07:00 UTC, Friday's was 08:00 UTC")
    func springForwardWeekend() throws {
        let window = try SendingWindow(parsing: "Mon-Fri 09:00-17:00 Europe/Berlin")
        let fridayClose = utc("2025-03-28 16:00")
        #expect(window.closing(after: utc("2025-03-28 15:59")) == fridayClose)
        #expect(window.nextOpening(atOrAfter: fridayClose) == utc("2025-03-31 07:00"))
        #expect(!window.contains(utc("2025-03-31 06:30")))
        #expect(window.contains(utc("2025-03-31 07:00")))
    }

    @Test("on Berlin's spring-forward day the window is an hour shorter, and a missing time moves with the clock")
    func springForwardDay() throws {
        // 2025-03-30: 02:00 CET jumps to 03:00 CEST.
        let early = try SendingWindow(parsing: "Sun 01:00-05:00 Europe/Berlin")
        let opening = early.nextOpening(atOrAfter: utc("2025-03-29 12:00"))
        #expect(opening == utc("2025-03-30 00:00"))
        #expect(early.closing(after: opening) == utc("2025-03-30 03:00"))

        let missing = try SendingWindow(parsing: "Sun 02:30-04:00 Europe/Berlin")
        #expect(missing.nextOpening(atOrAfter: utc("2025-03-29 12:00")) == utc("2025-03-30 01:30"))  // 03:30 CEST
        #expect(missing.contains(utc("2025-03-30 01:45")))
    }

    @Test("on Berlin's fall-back day the window is an hour longer, and a repeated time means the first one")
    func fallBackDay() throws {
        // 2025-10-26: 03:00 CEST falls back to 02:00 CET.
        let window = try SendingWindow(parsing: "Sun 01:00-05:00 Europe/Berlin")
        let opening = window.nextOpening(atOrAfter: utc("2025-10-25 12:00"))
        #expect(opening == utc("2025-10-25 23:00"))
        #expect(window.closing(after: opening) == utc("2025-10-26 04:00"))
        #expect(window.contains(utc("2025-10-26 01:30")))  // 02:30 CET, the second 02:30

        let repeated = try SendingWindow(parsing: "Sun 02:30-04:00 Europe/Berlin")
        #expect(repeated.nextOpening(atOrAfter: utc("2025-10-25 12:00")) == utc("2025-10-26 00:30"))  // 02:30 CEST
    }

    @Test("a day list that wraps round the week (Fri-Mon) is open on Sunday and closed on Tuesday")
    func wrapAroundDays() throws {
        let window = try SendingWindow(parsing: "Fri-Mon 09:00-17:00 UTC")
        #expect(window.days == [.friday, .saturday, .sunday, .monday])
        #expect(window.contains(utc("2025-01-12 10:00")))  // Sunday
        #expect(!window.contains(utc("2025-01-14 10:00")))  // Tuesday
        #expect(window.nextOpening(atOrAfter: utc("2025-01-13 17:00")) == utc("2025-01-17 09:00"))  // Monday evening → Friday
    }

    @Test("an overnight window belongs to the day it starts")
    func overnight() throws {
        let window = try SendingWindow(parsing: "Fri 22:00-06:00 UTC")
        #expect(window.isOvernight)
        #expect(window.contains(utc("2025-01-10 23:00")))  // Friday night
        #expect(window.contains(utc("2025-01-11 05:59")))  // Saturday morning, still Friday's night
        #expect(!window.contains(utc("2025-01-11 22:30")))  // Saturday night is not listed
        #expect(!window.contains(utc("2025-01-10 05:00")))  // Friday morning is Thursday's night
        #expect(window.closing(after: utc("2025-01-11 01:00")) == utc("2025-01-11 06:00"))
        #expect(window.nextOpening(atOrAfter: utc("2025-01-11 06:00")) == utc("2025-01-17 22:00"))
    }

    @Test("periods that touch are one: a window open round the clock never closes, a long weekend closes on Tuesday")
    func contiguousPeriods() throws {
        let always = try SendingWindow(parsing: "Mon-Sun 00:00-24:00 UTC")
        #expect(always.contains(utc("2025-01-12 23:59")))
        #expect(always.nextOpening(atOrAfter: utc("2025-01-12 23:59")) == utc("2025-01-12 23:59"))
        #expect(always.closing(after: utc("2025-01-12 12:00")) == .distantFuture)

        let weekend = try SendingWindow(parsing: "Sat-Mon 00:00-24:00 UTC")
        #expect(weekend.closing(after: utc("2025-01-11 12:00")) == utc("2025-01-14 00:00"))
        #expect(weekend.nextOpening(atOrAfter: utc("2025-01-14 00:00")) == utc("2025-01-18 00:00"))

        let evening = try SendingWindow(parsing: "Mon 18:00-24:00 UTC")
        #expect(evening.closing(after: utc("2025-01-13 23:00")) == utc("2025-01-14 00:00"))
    }

    @Test("the hours are the window's own: New York's 10:00 is 15:00 UTC in winter")
    func otherZone() throws {
        let window = try SendingWindow(parsing: "Sat-Sun 10:00-14:00 America/New_York")
        #expect(window.nextOpening(atOrAfter: utc("2025-01-11 00:00")) == utc("2025-01-11 15:00"))
        #expect(window.contains(utc("2025-01-12 18:59")))
        #expect(!window.contains(utc("2025-01-12 19:00")))
    }
}
