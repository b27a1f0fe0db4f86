import Foundation

/// Reads a seed-style `.env` file: `KEY=value` lines, `#` comments, optional `export `, single or double quotes,
/// and `${OTHER}` references to keys defined earlier in the file or in the process environment.
public struct DotEnv: Sendable, Equatable {
    public private(set) var values: [String: String] = [:]

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let reason: String
        public var description: String { ".env line \(line): \(reason)" }
    }

    public subscript(key: String) -> String? { values[key] }

    /// - Parameters:
    ///   - text: the file's contents.
    ///   - environment: used to resolve `${NAME}` that the file itself does not define.
    public init(parsing text: String, environment: [String: String] = [:]) throws(Problem) {
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine.trimmingASCIIWhitespace())
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count) }
            guard let eq = line.firstIndex(of: "=") else { throw Problem(line: lineNumber, reason: "expected KEY=value") }
            let key = line[..<eq].trimmingASCIIWhitespace()
            guard !key.isEmpty, key.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw Problem(line: lineNumber, reason: "'\(key)' is not a valid variable name")
            }
            var value = Substring(line[line.index(after: eq)...].trimmingASCIIWhitespace())
            var interpolate = true
            if let quote = value.first, quote == "\"" || quote == "'" {
                guard value.count >= 2, value.last == quote else { throw Problem(line: lineNumber, reason: "unterminated \(quote) quote") }
                value = value.dropFirst().dropLast()
                interpolate = quote == "\""
            } else if value.hasPrefix("#") {
                value = ""
            } else if let hash = value.range(of: " #") {
                value = Substring(value[..<hash.lowerBound].trimmingASCIIWhitespace())
            }
            values[key] = interpolate ? Self.expand(String(value), known: values, environment: environment) : String(value)
        }
    }

    private static func expand(_ value: String, known: [String: String], environment: [String: String]) -> String {
        var out = ""
        var rest = Substring(value)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = String(rest[open.upperBound..<close])
            out += known[name] ?? environment[name] ?? ""
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
