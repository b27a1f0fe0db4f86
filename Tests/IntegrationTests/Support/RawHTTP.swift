import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over a plain loopback socket, for what a library client will not send: a body longer than the server
/// takes, a broken chunk size, a `Host` or `Origin` of the test's choosing, a connection that sends nothing. Every
/// request says `Connection: close`, so a response ends where the server closes.
enum RawHTTP {
    struct Response: CustomStringConvertible {
        let status: Int
        let headers: [(name: String, value: String)]
        let body: Data

        var text: String { String(decoding: body, as: UTF8.self) }
        /// The text with Mustache's HTML escapes undone: what a browser shows.
        var shown: String {
            text.replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        }
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
        func headers(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
        var description: String { "\(status) \(text.prefix(400))" }
    }

    /// A connected, blocking socket to 127.0.0.1:`port`.
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw HarnessError("connect to 127.0.0.1:\(port) failed: \(errno)")
        }
        return fd
    }

    /// Sends `head` and `body` while reading the answer (a server may answer before the body is all sent, and stop
    /// reading it), until the server closes. Fails after `timeout` seconds without the end of a response.
    static func exchange(port: Int, head: String, body: Data = Data(), timeout: TimeInterval = 30) throws -> Response {
        let fd = try connect(port: port)
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var outgoing = Data(head.utf8) + body
        var received = Data()
        var sending = true
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN) | (sending && !outgoing.isEmpty ? Int16(POLLOUT) : 0), revents: 0)
            guard poll(&poller, 1, 100) >= 0 else { throw HarnessError("poll failed: \(errno)") }
            if poller.revents & Int16(POLLOUT) != 0 {
                let sent = outgoing.withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, 65_536), Int32(MSG_NOSIGNAL)) }
                if sent > 0 { outgoing.removeFirst(sent) } else if errno != EAGAIN { sending = false }
            }
            if poller.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 {
                    received.append(contentsOf: buffer[0..<count])
                } else if count == 0 || errno != EAGAIN {
                    return try parse(received)
                }
            }
        }
        throw HarnessError("no complete answer within \(Int(timeout)) s; received so far: \(String(decoding: received.prefix(300), as: UTF8.self))")
    }

    static func parse(_ data: Data) throws -> Response {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else {
            throw HarnessError("the server closed without a complete response head: \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw HarnessError("not an HTTP status line: \(lines[0])") }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Data(data[end.upperBound...])
        if headers.contains(where: { $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked") }) {
            body = dechunk(body)
        } else if let length = headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap({ Int($0.value) }), body.count > length {
            body = body.prefix(length)
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: Data) -> Data {
        var result = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size else { break }
            let stop = rest.index(start, offsetBy: size)
            result.append(rest[start..<stop])
            rest = rest[stop...].dropFirst(2)
        }
        return result
    }

    /// `body` as chunks of `size` bytes, with the terminating empty chunk.
    static func chunked(_ body: Data, size: Int = 16_384) -> Data {
        var out = Data()
        var offset = 0
        while offset < body.count {
            let piece = body[offset..<min(offset + size, body.count)]
            out.append(Data("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Data("\r\n".utf8))
            offset += size
        }
        return out + Data("0\r\n\r\n".utf8)
    }

    /// Seconds until the server closes each of these connections (nil: still open at `deadline`); `trickle` connections
    /// send the next byte of a request head every `interval` seconds meanwhile.
    static func secondsUntilClosed(_ sockets: [(fd: Int32, trickle: Bool)], interval: TimeInterval = 1, deadline seconds: TimeInterval) -> [TimeInterval?] {
        let started = Date()
        let head = Array("GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 10_000)
        var closedAfter = [TimeInterval?](repeating: nil, count: sockets.count)
        var sent = 0
        var nextByte = started
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(started) < seconds && closedAfter.contains(where: { $0 == nil }) {
            if Date() >= nextByte {
                for (index, socket) in sockets.enumerated() where socket.trickle && closedAfter[index] == nil {
                    _ = head[sent...].withUnsafeBytes { send(socket.fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
                }
                sent += 1
                nextByte = nextByte.addingTimeInterval(interval)
            }
            var pollers = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&pollers, nfds_t(pollers.count), 100)
            for (index, poller) in pollers.enumerated() where closedAfter[index] == nil && poller.revents != 0 {
                // Whatever the server wrote before closing (nothing, or a 4xx) is read; 0 or an error is the close.
                let count = recv(poller.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count <= 0 { closedAfter[index] = Date().timeIntervalSince(started) }
            }
        }
        return closedAfter
    }
}

/// Runs blocking socket work on a thread of its own: the tests' cooperative pool (two threads on a small machine)
/// must not wait on a socket, or other tests' servers seem not to start.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A signed-in (or not yet signed-in) browser, by hand: its cookies, and the CSRF token its pages carry.
final class RawWebClient {
    let port: Int
    private(set) var cookies: [String: String] = [:]
    private(set) var csrf = ""

    init(port: Int) { self.port = port }

    var base: String { "http://127.0.0.1:\(port)" }

    /// One request; `headers` win over the defaults (Host, Cookie, Content-Length, Connection).
    @discardableResult
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: Data = Data(), timeout: TimeInterval = 30) async throws -> RawHTTP.Response {
        var fields: [String: String] = ["Host": "127.0.0.1:\(port)", "Connection": "close"]
        if !cookies.isEmpty { fields["Cookie"] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        if method != "GET" && headers["Transfer-Encoding"] == nil { fields["Content-Length"] = String(body.count) }
        fields.merge(headers) { $1 }
        let head = "\(method) \(path) HTTP/1.1\r\n" + fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)\r\n" }.joined() + "\r\n"
        let port = port
        let response = try await offThePool { try RawHTTP.exchange(port: port, head: head, body: body, timeout: timeout) }
        for cookie in response.headers("Set-Cookie") {
            let pair = cookie.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if cookie.lowercased().contains("max-age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
        }
        if let token = Self.firstMatch(#"data-csrf="([0-9a-f]+)""#, in: response.text) { csrf = token }
        return response
    }

    static func formBody(_ fields: [(String, String)]) -> Data {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Data(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&").utf8)
    }

    /// A form post carrying the page's CSRF token.
    @discardableResult
    func postForm(_ path: String, _ fields: [(String, String)], headers: [String: String] = [:]) async throws -> RawHTTP.Response {
        try await request("POST", path, headers: ["Content-Type": "application/x-www-form-urlencoded"].merging(headers) { $1 }, body: Self.formBody([("_csrf", csrf)] + fields))
    }

    /// A JSON API call carrying the session's CSRF token.
    @discardableResult
    func postJSON(_ path: String, _ object: Any, headers: [String: String] = [:]) async throws -> RawHTTP.Response {
        try await request(
            "POST", path, headers: ["Content-Type": "application/json", "X-CSRF-Token": csrf].merging(headers) { $1 },
            body: try JSONSerialization.data(withJSONObject: object)
        )
    }

    /// The login page's token (and its cookie): what a sign-in posts back.
    func loginToken() async throws -> String {
        let page = try await request("GET", "/login")
        guard let token = Self.firstMatch(#"name="_csrf" value="([0-9a-f]+)""#, in: page.text) else { throw HarnessError("no CSRF token on /login: \(page)") }
        return token
    }

    /// Signs in as the login form does, then reads the session's CSRF token from a page.
    func signIn(_ email: String, _ password: String) async throws {
        let token = try await loginToken()
        let answer = try await request(
            "POST", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Self.formBody([("_csrf", token), ("email", email), ("password", password)])
        )
        guard answer.status == 303 || answer.status == 302, cookies["outreach_session"] != nil else { throw HarnessError("\(email) could not sign in: \(answer)") }
        try await request("GET", "/help")
        guard !csrf.isEmpty else { throw HarnessError("no CSRF token on /help after signing in") }
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }
}

/// A loopback port nothing listens on, for a server whose address must be known before it starts (its public URL).
enum FreePort {
    static func pick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("could not find a free port: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
