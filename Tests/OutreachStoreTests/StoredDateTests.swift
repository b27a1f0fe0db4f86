import Foundation
import GRDB
import Testing

@testable import OutreachStore

struct StoredDateTests {
    @Test("dates are written exactly as GRDB writes them, and read back to the millisecond")
    func sameTextAsGRDB() {
        var generator = SystemRandomNumberGenerator()
        let dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.25), Date(timeIntervalSince1970: 951_868_799.999), Date()]
            + (0..<2_000).map { _ in Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000, using: &generator)) }
        for date in dates {
            guard case .string(let grdb) = date.databaseValue.storage else {
                Issue.record("GRDB did not store \(date) as text")
                continue
            }
            #expect(StoredDate.format(date) == grdb, "\(date.timeIntervalSince1970)")
            // The same instant; GRDB's calendar arithmetic may round the last bit of the Double differently.
            let parsed = StoredDate.parse(grdb)?.timeIntervalSinceReferenceDate ?? .nan
            let decoded = Date.fromDatabaseValue(date.databaseValue)?.timeIntervalSinceReferenceDate ?? .infinity
            #expect(abs(parsed - decoded) < 1e-6, "\(grdb): \(parsed) vs \(decoded)")
        }
    }
}
