import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Listens on 127.0.0.1 on a free port for the browser's OAuth redirect (RFC 8252 §7.3), answers it with a short
/// page, and hands back the redirect's query parameters.
///
/// Plain POSIX sockets on a thread of its own: it serves one browser, one request at a time. Requests for other
/// paths (`/favicon.ico`) get a 404 and the wait goes on. One ``waitForRedirect(timeoutSeconds:)`` at a time.
public final class LoopbackRedirectListener: Sendable {
    public let port: Int
    public let path: String
    private let socket: Int32
    private let closing = ClosedFlag()

    /// Binds 127.0.0.1 on a port the system picks.
    public init(path: String = "/oauth2/callback") throws(TransportError) {
        self.path = path.hasPrefix("/") ? path : "/" + path
        #if canImport(Glibc)
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Self.failure("could not open a socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = Self.failure("could not listen on 127.0.0.1")
            _ = Self.closeDescriptor(fd)
            throw error
        }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let error = Self.failure("could not read the listening port")
            _ = Self.closeDescriptor(fd)
            throw error
        }
        self.socket = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { _ = Self.closeDescriptor(socket) }

    /// `http://127.0.0.1:PORT/oauth2/callback`: what the consent URL names as `redirect_uri`.
    public var redirectURI: String { "http://127.0.0.1:\(port)\(path)" }

    /// Waits for the browser to come back to ``redirectURI`` with `code` or `error`, and returns its query
    /// parameters. Cancelling the task stops the wait with ``OAuthError/transport(_:)`` `.withdrawn`.
    ///
    /// - Parameter expectedState: when given, a redirect with another `state` gets a "not connected" page and the
    ///   wait goes on: whatever else can reach the port can neither connect an account nor cancel the sign-in.
    public func waitForRedirect(timeoutSeconds: Int, expectedState: String? = nil) async throws(OAuthError) -> [String: String] {
        let deadline = Date().addingTimeInterval(Double(timeoutSeconds))
        let result: Result<[String: String], OAuthError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: self.serve(until: deadline, timeoutSeconds: timeoutSeconds, expectedState: expectedState)) }
                thread.name = "oauth redirect :\(port)"
                thread.start()
            }
        } onCancel: {
            close()
        }
        return try result.get()
    }

    /// Stops listening. A running wait ends with `.withdrawn`.
    public func close() {
        // shutdown, not close: the waiting thread may still poll this descriptor, and a closed number could be
        // reused by another file meanwhile. deinit closes it.
        if closing.set() { _ = shutdown(socket, Int32(SHUT_RDWR)) }
    }

    // MARK: - Internals

    private func serve(until deadline: Date, timeoutSeconds: Int, expectedState: String?) -> Result<[String: String], OAuthError> {
        while true {
            if closing.isSet {
                return .failure(.transport(TransportError(.withdrawn, server: "OAuth redirect listener", detail: "the sign-in was cancelled before the browser came back")))
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return .failure(.timedOut(seconds: timeoutSeconds)) }
            // Short slices, so close() and the deadline are noticed promptly.
            var entry = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32(min(remaining, 0.25) * 1000)) > 0, !closing.isSet else { continue }
            let client = accept(socket, nil, nil)
            guard client >= 0 else { continue }
            defer { _ = Self.closeDescriptor(client) }
            if let parameters = answer(client, expectedState: expectedState) { return .success(parameters) }
        }
    }

    /// Reads one request from a browser connection and answers it; the parameters when it was the redirect.
    private func answer(_ client: Int32, expectedState: String?) -> [String: String]? {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < 16_384, !received.containsHeaderEnd {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received.append(contentsOf: buffer[0..<n])
        }
        let requestLine = String(decoding: received.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET" else {
            respond(client, status: "405 Method Not Allowed", title: "Not here", message: "This address only takes the browser's sign-in redirect.")
            return nil
        }
        let target = parts[1]
        let requestPath = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        guard requestPath == path else {
            respond(client, status: "404 Not Found", title: "Not found", message: "Nothing here.")
            return nil
        }
        let query = target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } ?? ""
        let parameters = FormEncoding.decodeQuery(query)
        if let expectedState, parameters["state"] != expectedState, parameters["code"] != nil || parameters["error"] != nil {
            respond(client, status: "400 Bad Request", title: "Outreach was not connected", message: "This sign-in was not started by the Outreach run that is waiting. Start the connection again from Outreach.")
            return nil
        }
        if let error = parameters["error"] {
            let detail = parameters["error_description"].map { "\(error): \($0)" } ?? error
            respond(client, status: "200 OK", title: "Outreach was not connected", message: "Google answered: \(detail). Go back to Outreach for what to do next.")
            return parameters
        }
        guard parameters["code"] != nil else {
            respond(client, status: "400 Bad Request", title: "Not a sign-in", message: "This address waits for Google's sign-in redirect.")
            return nil
        }
        respond(client, status: "200 OK", title: "Outreach is connected", message: "You can close this tab and go back to Outreach.")
        return parameters
    }

    private func respond(_ client: Int32, status: String, title: String, message: String) {
        let html = """
            <!doctype html><html><head><meta charset="utf-8"><title>\(Self.escape(title))</title></head>\
            <body style="font-family:sans-serif;margin:3em"><h1>\(Self.escape(title))</h1><p>\(Self.escape(message))</p></body></html>
            """
        let body = Array(html.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(body.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8) + body
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes { send(client, $0.baseAddress! + sent, $0.count - sent, Self.noSignal) }
            guard n > 0 else { return }
            sent += n
        }
    }

    #if canImport(Glibc)
    private static let noSignal = Int32(MSG_NOSIGNAL)
    #else
    private static let noSignal: Int32 = 0  // SIGPIPE is ignored process-wide (ProcessSetup)
    #endif

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func failure(_ what: String) -> TransportError {
        TransportError(.connection, server: "OAuth redirect listener", detail: "\(what): \(String(cString: strerror(errno)))")
    }

    private static func closeDescriptor(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }
}

/// Set once by `close()`, read by the waiting thread.
private final class ClosedFlag: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = false

    /// Sets the flag; true if this call was the one that set it.
    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if value { return false }
        value = true
        return true
    }

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

extension [UInt8] {
    fileprivate var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 { return true }
        return false
    }
}
