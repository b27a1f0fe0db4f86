import Foundation
import OutreachCore
import Testing

struct DailyCapTests {
    private let now = Date(timeIntervalSince1970: 1_736_496_000)
    private func hoursAgo(_ h: Double) -> Date { now.addingTimeInterval(-h * 3600) }

    @Test(arguments: [
        ("smtp.gmail.com", 500), ("SMTP.Gmail.com.", 500), ("smtp.googlemail.com", 500),
        ("smtp-mail.outlook.com", 300), ("smtp.office365.com", 10_000), ("outlook.office365.com", 10_000),
        ("mail.example.com", 1_000), ("notoffice365.com", 1_000),
    ])
    func providerDefaults(host: String, limit: Int) {
        #expect(DailyCap.default(smtpHost: host).limit == limit)
    }

    @Test("below the cap a message may go now")
    func belowCap() {
        let cap = DailyCap(limit: 3)
        #expect(cap.nextSlot(sentAt: [hoursAgo(1), hoursAgo(2)], now: now) == nil)
        #expect(cap.nextSlot(sentAt: [], now: now) == nil)
    }

    @Test("at the cap the next slot is when the oldest of the last `limit` sends is 24 h old")
    func atCap() {
        let cap = DailyCap(limit: 3)
        let sends = [hoursAgo(1), hoursAgo(20), hoursAgo(5), hoursAgo(30), hoursAgo(48)]  // unsorted, two too old to count
        let slot = cap.nextSlot(sentAt: sends, now: now)
        #expect(slot == hoursAgo(20).addingTimeInterval(24 * 3600))
        #expect(slot == now.addingTimeInterval(4 * 3600))
    }

    @Test("the cap rolls: at the slot one more may go, and the one after waits for the next send to age out")
    func rolls() throws {
        let cap = DailyCap(limit: 2)
        var sends = [hoursAgo(10), hoursAgo(3)]
        let slot = try #require(cap.nextSlot(sentAt: sends, now: now))
        #expect(slot == now.addingTimeInterval(14 * 3600))
        #expect(cap.nextSlot(sentAt: sends, now: slot) == nil)
        sends.append(slot)
        #expect(cap.nextSlot(sentAt: sends, now: slot) == now.addingTimeInterval(21 * 3600))
    }

    @Test("a send exactly 24 h ago no longer counts")
    func windowIsHalfOpen() {
        let cap = DailyCap(limit: 1)
        #expect(cap.nextSlot(sentAt: [hoursAgo(24)], now: now) == nil)
        #expect(cap.nextSlot(sentAt: [hoursAgo(23.99)], now: now) != nil)
    }

    @Test("over the cap (it was lowered) the account waits until it is below it again")
    func overCap() {
        let cap = DailyCap(limit: 2)
        let sends = [hoursAgo(1), hoursAgo(2), hoursAgo(3), hoursAgo(4)]
        #expect(cap.nextSlot(sentAt: sends, now: now) == hoursAgo(2).addingTimeInterval(24 * 3600))
    }

    @Test("a cap of 0 is no cap")
    func zeroIsOff() {
        #expect(DailyCap(limit: 0).nextSlot(sentAt: [hoursAgo(1)], now: now) == nil)
        #expect(DailyCap(limit: -5).limit == 0)
    }
}
