import CCurl
import Foundation
import Logging
import OutreachCore

/// An SMTP submission session through libcurl, confined to its own thread.
///
/// One curl easy handle per connection: consecutive sends reuse the TCP/TLS connection and its AUTH, which is
/// what makes throttle-free sending fast. The connection is refused unless TLS is in place (implicit or STARTTLS)
/// and the server really authenticated us — a server that offers no AUTH gets no message.
public actor SMTPConnection {
    public let endpoint: ServerEndpoint
    private let username: String
    private let credential: MailCredential
    private let trust: TLSTrust
    private let logger: Logger
    private let timeoutSeconds: Int
    private let executor: DedicatedThreadExecutor
    private var handle: UnsafeMutableRawPointer?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// - Parameter credential: a password (AUTH PLAIN/LOGIN, whichever the server offers) or an OAuth access token,
    ///   sent as SASL XOAUTH2 only.
    public init(endpoint: ServerEndpoint, username: String, credential: MailCredential, trust: TLSTrust, logger: Logger, timeoutSeconds: Int = 120) {
        ProcessSetup.prepare()
        self.endpoint = endpoint
        self.username = username
        self.credential = credential
        self.trust = trust
        self.logger = logger
        self.timeoutSeconds = timeoutSeconds
        self.executor = DedicatedThreadExecutor(name: "smtp \(endpoint.authority)")
    }

    public init(endpoint: ServerEndpoint, username: String, password: Secret, trust: TLSTrust, logger: Logger, timeoutSeconds: Int = 120) {
        self.init(endpoint: endpoint, username: username, credential: .password(password), trust: trust, logger: logger, timeoutSeconds: timeoutSeconds)
    }

    isolated deinit {
        if let handle { curl_easy_cleanup(handle) }
        executor.shutdown()
    }

    /// Connects, says EHLO, upgrades to TLS, authenticates and sends NOOP: proves the account can send without
    /// sending anything.
    @discardableResult
    public func verifyLogin() throws(TransportError) -> SMTPReply {
        let transfer = Transfer(upload: nil)
        let curl = try prepare(transfer)
        ccurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, "NOOP")
        return try perform(curl, transfer, what: "NOOP")
    }

    /// Sends one message. `message` is the complete RFC 5322 text with CRLF line ends; curl dot-stuffs it.
    ///
    /// - Parameter beforeFinalDot: runs on the connection's thread after the last byte of the message and right
    ///   before the final "." that commits it (RFC 5321 §4.1.1.4: until then the server discards everything on a
    ///   dropped connection). Return false to withdraw the message: the transfer is aborted and nothing is sent.
    ///   This is where a caller records "handed over", so that after a crash only the short gap between the dot
    ///   and the reply is in doubt.
    public func send(
        from sender: EmailAddress, to recipients: [EmailAddress], message: [UInt8], beforeFinalDot: (@Sendable () -> Bool)? = nil
    ) throws(TransportError) -> SMTPReply {
        let transfer = Transfer(upload: message, beforeFinalDot: beforeFinalDot)
        let curl = try prepare(transfer)
        var list: UnsafeMutablePointer<curl_slist>?
        for recipient in recipients { list = curl_slist_append(list, "<\(recipient.wireForm)>") }
        defer {
            // perform() drops the handle after a failure; only a surviving handle still points at the list.
            if let handle { ccurl_setopt_slist(handle, CURLOPT_MAIL_RCPT, nil) }
            curl_slist_free_all(list)
        }
        ccurl_setopt_string(curl, CURLOPT_MAIL_FROM, "<\(sender.wireForm)>")
        ccurl_setopt_slist(curl, CURLOPT_MAIL_RCPT, list)
        ccurl_setopt_long(curl, CURLOPT_UPLOAD, 1)
        ccurl_setopt_long(curl, CURLOPT_INFILESIZE, message.count)
        return try perform(curl, transfer, what: "message")
    }

    /// Closes the connection (QUIT). The next send opens a new one.
    public func close() {
        if let handle { curl_easy_cleanup(handle) }
        handle = nil
    }

    // MARK: - Internals

    /// State shared with curl's C callbacks for one `curl_easy_perform`. Only the connection's thread touches it.
    private final class Transfer {
        let upload: [UInt8]?
        let beforeFinalDot: (@Sendable () -> Bool)?
        var offset = 0
        /// The last bytes of the message went to curl: the final dot follows them.
        var handedOver = false
        /// The caller withdrew the message at the final dot.
        var withdrawn = false
        var pendingLines: [String] = []
        var lastReply: [String] = []
        var replyCount = 0
        var sawGreeting = false
        var sentAuth = false
        /// curl said QUIT (it does after a refusal): the "221 Bye" that follows must not hide the refusal.
        var sentQuit = false
        var refusedUnauthenticated = false
        /// The mechanisms of the EHLO's AUTH line ("PLAIN LOGIN XOAUTH2"), nil if the server listed none.
        var offeredAuth: String?
        /// curl writes its error text here during perform, so it must not move: C memory, not a Swift array.
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

        init(upload: [UInt8]?, beforeFinalDot: (@Sendable () -> Bool)? = nil) {
            self.upload = upload
            self.beforeFinalDot = beforeFinalDot
            errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        }

        deinit { errorBuffer.deallocate() }


        /// Takes the server's reply bytes as curl hands them over (whole lines), keeping the last complete reply.
        func received(_ bytes: UnsafeRawBufferPointer) {
            var start = 0
            for i in 0..<bytes.count where bytes[i] == 10 {
                line(bytes[start..<i])
                start = i + 1
            }
            if start < bytes.count { line(bytes[start..<bytes.count]) }
        }

        private func line(_ raw: Slice<UnsafeRawBufferPointer>) {
            var slice = raw
            while let last = slice.last, last == 13 || last == 32 { slice = slice.dropLast() }
            guard slice.count >= 3 else { return }
            let text = String(decoding: slice, as: UTF8.self)
            pendingLines.append(text)
            if text.hasPrefix("250"), text.dropFirst(4).uppercased().hasPrefix("AUTH ") { offeredAuth = String(text.dropFirst(9)) }
            // "250-…" continues a reply, "250 …" (or a bare "250") ends it.
            if slice.count == 3 || slice[slice.startIndex + 3] == 32 {
                if text.hasPrefix("220") && replyCount == 0 { sawGreeting = true }
                if !sentQuit { lastReply = pendingLines }
                replyCount += 1
                pendingLines = []
            }
        }
    }

    private func prepare(_ transfer: Transfer) throws(TransportError) -> UnsafeMutableRawPointer {
        if handle == nil { handle = curl_easy_init() }
        guard let curl = handle else { throw TransportError(.configuration, server: endpoint.label, detail: "libcurl could not create a handle") }
        let box = Unmanaged.passUnretained(transfer).toOpaque()
        // The handle is reused across transfers: clear what the previous kind of transfer set.
        ccurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, nil)
        ccurl_setopt_long(curl, CURLOPT_UPLOAD, 0)
        ccurl_setopt_slist(curl, CURLOPT_MAIL_RCPT, nil)
        ccurl_setopt_string(curl, CURLOPT_URL, endpoint.url)
        ccurl_setopt_long(curl, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
        ccurl_setopt_string(curl, CURLOPT_USERNAME, username)
        switch credential {
        case .password(let password):
            ccurl_setopt_string(curl, CURLOPT_PASSWORD, password.revealed)
        case .bearer(let token):
            ccurl_setopt_string(curl, CURLOPT_XOAUTH2_BEARER, token.revealed)
            // curl prefers OAUTHBEARER when both are offered (Gmail offers both); XOAUTH2 is what Gmail and Microsoft 365
            // document. AUTH= replaces curl's list of mechanisms only while CURLOPT_HTTPAUTH is left at its default.
            ccurl_setopt_string(curl, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2")
        }
        ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, 30)
        // No overall timeout: a big message on a slow link is fine as long as bytes keep moving.
        ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
        ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, timeoutSeconds)
        if let caFile = trust.caFile { ccurl_setopt_string(curl, CURLOPT_CAINFO, caFile) }
        if trust.allowInsecure {
            logger.warning("TLS certificate NOT verified: the account is set to allow insecure connections", metadata: ["server.address": "\(endpoint.authority)"])
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 0)
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 0)
        } else {
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1)
            ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2)
        }
        ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
        // The debug stream is how we see the server's reply text and enhanced status codes; what we send is
        // inspected only for the AUTH verb and never stored, since it carries the credentials.
        ccurl_setopt_long(curl, CURLOPT_VERBOSE, 1)
        ccurl_setopt_debug_callback(curl) { _, type, data, size, context in
            guard let data, let context else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            let bytes = UnsafeRawBufferPointer(start: data, count: size)
            switch type {
            case CURLINFO_HEADER_IN:
                transfer.received(bytes)
            case CURLINFO_HEADER_OUT:
                if bytes.starts(with: Array("AUTH ".utf8)) { transfer.sentAuth = true }
                if bytes.starts(with: Array("QUIT".utf8)) { transfer.sentQuit = true }
            default:
                break
            }
            return 0
        }
        ccurl_setopt_pointer(curl, CURLOPT_DEBUGDATA, box)
        ccurl_setopt_read_callback(curl) { buffer, size, count, context in
            guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            // On a fresh connection (we saw its greeting) the data goes out only if we authenticated on it.
            if transfer.sawGreeting && !transfer.sentAuth {
                transfer.refusedUnauthenticated = true
                return Int(CURL_READFUNC_ABORT)
            }
            guard let upload = transfer.upload else { return 0 }
            let n = min(size * count, upload.count - transfer.offset)
            // curl knows the size (INFILESIZE) and sends the final dot right after the last byte without asking for
            // more, so the hook runs as the last piece is handed over: still before the dot.
            if transfer.offset + n >= upload.count, !transfer.handedOver {
                if let hook = transfer.beforeFinalDot, !hook() {
                    transfer.withdrawn = true
                    return Int(CURL_READFUNC_ABORT)
                }
                transfer.handedOver = true
            }
            upload.withUnsafeBytes { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + transfer.offset, byteCount: n)
            }
            transfer.offset += n
            return n
        }
        ccurl_setopt_pointer(curl, CURLOPT_READDATA, box)
        // curl writes the answer to a custom command (our NOOP) as "body" data; by default that goes to stdout.
        ccurl_setopt_write_callback(curl) { _, size, count, _ in size * count }
        return curl
    }

    private func loginDenied(_ transfer: Transfer, reply: SMTPReply?, serverText: String) -> TransportError {
        guard case .bearer = credential else {
            return TransportError(.authentication, server: endpoint.label, detail: "the server refused the login for \(username) (\(serverText))", replyCode: reply?.code, enhancedStatus: reply?.enhancedStatus)
        }
        if !transfer.sentAuth {
            // curl found no mechanism it may use: the server lists AUTH, but not XOAUTH2.
            return TransportError(
                .authentication, server: endpoint.label,
                detail: "the server does not take OAuth access tokens (no XOAUTH2 in its AUTH \(transfer.offeredAuth ?? "")), so \(username) cannot log in with one"
            )
        }
        var text = serverText
        if let reply, reply.code == 334 {
            // Gmail's refusal comes as a challenge holding JSON ({"status":"400","schemes":"Bearer","scope":…}).
            let encoded = reply.text.trimmingCharacters(in: .whitespaces)
            if let data = Data(base64Encoded: encoded), let json = String(data: data, encoding: .utf8) { text = json }
        }
        return TransportError(
            .authentication, server: endpoint.label, detail: "the server refused the OAuth access token for \(username) (\(text))", replyCode: reply?.code,
            enhancedStatus: reply?.enhancedStatus
        )
    }

    private func perform(_ curl: UnsafeMutableRawPointer, _ transfer: Transfer, what: String) throws(TransportError) -> SMTPReply {
        let code = withExtendedLifetime(transfer) { curl_easy_perform(curl) }
        // The transfer object dies with this call; curl must not keep pointers into it.
        ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, nil)
        ccurl_setopt_pointer(curl, CURLOPT_DEBUGDATA, nil)
        ccurl_setopt_pointer(curl, CURLOPT_READDATA, nil)
        var responseCode = 0
        ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &responseCode)
        let reply = SMTPReply(lines: transfer.lastReply)
        let curlText = String(cString: transfer.errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
        let fallbackText = curlText.isEmpty ? String(cString: curl_easy_strerror(code)) : curlText
        let serverText = reply?.summary ?? fallbackText

        if code == CURLE_OK {
            if transfer.sawGreeting && !transfer.sentAuth {
                close()
                throw TransportError(.authentication, server: endpoint.label, detail: "the server offered no way to log in (no AUTH after EHLO), so nothing was sent")
            }
            logger.debug("SMTP \(what) accepted", metadata: ["server.address": "\(endpoint.authority)", "smtp.reply": "\(serverText)"])
            return reply ?? SMTPReply(code: responseCode, enhancedStatus: nil, text: "")
        }
        if transfer.withdrawn {
            close()
            throw TransportError(.withdrawn, server: endpoint.label, detail: "the message was withdrawn before its final dot, so the server did not accept it")
        }
        if transfer.refusedUnauthenticated {
            close()
            throw TransportError(.authentication, server: endpoint.label, detail: "the server offered no way to log in (no AUTH after EHLO), so the message was not sent")
        }
        // After an error the connection's state is unknown: start the next message on a fresh one.
        close()
        switch code {
        case CURLE_LOGIN_DENIED where (reply?.code ?? 0) >= 400 && (reply?.code ?? 0) < 500:
            // "454 4.7.0 Too many login attempts, try again later": the server is limiting, the password is fine.
            throw TransportError(
                .rejectedTemporarily, server: endpoint.label, detail: "the server refused the login for now: \(serverText)", replyCode: reply?.code,
                enhancedStatus: reply?.enhancedStatus
            )
        case CURLE_LOGIN_DENIED:
            throw loginDenied(transfer, reply: reply, serverText: serverText)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR:
            throw TransportError(.certificate, server: endpoint.label, detail: fallbackText)
        case CURLE_USE_SSL_FAILED:
            throw TransportError(.tlsUnavailable, server: endpoint.label, detail: fallbackText)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR:
            throw TransportError(.connection, server: endpoint.label, detail: fallbackText)
        default:
            break
        }
        if let reply, reply.code >= 400 {
            let kind: TransportError.Kind = reply.code >= 500 ? .rejectedPermanently : .rejectedTemporarily
            throw TransportError(kind, server: endpoint.label, detail: "the server refused the \(what): \(reply.summary)", replyCode: reply.code, enhancedStatus: reply.enhancedStatus)
        }
        if transfer.handedOver {
            // RFC 1047: the gap between the final "." and the reply. The message may have been accepted.
            throw TransportError(.outcomeUnknown, server: endpoint.label, detail: fallbackText)
        }
        if code == CURLE_OPERATION_TIMEDOUT {
            throw TransportError(.timeout, server: endpoint.label, detail: fallbackText)
        }
        // It connected (or reused an open connection) and then the link failed: a reset, a close, a TLS read error.
        // Nothing was handed over, so the message is not in doubt.
        throw TransportError(
            .connectionLost, server: endpoint.label,
            detail: "\(fallbackText) at \(JobTime.format(Date()))" + (transfer.upload == nil ? "" : ", before the message was handed over, so it was not sent")
        )
    }
}
