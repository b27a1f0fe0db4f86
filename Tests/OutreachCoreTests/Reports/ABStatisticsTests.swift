import Testing

@testable import OutreachCore

@Suite struct ABStatisticsTests {
    @Test("Wilson interval matches published values and stays within 0…1")
    func wilson() {
        // 10 replies of 100: 5.52% – 17.44% (Newcombe 1998, method 3).
        let (low, high) = ABStatistics.wilsonInterval(successes: 10, trials: 100)
        #expect(abs(low - 0.0552) < 0.0005 && abs(high - 0.1744) < 0.0005, "\(low) \(high)")
        let zero = ABStatistics.wilsonInterval(successes: 0, trials: 20)
        #expect(zero.low == 0 && zero.high > 0.13 && zero.high < 0.17)
        #expect(ABStatistics.wilsonInterval(successes: 0, trials: 0) == (0, 0))
    }

    @Test("two-proportion test: 30/200 against 15/200 is significant, 11/100 against 9/100 is not")
    func comparison() throws {
        let clear = try #require(ABStatistics.compare(successesA: 15, trialsA: 200, successesB: 30, trialsB: 200))
        #expect(clear.significant && clear.z > 2.3 && clear.z < 2.5, "\(clear)")
        let close = try #require(ABStatistics.compare(successesA: 9, trialsA: 100, successesB: 11, trialsB: 100))
        #expect(!close.significant && close.pValue > 0.6)
        #expect(ABStatistics.compare(successesA: 0, trialsA: 10, successesB: 0, trialsB: 10) == nil)
    }
}
