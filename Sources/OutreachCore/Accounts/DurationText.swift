/// Durations as operators write them: `30s`, `2m`, `1h30m`, `500ms`, `1.5h`, `0`; a bare number is seconds.
public enum DurationText {
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let text: String
        public var description: String { "'\(text)' is not a duration; write it like 30s, 2m, 1h30m or 500ms" }
    }

    public static func seconds(_ text: String) throws(Invalid) -> Double {
        let input = text.trimmingASCIIWhitespace().lowercased()
        guard !input.isEmpty else { throw Invalid(text: text) }
        if let plain = Double(input), plain >= 0 { return plain }
        var total = 0.0
        var number = ""
        var unit = ""
        func flush() throws(Invalid) {
            guard let value = Double(number), value >= 0 else { throw Invalid(text: text) }
            switch unit {
            case "ms": total += value / 1000
            case "s", "sec": total += value
            case "m", "min": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            default: throw Invalid(text: text)
            }
            number = ""
            unit = ""
        }
        for character in input {
            if character.isNumber || character == "." {
                if !unit.isEmpty { try flush() }
                number.append(character)
            } else if character.isLetter {
                guard !number.isEmpty else { throw Invalid(text: text) }
                unit.append(character)
            } else if character != " " {
                throw Invalid(text: text)
            }
        }
        guard !number.isEmpty, !unit.isEmpty else { throw Invalid(text: text) }
        try flush()
        return total
    }

    /// The short form used in listings: `30s`, `2m`, `1h30m`, `0`.
    public static func format(seconds: Double) -> String {
        if seconds == 0 { return "0" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        var rest = Int(seconds.rounded())
        var parts: [String] = []
        for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        return parts.joined()
    }
}
