import Foundation
import Logging
import OutreachCore

/// The Gmail API calls Outreach makes for one mailbox, with Google's rules applied: a per-user quota budget,
/// backoff on rate limits and server errors, one token refresh on a 401, and no blind repeat of a send.
///
/// Errors are ``TransportError``s; `replyCode` carries the HTTP status when Gmail answered one. A history id that
/// is too old is recognised with ``TransportError/isGmailHistoryExpired``.
public actor GmailAPI {
    private let configuration: GmailAPIConfiguration
    private let tokens: any AccessTokenSource
    private let http: HTTPClient
    private let logger: Logger
    private let sleep: @Sendable (Double) async throws -> Void
    private let server: String
    private let base: String
    private let budget: GmailQuotaBudget

    /// Quota units charged so far by this instance (each attempt counts, as at Google).
    public private(set) var unitsSpent = 0
    /// Attempts that were repeated after a rate limit, a server error or a broken connection.
    public private(set) var retriedCalls = 0

    /// - Parameter budget: the mailbox's quota budget, shared with its other clients in this process
    ///   (``GmailQuotaBudget/shared(for:unitsPerMinute:)``); default: one of its own.
    public init(
        configuration: GmailAPIConfiguration, tokens: any AccessTokenSource, http: HTTPClient, logger: Logger, budget: GmailQuotaBudget? = nil,
        sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }
    ) {
        self.configuration = configuration
        self.budget = budget ?? GmailQuotaBudget(unitsPerMinute: configuration.quotaUnitsPerMinute)
        self.tokens = tokens
        self.http = http
        self.logger = logger
        self.sleep = sleep
        var base = configuration.apiBase
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        let authority = URLComponents(string: base).map { c in (c.host ?? base) + (c.port.map { ":\($0)" } ?? "") } ?? base
        self.server = "Gmail API \(authority)"
    }

    // MARK: - Calls

    public func profile() async throws(TransportError) -> GmailProfile {
        let json = try await perform(Call(name: "users.getProfile", method: "GET", path: "profile", units: 1, scope: Self.readScope))
        guard let email = json["emailAddress"] as? String, let history = Self.uint64(json["historyId"]) else {
            throw malformed("users.getProfile", "emailAddress or historyId")
        }
        return GmailProfile(emailAddress: email, historyID: history)
    }

    /// One page of `messages.list`. `query` is Gmail's search syntax (`rfc822msgid:<…>`, `in:sent newer_than:30d`),
    /// refused under the gmail.metadata scope.
    public func listMessages(
        query: String?, labelIDs: [String] = [], includeSpamTrash: Bool = false, pageToken: String? = nil, maxResults: Int = 500
    ) async throws(TransportError) -> GmailMessagePage {
        var parameters: [(String, String)] = []
        if let query { parameters.append(("q", query)) }
        for label in labelIDs { parameters.append(("labelIds", label)) }
        if includeSpamTrash { parameters.append(("includeSpamTrash", "true")) }
        if let pageToken { parameters.append(("pageToken", pageToken)) }
        parameters.append(("maxResults", String(maxResults)))
        let json = try await perform(Call(name: "messages.list", method: "GET", path: "messages", query: parameters, units: 5, scope: Self.readScope))
        // Gmail leaves out an empty list altogether.
        let refs = try (json["messages"] as? [[String: Any]] ?? []).map { (item) throws(TransportError) in try ref(item, in: "messages.list") }
        return GmailMessagePage(messages: refs, nextPageToken: json["nextPageToken"] as? String)
    }

    /// `messages.get`. An unknown id is `.rejectedPermanently` with `replyCode` 404.
    public func message(id: String, format: GmailMessageFormat) async throws(TransportError) -> GmailMessage {
        var parameters: [(String, String)]
        switch format {
        case .minimal: parameters = [("format", "minimal")]
        case .raw: parameters = [("format", "raw")]
        case .metadata(let headers): parameters = [("format", "metadata")] + headers.map { ("metadataHeaders", $0) }
        }
        let json = try await perform(
            Call(name: "messages.get", method: "GET", path: "messages/\(FormEncoding.percentEncode(id))", query: parameters, units: 5, scope: Self.readScope)
        )
        let base = try ref(json, in: "messages.get")
        let headers = ((json["payload"] as? [String: Any])?["headers"] as? [[String: Any]] ?? []).compactMap { item -> (name: String, value: String)? in
            guard let name = item["name"] as? String else { return nil }
            return (name: name, value: item["value"] as? String ?? "")
        }
        var raw: [UInt8]?
        if case .raw = format {
            guard let text = json["raw"] as? String, let bytes = Base64URL.decode(text) else { throw malformed("messages.get", "raw") }
            raw = bytes
        }
        return GmailMessage(
            id: base.id, threadID: base.threadID, labelIDs: base.labelIDs, historyID: Self.uint64(json["historyId"]),
            internalDate: Self.uint64(json["internalDate"]).map { Date(timeIntervalSince1970: Double($0) / 1000) }, headers: headers, raw: raw
        )
    }

    /// `messages.send`; `threadID` for a reply in an existing thread (Gmail also wants In-Reply-To/References and a
    /// matching Subject). Never repeated once the request may have reached Gmail: a 5xx or a connection that broke
    /// after the request went out throws `.outcomeUnknown`. Rate-limit answers (refused before processing) are
    /// retried with backoff.
    ///
    /// - Parameter beforeSubmit: runs right before each attempt's request goes out (after any quota or backoff wait):
    ///   the caller's commit point. False withdraws the message (`.withdrawn`): nothing was sent.
    public func send(raw: [UInt8], threadID: String?, beforeSubmit: (@Sendable () -> Bool)? = nil) async throws(TransportError) -> GmailMessageRef {
        var body: [String: Any] = ["raw": Base64URL.encode(raw)]
        if let threadID { body["threadId"] = threadID }
        var call = Call(name: "messages.send", method: "POST", path: "messages/send", body: try encode(body), units: 100, scope: Self.sendScope, submits: true)
        call.beforeSubmit = beforeSubmit
        let json = try await perform(call)
        return try ref(json, in: "messages.send")
    }

    /// `drafts.create`, with the same no-repeat rule as ``send(raw:threadID:)``.
    public func createDraft(raw: [UInt8], threadID: String?) async throws(TransportError) -> (draftID: String, message: GmailMessageRef) {
        var message: [String: Any] = ["raw": Base64URL.encode(raw)]
        if let threadID { message["threadId"] = threadID }
        let json = try await perform(
            Call(name: "drafts.create", method: "POST", path: "drafts", body: try encode(["message": message]), units: 10, scope: Self.composeScope, submits: true)
        )
        guard let draftID = json["id"] as? String, let item = json["message"] as? [String: Any] else { throw malformed("drafts.create", "id or message") }
        return (draftID, try ref(item, in: "drafts.create"))
    }

    /// `history.list?historyTypes=messageAdded&historyTypes=labelAdded` from `startHistoryID`: the messages added, and
    /// those that were given the SENT label (a draft the user sent from Gmail keeps its message and changes labels).
    /// Gmail's 404 (the id is older than it keeps) throws an error whose ``TransportError/isGmailHistoryExpired`` is
    /// true: do a full sync then.
    public func history(startHistoryID: UInt64, pageToken: String?, maxResults: Int = 500) async throws(TransportError) -> GmailHistoryPage {
        var parameters = [
            ("startHistoryId", String(startHistoryID)), ("historyTypes", "messageAdded"), ("historyTypes", "labelAdded"), ("maxResults", String(maxResults)),
        ]
        if let pageToken { parameters.append(("pageToken", pageToken)) }
        let json = try await perform(
            Call(name: "history.list", method: "GET", path: "history", query: parameters, units: 2, scope: Self.readScope, historyStart: startHistoryID)
        )
        var added: [GmailMessageRef] = []
        for record in json["history"] as? [[String: Any]] ?? [] {
            for entry in record["messagesAdded"] as? [[String: Any]] ?? [] {
                guard let item = entry["message"] as? [String: Any] else { continue }
                added.append(try ref(item, in: "history.list"))
            }
            for entry in record["labelsAdded"] as? [[String: Any]] ?? [] where (entry["labelIds"] as? [String])?.contains("SENT") == true {
                guard let item = entry["message"] as? [String: Any] else { continue }
                added.append(try ref(item, in: "history.list"))
            }
        }
        guard let historyID = Self.uint64(json["historyId"]) else { throw malformed("history.list", "historyId") }
        return GmailHistoryPage(added: added, nextPageToken: json["nextPageToken"] as? String, historyID: historyID)
    }

    // MARK: - One call, with Google's retry rules

    private static let readScope = "gmail.readonly (or gmail.modify)"
    private static let sendScope = "gmail.send (or gmail.compose / gmail.modify)"
    private static let composeScope = "gmail.compose (or gmail.modify)"

    private struct Call {
        let name: String
        let method: String
        let path: String
        var query: [(String, String)] = []
        var body: [UInt8]? = nil
        let units: Int
        /// The scope to name when Gmail says the token lacks one.
        let scope: String
        /// send/drafts.create: a 5xx or a broken connection may mean it was done, so it is not repeated.
        var submits = false
        /// Runs right before each attempt goes out; false withdraws the call.
        var beforeSubmit: (@Sendable () -> Bool)? = nil
        /// history.list: a 404 is the expired-history signal.
        var historyStart: UInt64? = nil
    }

    private func perform(_ call: Call) async throws(TransportError) -> [String: Any] {
        var url = "\(base)/gmail/v1/users/me/\(call.path)"
        if !call.query.isEmpty { url += "?" + FormEncoding.encode(call.query) }
        var attempt = 0
        var refreshedAfter401 = false
        var forceRefresh = false
        while true {
            attempt += 1
            try await reserve(call.units)
            let token = try await tokens.accessToken(forceRefresh: forceRefresh)
            forceRefresh = false
            var headers: [(name: String, value: String)] = [(name: "Authorization", value: "Bearer \(token.revealed)"), (name: "Accept", value: "application/json")]
            if call.body != nil { headers.append((name: "Content-Type", value: "application/json")) }
            if let beforeSubmit = call.beforeSubmit, !beforeSubmit() {
                throw TransportError(.withdrawn, server: server, detail: "\(call.name) was withdrawn before it was made, so nothing was sent")
            }
            let response: HTTPResponse
            do {
                response = try await http.send(HTTPRequest(method: call.method, url: url, headers: headers, body: call.body))
            } catch {
                let retryable = error.isConnectionLevel || error.kind == .outcomeUnknown
                if error.kind == .outcomeUnknown && call.submits {
                    throw TransportError(.outcomeUnknown, server: server, detail: "\(call.name): the request reached Gmail but no answer came back, so it may have been carried out (\(error.detail))")
                }
                guard retryable, attempt < configuration.maxAttempts else {
                    // A read that reached Gmail changed nothing: for the caller it is just a failed connection.
                    if error.kind == .outcomeUnknown { throw TransportError(.connection, server: error.server, detail: error.detail) }
                    throw error
                }
                try await backoff(call, attempt: attempt, status: nil, retryAfter: nil, reason: error.detail)
                continue
            }
            if (200..<300).contains(response.status) {
                if response.body.isEmpty { return [:] }
                guard let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
                    throw TransportError(.protocolFailure, server: server, detail: "\(call.name): the answer is not a JSON object", replyCode: response.status)
                }
                return json
            }
            let problem = GoogleProblem(response)
            switch response.status {
            case 401 where !refreshedAfter401:
                // An access token can die before its expiry time (revoked, password changed): refresh once.
                refreshedAfter401 = true
                forceRefresh = true
                attempt -= 1
                logger.notice("Gmail refused the access token; refreshing it once", metadata: ["gmail.call": "\(call.name)"])
                continue
            case 401:
                throw TransportError(.authentication, server: server, detail: "Gmail refused the access token even after a refresh (\(problem.message))", replyCode: 401)
            case 429:
                try await rateLimited(call, response, problem, attempt: attempt)
            case 403 where problem.isRateLimit:
                try await rateLimited(call, response, problem, attempt: attempt)
            case 403:
                let why =
                    problem.message.localizedCaseInsensitiveContains("metadata scope")
                    ? "The account was connected with the gmail.metadata scope only, which cannot search or read whole messages; connect the account again and grant \(call.scope)."
                    : "The account's authorization does not cover this call; connect the account again and grant \(call.scope)."
                throw TransportError(.configuration, server: server, detail: "Gmail refused \(call.name): \"\(problem.message)\". \(why)", replyCode: 403)
            case 404 where call.historyStart != nil:
                throw .gmailHistoryExpired(server: server, startHistoryID: call.historyStart ?? 0, message: problem.message)
            case 500...:
                if call.submits {
                    throw TransportError(
                        .outcomeUnknown, server: server,
                        detail: "\(call.name): Gmail answered \(response.status) (\"\(problem.message)\"), so it may or may not have been carried out", replyCode: response.status
                    )
                }
                guard attempt < configuration.maxAttempts else {
                    throw TransportError(
                        .rejectedTemporarily, server: server,
                        detail: "\(call.name): Gmail answered \(response.status) (\"\(problem.message)\") \(attempt) times; try again later", replyCode: response.status
                    )
                }
                try await backoff(call, attempt: attempt, status: response.status, retryAfter: Self.retryAfter(response), reason: problem.message)
            case 400..<500:
                throw TransportError(.rejectedPermanently, server: server, detail: "Gmail refused \(call.name): \(problem.message)", replyCode: response.status)
            default:
                throw TransportError(.protocolFailure, server: server, detail: "\(call.name): unexpected HTTP \(response.status) (\(problem.message))", replyCode: response.status)
            }
        }
    }

    /// 429, or 403 rateLimitExceeded: Gmail refused before doing anything, so any call may be repeated.
    private func rateLimited(_ call: Call, _ response: HTTPResponse, _ problem: GoogleProblem, attempt: Int) async throws(TransportError) {
        guard attempt < configuration.maxAttempts else {
            throw TransportError(
                .rejectedTemporarily, server: server,
                detail: "\(call.name): Gmail is rate-limiting this account (\"\(problem.message)\"), still after \(attempt) attempts; try again later",
                replyCode: response.status
            )
        }
        try await backoff(call, attempt: attempt, status: response.status, retryAfter: Self.retryAfter(response), reason: problem.message)
    }

    /// Waits before the next attempt: full jitter over an exponential ceiling, never less than Retry-After, at most 64 s.
    private func backoff(_ call: Call, attempt: Int, status: Int?, retryAfter: Double?, reason: String) async throws(TransportError) {
        let ceiling = min(64, configuration.retryBaseSeconds * pow(2, Double(attempt - 1)))
        var delay = ceiling > 0 ? Double.random(in: 0...ceiling) : 0
        if let retryAfter { delay = max(delay, retryAfter) }
        delay = min(delay, 64)
        retriedCalls += 1
        logger.notice(
            "Gmail call will be retried",
            metadata: [
                "gmail.call": "\(call.name)", "http.status": "\(status.map(String.init) ?? "none")", "retry.attempt": "\(attempt)",
                "retry.delay": "\((delay * 100).rounded() / 100)", "retry.reason": "\(reason)",
            ]
        )
        try await pause(delay)
    }

    /// Waits until `units` fit in the last 60 s of this mailbox's budget, then charges them.
    private func reserve(_ units: Int) async throws(TransportError) {
        while let (wait, cutoff) = await budget.admit(units) {
            let parts = wait.components
            try await pause(Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
            await budget.forget(upTo: cutoff)
        }
        unitsSpent += units
    }

    private func pause(_ seconds: Double) async throws(TransportError) {
        do {
            try await sleep(seconds)
        } catch {
            throw TransportError(.withdrawn, server: server, detail: "the call was cancelled before it was made")
        }
    }

    // MARK: - JSON

    private func encode(_ object: [String: Any]) throws(TransportError) -> [UInt8] {
        do {
            return [UInt8](try JSONSerialization.data(withJSONObject: object))
        } catch {
            throw TransportError(.configuration, server: server, detail: "could not encode the request: \(error)")
        }
    }

    private func ref(_ json: [String: Any], in call: String) throws(TransportError) -> GmailMessageRef {
        guard let id = json["id"] as? String, let thread = json["threadId"] as? String else { throw malformed(call, "id or threadId") }
        return GmailMessageRef(id: id, threadID: thread, labelIDs: json["labelIds"] as? [String] ?? [])
    }

    private func malformed(_ call: String, _ field: String) -> TransportError {
        TransportError(.protocolFailure, server: server, detail: "\(call): Gmail's answer lacks \(field)")
    }

    /// Gmail's int64 fields are JSON strings; accept numbers too.
    private static func uint64(_ value: Any?) -> UInt64? {
        if let text = value as? String { return UInt64(text) }
        if let number = value as? NSNumber { return number.uint64Value }
        return nil
    }

    /// Retry-After as seconds or as an HTTP date.
    private static func retryAfter(_ response: HTTPResponse) -> Double? {
        guard let value = response.header("retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
    }
}

/// Google's error body: `{"error":{"code","message","status","errors":[{"reason","domain"}]}}`.
private struct GoogleProblem {
    let message: String
    let reasons: [String]

    init(_ response: HTTPResponse) {
        let error = ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any])?["error"] as? [String: Any]
        let text = error?["message"] as? String
        message = text ?? (response.body.isEmpty ? "HTTP \(response.status)" : String(decoding: response.body.prefix(200), as: UTF8.self))
        reasons = (error?["errors"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
    }

    var isRateLimit: Bool { reasons.contains("rateLimitExceeded") || reasons.contains("userRateLimitExceeded") }
}
