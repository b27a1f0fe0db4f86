import Foundation
import Logging
import OutreachCore

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
        var line: [UInt8] = []
        line.reserveCapacity(256)
        func field(_ key: String, _ write: (inout [UInt8]) -> Void) {
            line.append(line.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
            JSONStringLiteral.append(key, to: &line)
            line.append(UInt8(ascii: ":"))
            write(&line)
        }
        field("time") { JSONStringLiteral.append(Self.timestamp(Date()), to: &$0) }
        field("level") { JSONStringLiteral.append(event.level.rawValue, to: &$0) }
        field("label") { JSONStringLiteral.append(label, to: &$0) }
        field("message") { JSONStringLiteral.append(event.message.description, to: &$0) }
        for key in merged.keys.sorted() where !["time", "level", "label", "message"].contains(key) {
            field(key) { Self.append(merged[key]!, to: &$0) }
        }
        line += Array("}\n".utf8)
        // One write per line: lines of concurrent tasks do not interleave.
        FileHandle.standardError.write(Data(line))
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    static func append(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let text): JSONStringLiteral.append(text, to: &out)
        case .stringConvertible(let convertible): JSONStringLiteral.append(convertible.description, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let values):
            out.append(UInt8(ascii: "{"))
            for (index, key) in values.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONStringLiteral.append(key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(values[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
