import Foundation

/// Reply rates of A/B variants: a 95% interval per variant and whether two variants really differ.
public enum ABStatistics {
    /// z for a two-sided 95% interval.
    public static let z95 = 1.959963984540054

    /// The Wilson score interval for `successes` out of `trials`: unlike the textbook p ± z·se it stays inside 0…1
    /// and behaves at small counts and rates near 0, which is where reply rates live.
    public static func wilsonInterval(successes: Int, trials: Int, z: Double = z95) -> (low: Double, high: Double) {
        guard trials > 0 else { return (0, 0) }
        let n = Double(trials), p = Double(successes) / n, z2 = z * z
        let center = (p + z2 / (2 * n)) / (1 + z2 / n)
        let margin = z * ((p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()) / (1 + z2 / n)
        return (max(0, center - margin), min(1, center + margin))
    }

    public struct Comparison: Sendable, Equatable {
        public let z: Double
        /// Two-sided.
        public let pValue: Double
        public var significant: Bool { pValue < 0.05 }
    }

    /// The two-proportion z-test (pooled) of variant b against variant a. Nil when either has no trials or the
    /// pooled rate is 0 or 1 (no variance: nothing to test).
    public static func compare(successesA: Int, trialsA: Int, successesB: Int, trialsB: Int) -> Comparison? {
        guard trialsA > 0, trialsB > 0 else { return nil }
        let pa = Double(successesA) / Double(trialsA), pb = Double(successesB) / Double(trialsB)
        let pooled = Double(successesA + successesB) / Double(trialsA + trialsB)
        let variance = pooled * (1 - pooled) * (1 / Double(trialsA) + 1 / Double(trialsB))
        guard variance > 0 else { return nil }
        let z = (pb - pa) / variance.squareRoot()
        // P(|Z| > |z|) = erfc(|z| / √2).
        return Comparison(z: z, pValue: erfc(abs(z) / 2.0.squareRoot()))
    }
}
