/// Settings for reading prospect CSVs, from the configuration (`.env` and the environment), used by the CLI's
/// `campaign import` and the web upload alike.
public struct CSVImportSettings: Sendable, Equatable {
    /// The longest value one cell may hold, in bytes (``CSVParser/maximumFieldLength``).
    public var maximumFieldBytes: Int = CSVParser.defaultMaximumFieldLength

    public static let maximumFieldBytesName = "OUTREACH_CSV_MAX_FIELD_BYTES"

    public init() {}

    /// Reads `OUTREACH_CSV_MAX_FIELD_BYTES`: bytes, or with a unit (`512KiB`, `4MiB`; `K`, `KB`, `M`, `MB` mean the
    /// same powers of 1024). Empty or absent: 1 MiB.
    public init(settings: [String: String]) throws(CSVImportSettingsError) {
        self.init()
        let name = Self.maximumFieldBytesName
        guard let raw = settings[name] else { return }
        let text = raw.trimmingASCIIWhitespace()
        guard !text.isEmpty else { return }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count).trimmingASCIIWhitespace().lowercased()
        let multiplier: Int? =
            switch unit {
            case "", "b": 1
            case "k", "kb", "kib": 1 << 10
            case "m", "mb", "mib": 1 << 20
            default: nil
            }
        guard let multiplier, let number = Int(digits), number > 0, number <= Int(Int32.max) / multiplier else {
            throw CSVImportSettingsError(name: name, value: raw, problem: "give a size in bytes, such as 1048576, 512KiB or 4MiB (at most 2 GiB)")
        }
        maximumFieldBytes = number * multiplier
    }
}

public struct CSVImportSettingsError: Error, Equatable, CustomStringConvertible {
    public let name: String
    public let value: String
    public let problem: String
    public var description: String { "\(name)=\(value.visiblyEscaped): \(problem)" }
}
