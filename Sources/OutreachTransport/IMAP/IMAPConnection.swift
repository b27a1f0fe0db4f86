import CEtpan
import Foundation
import Logging
import OutreachMail
import OutreachCore

/// One IMAP session (libetpan), confined to its own thread: libetpan's calls block, so this actor runs on a
/// ``DedicatedThreadExecutor`` rather than on Swift's cooperative pool, and the `mailimap` handle never leaves it.
///
/// The server's certificate is verified with ``PeerCertificateVerifier`` right after the TLS handshake and before
/// anything else is said, because libetpan itself checks nothing.
public actor IMAPConnection {
    public let endpoint: ServerEndpoint
    private let trust: TLSTrust
    private let logger: Logger
    private let timeoutSeconds: Int
    private let executor: DedicatedThreadExecutor
    private var session: UnsafeMutablePointer<mailimap>?
    private var capabilityCache: Set<String> = []

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(endpoint: ServerEndpoint, trust: TLSTrust, logger: Logger, timeoutSeconds: Int = 60) {
        ProcessSetup.prepare()
        self.endpoint = endpoint
        self.trust = trust
        self.logger = logger
        self.timeoutSeconds = timeoutSeconds
        self.executor = DedicatedThreadExecutor(name: "imap \(endpoint.authority)")
    }

    isolated deinit {
        if let session { mailimap_free(session) }
        executor.shutdown()
    }

    /// Connects, sets up TLS (implicit or STARTTLS) and verifies the certificate. Nothing secret is sent.
    public func connect() throws(TransportError) {
        guard session == nil else { return }
        guard let s = mailimap_new(0, nil) else { throw TransportError(.configuration, server: endpoint.label, detail: "out of memory") }
        session = s
        mailimap_set_timeout(s, time_t(timeoutSeconds))
        let host = endpoint.host
        let port = UInt16(endpoint.port)
        let useSNI = !PeerCertificateVerifier.isIPAddress(host)
        let sniCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { context, data in
            guard let context, let data else { return }
            mailstream_ssl_set_server_name(context, data.assumingMemoryBound(to: CChar.self))
        }

        switch endpoint.security {
        case .implicitTLS:
            let status = host.withCString { name in
                mailimap_ssl_connect_with_callback(s, name, port, sniCallback, useSNI ? UnsafeMutableRawPointer(mutating: name) : nil)
            }
            try checkConnect(status)
            try verifyPeer()
            try refreshCapabilities()
        case .startTLS:
            let status = host.withCString { mailimap_socket_connect(s, $0, port) }
            try checkConnect(status)
            try refreshCapabilities()
            guard capabilityCache.contains("STARTTLS") else {
                close()
                throw TransportError(.tlsUnavailable, server: endpoint.label, detail: "no STARTTLS capability")
            }
            let upgraded = host.withCString { name in
                mailimap_socket_starttls_with_callback(s, sniCallback, useSNI ? UnsafeMutableRawPointer(mutating: name) : nil)
            }
            guard upgraded == MAILIMAP_NO_ERROR else {
                close()
                throw TransportError(.connection, server: endpoint.label, detail: "the STARTTLS handshake failed")
            }
            try verifyPeer()
            // RFC 3501 §6.2.1: capabilities announced before STARTTLS must be forgotten.
            try refreshCapabilities()
        }
        logger.debug("IMAP connected", metadata: ["server.address": "\(endpoint.authority)"])
    }

    public func login(username: String, password: Secret) throws(TransportError) {
        let s = try connected()
        let status = mailimap_login(s, username, password.revealed)
        guard status == MAILIMAP_NO_ERROR else {
            let text = serverText()
            if status == MAILIMAP_ERROR_LOGIN || status == MAILIMAP_ERROR_PROTOCOL {
                throw TransportError(.authentication, server: endpoint.label, detail: "the server refused the login for \(username)\(text.map { " (\($0))" } ?? "")")
            }
            throw streamError(status, during: "LOGIN")
        }
        // Servers may announce more capabilities once authenticated (Dovecot does).
        try refreshCapabilities()
        logger.debug("IMAP logged in", metadata: ["server.address": "\(endpoint.authority)"])
    }

    /// Logs in with the account's credential: a password as ``login(username:password:)`` does, an OAuth access token
    /// with SASL XOAUTH2 (`AUTHENTICATE XOAUTH2`), as Gmail and Microsoft 365 want it.
    public func authenticate(username: String, credential: MailCredential) throws(TransportError) {
        switch credential {
        case .password(let password):
            try login(username: username, password: password)
        case .bearer(let token):
            try authenticate(username: username, bearer: token)
        }
    }

    private func authenticate(username: String, bearer token: Secret) throws(TransportError) {
        let s = try connected()
        guard capabilityCache.contains("AUTH=XOAUTH2") else {
            let offered = capabilityCache.filter { $0.hasPrefix("AUTH=") }.sorted().joined(separator: " ")
            throw TransportError(
                .authentication, server: endpoint.label,
                detail: "the server does not take OAuth access tokens (no AUTH=XOAUTH2; it offers \(offered.isEmpty ? "no AUTH= mechanism" : offered)), so \(username) cannot log in with one"
            )
        }
        let status = mailimap_oauth2_authenticate(s, username, token.revealed)
        guard status == MAILIMAP_NO_ERROR else {
            let text = serverText()
            if status == MAILIMAP_ERROR_LOGIN {
                // RFC 5530 UNAVAILABLE: the server could not check the token (its token service is down). The token may
                // be fine; calling it refused would send the account's owner to reconnect the account for nothing.
                if responseCode() == "UNAVAILABLE" {
                    throw TransportError(
                        .rejectedTemporarily, server: endpoint.label, detail: "the server could not check the OAuth access token for \(username) right now (\(text ?? "")); try again later"
                    )
                }
                throw TransportError(
                    .authentication, server: endpoint.label, detail: "the server refused the OAuth access token for \(username)\(text.map { " (\($0))" } ?? "")"
                )
            }
            throw streamError(status, during: "AUTHENTICATE XOAUTH2")
        }
        try refreshCapabilities()
        logger.debug("IMAP logged in with an OAuth token", metadata: ["server.address": "\(endpoint.authority)"])
    }

    public var capabilities: Set<String> { capabilityCache }

    public func listMailboxes() throws(TransportError) -> [IMAPMailbox] {
        let s = try connected()
        var result: UnsafeMutablePointer<clist>?
        let status = mailimap_list(s, "", "*", &result)
        guard status == MAILIMAP_NO_ERROR else { throw commandError(status, command: "LIST") }
        defer { if let result { mailimap_list_result_free(result) } }
        return CList<mailimap_mailbox_list>(result).map { entry in
            var attributes: [String] = []
            if let flags = entry.pointee.mb_flag {
                switch Int(flags.pointee.mbf_sflag) {
                case MAILIMAP_MBX_LIST_SFLAG_MARKED: attributes.append("Marked")
                case MAILIMAP_MBX_LIST_SFLAG_UNMARKED: attributes.append("Unmarked")
                case MAILIMAP_MBX_LIST_SFLAG_NOSELECT: attributes.append("Noselect")
                default: break
                }
                for flag in CList<mailimap_mbx_list_oflag>(flags.pointee.mbf_oflags) {
                    if Int(flag.pointee.of_type) == MAILIMAP_MBX_LIST_OFLAG_NOINFERIORS {
                        attributes.append("Noinferiors")
                    } else if let ext = flag.pointee.of_flag_ext {
                        attributes.append(String(cString: ext))
                    }
                }
            }
            let delimiter = entry.pointee.mb_delimiter == 0 ? nil : Character(Unicode.Scalar(UInt8(bitPattern: entry.pointee.mb_delimiter)))
            return IMAPMailbox(name: String(cString: entry.pointee.mb_name), delimiter: delimiter, attributes: attributes)
        }
    }

    /// A folder's UIDVALIDITY, UIDNEXT and message count without opening it (STATUS): how an incremental sync sees
    /// that nothing is new. Servers answer it from their indexes, so it costs the same at 100 messages or 100,000.
    public func status(_ mailbox: String) throws(TransportError) -> IMAPMailboxStatus {
        let s = try connected()
        guard let attributes = mailimap_status_att_list_new_empty() else { throw TransportError(.configuration, server: endpoint.label, detail: "out of memory") }
        defer { mailimap_status_att_list_free(attributes) }
        for attribute in [MAILIMAP_STATUS_ATT_UIDVALIDITY, MAILIMAP_STATUS_ATT_UIDNEXT, MAILIMAP_STATUS_ATT_MESSAGES] {
            mailimap_status_att_list_add(attributes, Int32(attribute))
        }
        var result: UnsafeMutablePointer<mailimap_mailbox_data_status>?
        let code = mailimap_status(s, mailbox, attributes, &result)
        guard code == MAILIMAP_NO_ERROR, let result else { throw commandError(code, command: "STATUS \(mailbox)") }
        defer { mailimap_mailbox_data_status_free(result) }
        var uidValidity: UInt32 = 0, uidNext: UInt32 = 0, messages: UInt32 = 0
        for info in CList<mailimap_status_info>(result.pointee.st_info_list) {
            switch info.pointee.st_att {
            case Int32(MAILIMAP_STATUS_ATT_UIDVALIDITY): uidValidity = info.pointee.st_value
            case Int32(MAILIMAP_STATUS_ATT_UIDNEXT): uidNext = info.pointee.st_value
            case Int32(MAILIMAP_STATUS_ATT_MESSAGES): messages = info.pointee.st_value
            default: break
            }
        }
        return IMAPMailboxStatus(uidValidity: uidValidity, uidNext: uidNext, messageCount: messages, highestModSeq: 0)
    }

    /// Opens a folder read-only (EXAMINE): sync never changes flags. Asks for HIGHESTMODSEQ where CONDSTORE exists.
    public func examine(_ mailbox: String) throws(TransportError) -> IMAPMailboxStatus {
        let s = try connected()
        var modseq: UInt64 = 0
        let status = capabilityCache.contains("CONDSTORE") ? mailimap_examine_condstore(s, mailbox, &modseq) : mailimap_examine(s, mailbox)
        guard status == MAILIMAP_NO_ERROR, let info = s.pointee.imap_selection_info else { throw commandError(status, command: "EXAMINE \(mailbox)") }
        return IMAPMailboxStatus(
            uidValidity: info.pointee.sel_uidvalidity, uidNext: info.pointee.sel_uidnext, messageCount: info.pointee.sel_exists, highestModSeq: modseq
        )
    }

    /// Fetches the named header fields of the messages with UIDs in `uids` (upper bound nil = `*`).
    /// Messages at or below `uids.lowerBound - 1` are dropped, because `UID n:*` always returns the last message.
    public func fetchHeaderFields(_ fields: [String], uids: ClosedRange<UInt32>?, from lower: UInt32 = 1) throws(TransportError) -> [IMAPFetchedHeaders] {
        _ = try connected()
        let set = uids.map { mailimap_set_new_interval($0.lowerBound, $0.upperBound) } ?? mailimap_set_new_interval(lower, 0)
        defer { mailimap_set_free(set) }
        let lowest = uids?.lowerBound ?? lower
        let fetchType = mailimap_fetch_type_new_fetch_att_list_empty()
        defer { mailimap_fetch_type_free(fetchType) }
        mailimap_fetch_type_new_fetch_att_list_add(fetchType, mailimap_fetch_att_new_uid())
        let names = clist_new()!
        for field in fields { cetpan_clist_append(names, strdup(field)) }
        let section = mailimap_section_new_header_fields(mailimap_header_list_new(names))
        mailimap_fetch_type_new_fetch_att_list_add(fetchType, mailimap_fetch_att_new_body_peek_section(section))

        return try uidFetchSection(set: set, fetchType: fetchType, command: "UID FETCH").filter { $0.uid >= lowest }.map {
            IMAPFetchedHeaders(uid: $0.uid, headerBytes: $0.bytes)
        }
    }

    /// The complete raw messages with these UIDs (`BODY.PEEK[]`, which never sets \Seen). Used for the few messages whose
    /// headers say they are delivery reports: their bodies name the failed recipient and our original Message-ID.
    public func fetchMessages(uids: [UInt32]) throws(TransportError) -> [UInt32: [UInt8]] {
        guard !uids.isEmpty else { return [:] }
        _ = try connected()
        guard let set = mailimap_set_new_empty() else { throw TransportError(.configuration, server: endpoint.label, detail: "out of memory") }
        defer { mailimap_set_free(set) }
        for uid in uids { mailimap_set_add_single(set, uid) }
        let fetchType = mailimap_fetch_type_new_fetch_att_list_empty()
        defer { mailimap_fetch_type_free(fetchType) }
        mailimap_fetch_type_new_fetch_att_list_add(fetchType, mailimap_fetch_att_new_uid())
        mailimap_fetch_type_new_fetch_att_list_add(fetchType, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(nil)))
        var messages: [UInt32: [UInt8]] = [:]
        for message in try uidFetchSection(set: set, fetchType: fetchType, command: "UID FETCH BODY.PEEK[]") where uids.contains(message.uid) {
            messages[message.uid] = message.bytes
        }
        return messages
    }

    /// Runs a UID FETCH of one body section and returns each message's UID and the section's bytes.
    private func uidFetchSection(
        set: UnsafeMutablePointer<mailimap_set>?, fetchType: UnsafeMutablePointer<mailimap_fetch_type>?, command: String
    ) throws(TransportError) -> [(uid: UInt32, bytes: [UInt8])] {
        let s = try connected()
        var result: UnsafeMutablePointer<clist>?
        let status = mailimap_uid_fetch(s, set, fetchType, &result)
        guard status == MAILIMAP_NO_ERROR else { throw commandError(status, command: command) }
        defer { if let result { mailimap_fetch_list_free(result) } }
        var messages: [(uid: UInt32, bytes: [UInt8])] = []
        for message in CList<mailimap_msg_att>(result) {
            var uid: UInt32 = 0
            var bytes: [UInt8] = []
            for item in CList<mailimap_msg_att_item>(message.pointee.att_list) where Int(item.pointee.att_type) == MAILIMAP_MSG_ATT_ITEM_STATIC {
                guard let attribute = item.pointee.att_data.att_static else { continue }
                switch Int(attribute.pointee.att_type) {
                case MAILIMAP_MSG_ATT_UID:
                    uid = attribute.pointee.att_data.att_uid
                case MAILIMAP_MSG_ATT_BODY_SECTION:
                    if let section = attribute.pointee.att_data.att_body_section, let part = section.pointee.sec_body_part {
                        bytes = part.withMemoryRebound(to: UInt8.self, capacity: section.pointee.sec_length) {
                            Array(UnsafeBufferPointer(start: $0, count: section.pointee.sec_length))
                        }
                    }
                default: continue
                }
            }
            messages.append((uid, bytes))
        }
        return messages
    }

    /// UIDs of the messages whose internal date is on or after `date`'s day (UID SEARCH SINCE), in the server's zone.
    public func uidSearch(since date: Date) throws(TransportError) -> [UInt32] {
        let s = try connected()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let day = calendar.dateComponents([.year, .month, .day], from: date)
        guard let key = mailimap_search_key_new_since(mailimap_date_new(Int32(day.day!), Int32(day.month!), Int32(day.year!))) else {
            throw TransportError(.configuration, server: endpoint.label, detail: "out of memory")
        }
        return try uidSearch(key, session: s, command: "UID SEARCH SINCE")
    }

    /// UIDs of the messages flagged \Draft in the folder open now (UID SEARCH DRAFT): a draft some clients keep in Sent
    /// was never sent.
    public func uidSearchDrafts() throws(TransportError) -> [UInt32] {
        let s = try connected()
        // libetpan has no helper for the flag keys: the general constructor, with every other criterion empty.
        guard let key = mailimap_search_key_new(
            Int32(MAILIMAP_SEARCH_KEY_DRAFT), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, 0, nil, nil, nil, nil, nil,
            nil, 0, nil, nil, nil
        ) else {
            throw TransportError(.configuration, server: endpoint.label, detail: "out of memory")
        }
        return try uidSearch(key, session: s, command: "UID SEARCH DRAFT")
    }

    /// UIDs of the messages in `mailbox` whose header `field` contains `value` (EXAMINE, then UID SEARCH HEADER):
    /// how an unknown outcome is reconciled against Sent by Message-ID.
    public func uidSearch(in mailbox: String, header field: String, contains value: String) throws(TransportError) -> [UInt32] {
        let s = try connected()
        _ = try examine(mailbox)
        // The key owns both strings and frees them with itself.
        guard let key = mailimap_search_key_new_header(strdup(field), strdup(value)) else {
            throw TransportError(.configuration, server: endpoint.label, detail: "out of memory")
        }
        return try uidSearch(key, session: s, command: "UID SEARCH HEADER \(field)")
    }

    /// Runs a UID SEARCH and frees the key.
    private func uidSearch(_ key: UnsafeMutablePointer<mailimap_search_key>, session s: UnsafeMutablePointer<mailimap>, command: String) throws(TransportError) -> [UInt32] {
        defer { mailimap_search_key_free(key) }
        var result: UnsafeMutablePointer<clist>?
        let status = mailimap_uid_search(s, nil, key, &result)
        guard status == MAILIMAP_NO_ERROR else { throw commandError(status, command: command) }
        defer { if let result { mailimap_search_result_free(result) } }
        return CList<UInt32>(result).map(\.pointee)
    }

    /// Flags a message is stored with by ``append(_:to:flags:)``.
    public enum AppendFlag: Sendable {
        case seen, draft
    }

    /// Stores a message in a folder (APPEND): a copy of what was sent into Sent (\Seen), or a draft into Drafts
    /// (\Draft), where the operator's own mail client shows it.
    public func append(_ message: [UInt8], to mailbox: String, flags: [AppendFlag]) throws(TransportError) {
        let s = try connected()
        guard let list = mailimap_flag_list_new_empty() else { throw TransportError(.configuration, server: endpoint.label, detail: "out of memory") }
        defer { mailimap_flag_list_free(list) }
        for flag in flags {
            // The list owns each flag once added.
            mailimap_flag_list_add(list, flag == .seen ? mailimap_flag_new_seen() : mailimap_flag_new_draft())
        }
        let status = message.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { mailimap_append(s, mailbox, list, nil, $0.baseAddress, $0.count) }
        }
        guard status == MAILIMAP_NO_ERROR else { throw commandError(status, command: "APPEND to \(mailbox)") }
    }

    /// Sends LOGOUT and closes the connection. Safe to call more than once.
    public func logout() {
        guard let s = session else { return }
        _ = mailimap_logout(s)
        close()
    }

    // MARK: - Internals

    private func connected() throws(TransportError) -> UnsafeMutablePointer<mailimap> {
        guard let session else { throw TransportError(.protocolFailure, server: endpoint.label, detail: "not connected") }
        return session
    }

    private func close() {
        if let session { mailimap_free(session) }
        session = nil
        capabilityCache = []
    }

    private func checkConnect(_ status: Int32) throws(TransportError) {
        // Connecting answers with the greeting's state (1 or 2), not NO_ERROR (0).
        if status == MAILIMAP_NO_ERROR_AUTHENTICATED || status == MAILIMAP_NO_ERROR_NON_AUTHENTICATED || status == MAILIMAP_NO_ERROR { return }
        close()
        switch Int(status) {
        case MAILIMAP_ERROR_CONNECTION_REFUSED:
            throw TransportError(.connection, server: endpoint.label, detail: "connection refused or host not found")
        case MAILIMAP_ERROR_SSL:
            throw TransportError(.connection, server: endpoint.label, detail: "the TLS handshake failed (is this port \(endpoint.security == .implicitTLS ? "really implicit TLS? try imap:// for STARTTLS" : "plain IMAP?"))")
        case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
            throw TransportError(.connection, server: endpoint.label, detail: "the server refused the session (BYE in its greeting)")
        case MAILIMAP_ERROR_STREAM:
            throw TransportError(.timeout, server: endpoint.label, detail: "no greeting within \(timeoutSeconds) s, or the connection was closed")
        default:
            throw TransportError(.connection, server: endpoint.label, detail: "libetpan error \(status)")
        }
    }

    private func verifyPeer() throws(TransportError) {
        guard let s = session else { return }
        if trust.allowInsecure {
            logger.warning("TLS certificate NOT verified: the account is set to allow insecure connections", metadata: ["server.address": "\(endpoint.authority)"])
            return
        }
        var chain: [[UInt8]] = []
        if let array = mailstream_get_certificate_chain(s.pointee.imap_stream) {
            defer { mailstream_certificate_chain_free(array) }
            for i in 0..<Int(array.pointee.len) {
                guard let raw = array.pointee.array[i] else { continue }
                let string = raw.assumingMemoryBound(to: MMAPString.self)
                guard let bytes = string.pointee.str else { continue }
                chain.append(bytes.withMemoryRebound(to: UInt8.self, capacity: string.pointee.len) { Array(UnsafeBufferPointer(start: $0, count: string.pointee.len)) })
            }
        }
        if let problem = PeerCertificateVerifier.problem(chain: chain, host: endpoint.host, caFile: trust.caFile) {
            close()
            throw TransportError(.certificate, server: endpoint.label, detail: problem)
        }
    }

    private func refreshCapabilities() throws(TransportError) {
        let s = try connected()
        var data: UnsafeMutablePointer<mailimap_capability_data>?
        let status = mailimap_capability(s, &data)
        guard status == MAILIMAP_NO_ERROR, let data else { throw commandError(status, command: "CAPABILITY") }
        defer { mailimap_capability_data_free(data) }
        var names: Set<String> = []
        for capability in CList<mailimap_capability>(data.pointee.cap_list) {
            switch Int(capability.pointee.cap_type) {
            case MAILIMAP_CAPABILITY_AUTH_TYPE:
                if let auth = capability.pointee.cap_data.cap_auth_type { names.insert("AUTH=" + String(cString: auth).uppercased()) }
            default:
                if let name = capability.pointee.cap_data.cap_name { names.insert(String(cString: name).uppercased()) }
            }
        }
        capabilityCache = names
    }

    private func serverText() -> String? {
        guard let text = session?.pointee.imap_response else { return nil }
        let value = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }

    /// The code in brackets of the last tagged reply, when libetpan has no field of its own for it (RFC 5530's
    /// `UNAVAILABLE`, `AUTHENTICATIONFAILED`, …).
    private func responseCode() -> String? {
        guard let atom = session?.pointee.imap_response_info?.pointee.rsp_atom else { return nil }
        return String(cString: atom).uppercased()
    }

    private func streamError(_ status: Int32, during command: String) -> TransportError {
        if status == MAILIMAP_ERROR_STREAM {
            close()
            return TransportError(.connectionLost, server: endpoint.label, detail: "during \(command) at \(JobTime.format(Date()))")
        }
        return TransportError(.protocolFailure, server: endpoint.label, detail: "\(command) failed (libetpan error \(status))")
    }

    private func commandError(_ status: Int32, command: String) -> TransportError {
        if status == MAILIMAP_ERROR_STREAM || status == MAILIMAP_ERROR_PARSE { return streamError(status, during: command) }
        let text = serverText()
        return TransportError(.protocolFailure, server: endpoint.label, detail: "\(command) failed\(text.map { ": \($0)" } ?? "")")
    }
}
