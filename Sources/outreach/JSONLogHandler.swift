import Foundation
import Logging

/// `LOG_FORMAT=json`: one JSON object per line on standard error — `time` (ISO 8601, UTC, milliseconds), `level`,
/// `label`, `message`, then every metadata key (`job`, `round`, `row`, `account.email`, …) at the top level, so log
/// search tools can filter on them.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = "{\"time\":" + Self.quoted(Self.timestamp(Date())) + ",\"level\":" + Self.quoted(event.level.rawValue)
            + ",\"label\":" + Self.quoted(label) + ",\"message\":" + Self.quoted(event.message.description)
        for key in merged.keys.sorted() where !["time", "level", "label", "message"].contains(key) {
            line += "," + Self.quoted(key) + ":" + Self.json(merged[key]!)
        }
        line += "}\n"
        // One write per line: lines of concurrent tasks do not interleave.
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quoted(text)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values): "{" + values.keys.sorted().map { quoted($0) + ":" + json(values[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal (RFC 8259): quote, backslash and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
