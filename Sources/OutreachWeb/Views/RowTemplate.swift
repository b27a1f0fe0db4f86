import Foundation

/// A table row rendered many times per page (the job list, a job's log): `{{name}}` replaced by a string value,
/// HTML-escaped. Parsed once; rendering is string appends. The general Mustache renderer looks every value up
/// through dynamic casts, which made a 100-row job list cost milliseconds under load.
struct RowTemplate: Sendable {
    private enum Piece: Sendable {
        case text(String)
        case value(String)
    }

    private let pieces: [Piece]

    init(_ source: String) {
        var pieces: [Piece] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            pieces.append(.text(String(rest[..<open.lowerBound])))
            pieces.append(.value(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        pieces.append(.text(String(rest)))
        self.pieces = pieces
    }

    func render(_ values: [String: String], into output: inout String) {
        for piece in pieces {
            switch piece {
            case .text(let text): output += text
            case .value(let name): Self.escape(values[name] ?? "", into: &output)
            }
        }
    }

    func render(_ rows: [[String: String]]) -> String {
        var output = ""
        output.reserveCapacity(rows.count * 512)
        for row in rows { render(row, into: &output) }
        return output
    }

    static func escape(_ text: String, into output: inout String) {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }) else {
            output += text
            return
        }
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.append(character)
            }
        }
    }
}
