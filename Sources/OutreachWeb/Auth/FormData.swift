import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// An `application/x-www-form-urlencoded` body (or query string), keeping repeated keys: checkboxes named `row`
/// arrive once per checked box.
struct FormData: Sendable {
    private(set) var pairs: [(String, String)] = []

    init(_ encoded: String) {
        for part in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(halves[0])
            let value = halves.count > 1 ? Self.decode(halves[1]) : ""
            pairs.append((key, value))
        }
    }

    /// Fields that arrived as JSON, looked up the same way.
    init(fields: [String: String]) {
        pairs = fields.map { ($0.key, $0.value) }
    }

    static func decode(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
    }

    subscript(_ key: String) -> String? { pairs.first { $0.0 == key }?.1 }
    func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }

    /// A trimmed, non-empty value.
    func text(_ key: String) -> String? {
        guard let value = self[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    func flag(_ key: String) -> Bool { ["on", "1", "true", "yes"].contains(self[key]?.lowercased() ?? "") }
}
