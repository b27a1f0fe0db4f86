import Foundation
import Hummingbird

/// How much of a request's body the server reads. A body over the limit answers 413 with the limit in words; one that
/// cannot be read (a broken chunked encoding, a connection cut half-way) answers 400. Neither names an internal type.
struct BodyLimit: Sendable {
    let bytes: Int
    /// Says what was too large: "The file" or "This request's body".
    let subject: String

    /// Forms, the login and JSON requests (a job request carries one email template): small, and read before
    /// anyone is signed in.
    static let form = BodyLimit(bytes: 1024 * 1024, subject: "This request's body")
    /// A campaign's master file (CSV), uploaded as the body of `POST /api/campaigns`.
    static let upload = BodyLimit(bytes: 64 * 1024 * 1024, subject: "The file")

    /// "1 MiB", "64 MiB", "512 KiB".
    var words: String {
        bytes % (1024 * 1024) == 0 ? "\(bytes / (1024 * 1024)) MiB" : bytes % 1024 == 0 ? "\(bytes / 1024) KiB" : "\(bytes) bytes"
    }

    var tooLarge: HTTPError {
        HTTPError(.contentTooLarge, message: "\(subject) is larger than the server takes here: at most \(words).")
    }

    static let unreadable = HTTPError(
        .badRequest, message: "The request's body could not be read: its framing is broken (for example a bad chunk size), or it ended early."
    )

    /// Reads the whole body, keeping it on the request (the CSRF check and the route both read it).
    func collect(_ request: inout Request) async throws -> ByteBuffer {
        // A declared length over the limit is refused before a byte of the body is read.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > bytes { throw tooLarge }
        var collected = ByteBuffer()
        do {
            for try await part in request.body {
                guard collected.readableBytes + part.readableBytes <= bytes else { throw tooLarge }
                collected.writeImmutableBuffer(part)
            }
        } catch let error as HTTPError {
            throw error
        } catch {
            // The body stream fails only on a parse error or a broken connection: the client's request, not the server.
            throw Self.unreadable
        }
        request.body = .init(buffer: collected)
        return collected
    }
}
