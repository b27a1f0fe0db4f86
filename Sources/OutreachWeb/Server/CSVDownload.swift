import Foundation
import Hummingbird
import NIOCore

/// A CSV file the browser saves: `text/csv; charset=utf-8`, `Content-Disposition: attachment` with a file name made
/// safe, the body streamed as the exporter writes it (a campaign of a million rows is never held in memory). The
/// exporters write every cell through `CSVWriter`, the formula-injection guard `outreach campaign export` uses.
enum CSVDownload {
    /// Lines are sent in chunks of about this many bytes.
    static let chunkBytes = 64 * 1024

    /// - Parameter produce: writes the file, line by line, through the function it is given.
    static func response(fileName: String, produce: @escaping @Sendable (_ write: (String) async throws -> Void) async throws -> Void) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(fileName)\""
        headers[.cacheControl] = "no-store"
        let body = ResponseBody { writer in
            var chunk = ByteBuffer()
            try await produce { line in
                chunk.writeString(line)
                if chunk.readableBytes >= chunkBytes {
                    try await writer.write(chunk)
                    chunk.clear()
                }
            }
            if chunk.readableBytes > 0 { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// A file name from a campaign's name and what the file is ("Q4 Leads", "master" → `Q4-Leads-master.csv`): ASCII
    /// letters, digits, `.`, `_` and `-` only, so no quote, slash, CR/LF or non-ASCII byte reaches the header or the
    /// user's file system; a name with none of those letters gives `campaign-….csv`.
    static func fileName(_ name: String, _ suffix: String) -> String {
        var safe = ""
        for scalar in name.unicodeScalars {
            let allowed = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == ".")
            if allowed {
                safe.unicodeScalars.append(scalar)
            } else if !safe.isEmpty, !safe.hasSuffix("-") {
                safe.append("-")
            }
        }
        while safe.hasSuffix("-") || safe.hasSuffix(".") { safe.removeLast() }
        while safe.hasPrefix(".") { safe.removeFirst() }
        return String((safe.isEmpty ? "campaign" : safe).prefix(80)) + "-" + suffix + ".csv"
    }
}
