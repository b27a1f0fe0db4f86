import CCurl
import Foundation
import Logging
import OutreachCore

/// A small blocking HTTP/1.1 (or HTTP/2 over TLS) client through libcurl, confined to its own thread.
///
/// One curl easy handle: consecutive requests to the same host reuse the TCP/TLS connection. Every HTTP status is
/// an answer and is returned; only a missing answer throws. Redirects are not followed, so a caller sees a `302`
/// as it came.
public actor HTTPClient {
    private let label: String
    private let trust: TLSTrust
    private let logger: Logger
    private let timeoutSeconds: Int
    private let executor: DedicatedThreadExecutor
    private var handle: UnsafeMutableRawPointer?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// - Parameters:
    ///   - label: names the client's thread (`http gmail alice@example.com`).
    ///   - timeoutSeconds: the longest one request may take, connection included.
    public init(label: String, trust: TLSTrust = TLSTrust(), logger: Logger, timeoutSeconds: Int = 60) {
        ProcessSetup.prepare()
        self.label = label
        self.trust = trust
        self.logger = logger
        self.timeoutSeconds = timeoutSeconds
        self.executor = DedicatedThreadExecutor(name: "http \(label)")
    }

    isolated deinit {
        if let handle { curl_easy_cleanup(handle) }
        executor.shutdown()
    }

    /// One request on the reused connection.
    ///
    /// Throws ``TransportError`` `.connection`, `.timeout` or `.certificate` when no HTTP answer came and the request
    /// did not completely go out, so repeating it is safe. Throws `.outcomeUnknown` when the whole request went out
    /// (or an answer had begun) before the connection broke: the server may have acted on it. A request with a body
    /// is never sent a second time by curl on its own. Any HTTP status is returned, not thrown.
    public func send(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse {
        let server = Self.serverName(request.url)
        // Tokens, client secrets and messages travel in these requests: in the clear only to this machine (tests).
        if request.url.lowercased().hasPrefix("http://"), !Self.isLoopback(request.url) {
            throw TransportError(
                .configuration, server: server,
                detail: "refusing to send credentials over plain http:// to a host other than this machine; use the https:// URL"
            )
        }
        if handle == nil { handle = curl_easy_init() }
        guard let curl = handle else { throw TransportError(.configuration, server: server, detail: "libcurl could not create a handle") }
        let method = request.method.uppercased()
        let body = request.body ?? (method == "POST" || method == "PUT" || method == "PATCH" ? [] : nil)
        let transfer = Transfer(upload: body ?? [])
        let box = Unmanaged.passUnretained(transfer).toOpaque()

        // The handle is reused: put back what the previous request's method changed.
        ccurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, nil)
        ccurl_setopt_long(curl, CURLOPT_NOBODY, 0)
        ccurl_setopt_long(curl, CURLOPT_HTTPGET, 1)
        if let body {
            // The body comes from a read callback with no way to rewind it, never from POSTFIELDS: when a reused
            // connection dies after the request went out, curl may not silently send it again on a new one (a
            // message could go out twice); the perform fails and the caller hears `.outcomeUnknown`.
            ccurl_setopt_long(curl, CURLOPT_POST, 1)
            ccurl_setopt_pointer(curl, CURLOPT_POSTFIELDS, nil)
            ccurl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, body.count)
            if method != "POST" { ccurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method) }
        } else if method == "HEAD" {
            ccurl_setopt_long(curl, CURLOPT_NOBODY, 1)
        } else if method != "GET" {
            ccurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method)
        }
        ccurl_setopt_read_callback(curl) { buffer, size, count, context in
            guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            let n = min(size * count, transfer.upload.count - transfer.offset)
            guard n > 0 else { return 0 }
            transfer.upload.withUnsafeBytes { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + transfer.offset, byteCount: n)
            }
            transfer.offset += n
            return n
        }
        ccurl_setopt_pointer(curl, CURLOPT_READDATA, box)

        ccurl_setopt_string(curl, CURLOPT_URL, request.url)
        ccurl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https")
        ccurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0)
        ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, min(30, timeoutSeconds))
        ccurl_setopt_long(curl, CURLOPT_TIMEOUT, timeoutSeconds)
        ccurl_setopt_string(curl, CURLOPT_USERAGENT, "Outreach")
        ccurl_setopt_string(curl, CURLOPT_ACCEPT_ENCODING, "")
        if let caFile = trust.caFile { ccurl_setopt_string(curl, CURLOPT_CAINFO, caFile) }
        if trust.allowInsecure {
            logger.warning("TLS certificate NOT verified: insecure connections are allowed", metadata: ["server.address": "\(server)"])
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 0)
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 0)
        } else {
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1)
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2)
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for header in request.headers { list = curl_slist_append(list, "\(header.name): \(header.value)") }
        // curl would add "Expect: 100-continue" to large bodies and wait for an answer a server may never give.
        list = curl_slist_append(list, "Expect:")
        ccurl_setopt_slist(curl, CURLOPT_HTTPHEADER, list)
        defer {
            if let handle { ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, nil) }
            curl_slist_free_all(list)
        }

        ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
        ccurl_setopt_write_callback(curl) { data, size, count, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            if let data { transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size * count)) }
            return size * count
        }
        ccurl_setopt_pointer(curl, CURLOPT_WRITEDATA, box)
        ccurl_setopt_header_callback(curl) { data, size, count, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            if let data { transfer.headerLine(UnsafeRawBufferPointer(start: data, count: size * count)) }
            return size * count
        }
        ccurl_setopt_pointer(curl, CURLOPT_HEADERDATA, box)
        // The debug stream tells whether the whole request went out. Only byte counts are kept: the outgoing
        // headers carry the bearer token.
        ccurl_setopt_long(curl, CURLOPT_VERBOSE, 1)
        ccurl_setopt_debug_callback(curl) { _, type, _, size, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            switch type {
            case CURLINFO_HEADER_OUT:
                // A new request (curl retrying on a fresh connection) starts the count again.
                transfer.headersSent = true
                transfer.bodyBytesSent = 0
            case CURLINFO_DATA_OUT:
                transfer.bodyBytesSent += size
            default:
                break
            }
            return 0
        }
        ccurl_setopt_pointer(curl, CURLOPT_DEBUGDATA, box)

        let code = withExtendedLifetime(transfer) { curl_easy_perform(curl) }
        // The transfer object dies with this call; curl must not keep pointers into it.
        ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, nil)
        ccurl_setopt_pointer(curl, CURLOPT_WRITEDATA, nil)
        ccurl_setopt_pointer(curl, CURLOPT_HEADERDATA, nil)
        ccurl_setopt_pointer(curl, CURLOPT_DEBUGDATA, nil)
        ccurl_setopt_pointer(curl, CURLOPT_READDATA, nil)

        if code == CURLE_OK {
            var status = 0
            ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
            return HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
        }
        let curlText = String(cString: transfer.errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
        let text = curlText.isEmpty ? String(cString: curl_easy_strerror(code)) : curlText
        // After an error the connection's state is unknown: the next request starts on a fresh one.
        close()
        switch code {
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR:
            throw TransportError(.certificate, server: server, detail: text)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            throw TransportError(.configuration, server: server, detail: "the URL cannot be used: \(text)")
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SSL_CONNECT_ERROR:
            throw TransportError(.connection, server: server, detail: text)
        default:
            break
        }
        if transfer.sawStatusLine || (transfer.headersSent && transfer.bodyBytesSent >= transfer.upload.count) {
            throw TransportError(.outcomeUnknown, server: server, detail: "the request went out but no complete answer came back (\(text))")
        }
        if code == CURLE_OPERATION_TIMEDOUT { throw TransportError(.timeout, server: server, detail: text) }
        throw TransportError(.connection, server: server, detail: text)
    }

    /// Closes the connection; the next request opens a new one.
    static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public func close() {
        if let handle { curl_easy_cleanup(handle) }
        handle = nil
    }

    /// `HTTPS gmail.googleapis.com` or `HTTP 127.0.0.1:37951`: how errors name the other side.
    static func serverName(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "HTTP \(url)" }
        let scheme = (components.scheme ?? "http").uppercased()
        return components.port.map { "\(scheme) \(host):\($0)" } ?? "\(scheme) \(host)"
    }

    /// State shared with curl's C callbacks for one `curl_easy_perform`. Only the client's thread touches it.
    private final class Transfer {
        let upload: [UInt8]
        var offset = 0
        var headersSent = false
        var bodyBytesSent = 0
        var sawStatusLine = false
        var headers: [String: String] = [:]
        var body: [UInt8] = []
        /// curl writes its error text here during perform, so it must not move: C memory, not a Swift array.
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

        init(upload: [UInt8]) {
            self.upload = upload
            errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        }

        deinit { errorBuffer.deallocate() }

        /// curl hands over one whole header line per call, the status line included.
        func headerLine(_ bytes: UnsafeRawBufferPointer) {
            let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasPrefix("HTTP/") {
                // A new status line (after a 100 Continue, or a retried request) starts a new header block.
                sawStatusLine = true
                headers = [:]
                body = []
                return
            }
            guard let colon = line.firstIndex(of: ":") else { return }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
}
