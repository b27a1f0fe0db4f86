import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore
import ServiceLifecycle

/// The web UI and JSON API: every page and endpoint, on the same stores the CLI uses. `outreach serve` runs it in one
/// process with the job worker and the sync timer.
public struct WebApp: Sendable {
    let database: Stores
    let registry: AccountRegistry
    let logger: Logger
    let renderer: Renderer
    let throttle = LoginThrottle()
    let sessions = ShortLivedCache<String, WebSession>(lifetime: .seconds(2))
    let names = ShortLivedCache<Int, NameLookup>(lifetime: .seconds(2), capacity: 1)
    /// Set the Secure attribute on cookies (behind HTTPS); also set per request when a proxy says X-Forwarded-Proto: https.
    let secureCookies: Bool
    /// Read the client address from X-Forwarded-For (last hop): only behind a proxy that sets it.
    let trustProxy: Bool
    /// "Connect with Google" (nil: not configured).
    let google: GoogleOAuthSettings?
    /// How uploaded CSVs are read (the cell size limit).
    let csvImport: CSVImportSettings
    let pendingGoogle = ShortLivedCache<String, PendingGoogleConnect>(lifetime: .seconds(600), capacity: 1_000)
    /// The message the next page shows after a form's action, by session: kept here, never taken from the URL.
    let flashes = ShortLivedCache<String, Flash>(lifetime: .seconds(300))
    /// OUTREACH_PUBLIC_URL: the address browsers use (behind a proxy, the proxy's); nil when not configured.
    let publicURL: PublicURL?
    let timeouts: HTTPTimeouts

    public init(
        database: Stores, registry: AccountRegistry, logger: Logger, secureCookies: Bool = false, trustProxy: Bool = false,
        google: GoogleOAuthSettings? = nil, publicURL: PublicURL? = nil, timeouts: HTTPTimeouts = .default, csvImport: CSVImportSettings = .init()
    ) throws {
        self.database = database
        self.registry = registry
        self.logger = logger
        self.renderer = try Renderer()
        self.secureCookies = secureCookies
        self.trustProxy = trustProxy
        self.google = google
        self.publicURL = publicURL
        self.timeouts = timeouts
        self.csvImport = csvImport
    }

    var scheduler: JobScheduler {
        JobScheduler(campaigns: database.campaigns, ledger: database.deliveries, jobs: database.jobs, registry: registry)
    }

    public func router() -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        router.add(middleware: SecurityHeadersMiddleware(renderer: renderer))
        // Sessions next: an error page is drawn for the signed-in user, with the sidebar and their CSRF token.
        router.add(middleware: SessionMiddleware(
            users: database.users, accounts: database.accounts, renderer: renderer, sessions: sessions, publicURL: publicURL, trustProxy: trustProxy
        ))
        router.add(middleware: ErrorPageMiddleware(renderer: renderer))
        router.get("/healthz") { _, _ in "ok" }
        router.get("/assets/:name") { _, context in
            guard let response = Assets.response(try context.parameters.require("name")) else { throw Access.notFound() }
            return response
        }
        // Browsers ask for it on their own, signed in or not; a redirect to the login page would be answered instead.
        router.get("/favicon.ico") { _, _ in Assets.response("favicon.svg") ?? Response(status: .notFound) }
        router.get("/") { _, _ in Response.redirect(to: "/jobs") }
        addAuthRoutes(to: router)
        addJobRoutes(to: router)
        addAccountRoutes(to: router)
        addGoogleConnectRoutes(to: router)
        addModule1Routes(to: router)
        addModule2Routes(to: router)
        addDownloadRoutes(to: router)
        addABRoutes(to: router)
        addUserRoutes(to: router)
        addAPIRoutes(to: router)
        router.get("/help") { _, context in
            renderer.page("help", title: "Help", section: "help", session: context.session, values: [:])
        }
        return router
    }

    /// The HTTP server as a service; `services` run beside it in the same service group (worker, sync timer).
    public func application(host: String, port: Int, services: [any Service], onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(), server: timeouts.server, configuration: .init(address: .hostname(host, port: port), serverName: "Outreach"), services: services,
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger
        )
    }

    /// Runs the web server with the job worker and the sync timer in one service group until SIGTERM or SIGINT.
    /// - Parameters:
    ///   - worker: runs due jobs in this process; nil when `outreach worker` processes do (`serve --no-worker`).
    ///   - syncEverySeconds: the sync timer's interval; nil when `outreach sync --watch` syncs (`serve --no-sync`).
    public func serve(host: String, port: Int, worker: Worker?, syncEverySeconds: Double?, onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        var services: [any Service] = []
        if let worker { services.append(WorkerService(worker: worker)) }
        if let syncEverySeconds { services.append(SyncTimerService(database: database, registry: registry, interval: syncEverySeconds, logger: logger)) }
        try await application(host: host, port: port, services: services, onRunning: onRunning).runService()
    }

    // MARK: - Helpers shared by the routes

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func form(_ request: inout Request, _ context: WebContext) async throws -> FormData {
        FormData(String(buffer: try await BodyLimit.form.collect(&request)))
    }

    static func jsonBody<T: Decodable>(_ type: T.Type, _ request: inout Request, _ context: WebContext, dates: Bool = false) async throws -> T {
        let buffer = try await BodyLimit.form.collect(&request)
        let decoder = JSONDecoder()
        if dates { decoder.dateDecodingStrategy = .iso8601 }
        do { return try decoder.decode(T.self, from: Data(buffer.readableBytesView)) } catch {
            throw HTTPError(.badRequest, message: ErrorText.describe(error))
        }
    }

    /// Whether the user may create a job on (or resume one of) this account, asked of the store now: the session's
    /// grants are up to two seconds old, and a grant revoked a moment ago must already stop a new job.
    func mayStartJob(on accountID: Int64, _ access: Access) async throws -> Bool {
        guard let userID = access.user.id, let user = try await database.users.user(id: userID) else { return false }
        if user.isAdmin { return true }
        return try await database.users.grantedAccountIDs(userID: userID).contains(accountID)
    }

    /// The redirect after a form's action, with the message the next page shows (kept for this session).
    func redirect(to path: String, flash message: String, session: WebSession?) -> Response {
        if let session { flashes.store(Flash(kind: "ok", message: message), for: session.tokenHash) }
        return .redirect(to: path)
    }

    /// This session's message, shown once.
    func takeFlash(_ session: WebSession?) -> [String: String]? {
        guard let session, let flash = flashes.value(for: session.tokenHash) else { return nil }
        flashes.remove(session.tokenHash)
        return ["kind": flash.kind, "message": flash.message]
    }

    /// A page that says what happened and where to go next (used after a form post that failed).
    func message(_ heading: String, _ text: String, link: String? = nil, linkText: String = "Back", session: WebSession?, status: HTTPResponse.Status) -> Response {
        var values: [String: Any] = ["heading": heading, "text": text, "linkText": linkText]
        if let link { values["link"] = link }
        return renderer.page("message", title: heading, section: "", session: session, values: values, status: status)
    }

    func campaign(_ id: Int64, for access: Access) async throws -> Campaign {
        guard let campaign = try await database.campaigns.campaign(id: id), access.canSee(campaign) else { throw Access.notFound() }
        return campaign
    }

    func job(_ id: Int64, for access: Access) async throws -> Job {
        guard let job = try await database.jobs.job(id: id), access.canSee(job) else { throw Access.notFound() }
        return job
    }

    /// Campaigns this user sees, newest first.
    func visibleCampaigns(_ access: Access) async throws -> [Campaign] {
        try await database.campaigns.allCampaigns().filter(access.canSee).sorted { ($0.id ?? 0) > ($1.id ?? 0) }
    }

    /// Accounts this user may send from.
    func usableAccounts(_ access: Access) async throws -> [Account] {
        try await database.accounts.allAccounts().filter { $0.id.map(access.canUse) ?? false }
    }

    /// "at" from a form: the browser's instant (ISO 8601, from the local time the user picked), else now.
    static func start(from form: FormData) throws -> Date {
        guard form["when"] == "at" else { return Date() }
        if let instant = form.text("atInstant"), let date = try? Date(instant, strategy: .iso8601) { return date }
        if let local = form.text("at") { return try JobTime.parse(local) }
        throw HTTPError(.badRequest, message: "choose a date and time to schedule the job, or send it now")
    }
}

/// Turns errors into pages (or JSON for the API) an operator can read, instead of a bare status line.
struct ErrorPageMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let renderer: Renderer

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            return Self.response(error, path: request.uri.path, session: context.session, renderer: renderer)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Self.response(Self.httpError(for: error), path: request.uri.path, session: context.session, renderer: renderer)
        }
    }

    /// A failure no route turned into an answer: 503 with what to do when the database refuses writes (the request
    /// may work once the operator has freed space; a mail provider retries a 5xx), else 500 in words.
    static func httpError(for error: any Error) -> HTTPError {
        if let fault = StorageFault(error) {
            return HTTPError(.serviceUnavailable, message: "Nothing was changed: \(fault.description). Try again once that is fixed.")
        }
        return HTTPError(.internalServerError, message: ErrorText.describe(error))
    }

    static func response(_ error: HTTPError, path: String, session: WebSession?, renderer: Renderer) -> Response {
        var text = error.body ?? String(describing: error.status)
        if error.status == .notFound, error.body == nil || error.body == Access.notFoundMessage {
            text = "There is no such page, or it is not one you may see."
        }
        if path.hasPrefix("/api/") {
            struct Failure: Encodable { let error: String }
            return (try? WebApp.json(Failure(error: text), status: error.status)) ?? Response(status: error.status)
        }
        let heading = switch error.status {
        case .notFound: "Not found"
        case .forbidden: "Refused"
        case .contentTooLarge: "Too large"
        case .serviceUnavailable: "Not available right now"
        case .internalServerError: "Something went wrong"
        default: "That did not work"
        }
        var values: [String: Any] = ["heading": heading, "text": text]
        if session != nil { (values["link"], values["linkText"]) = ("/jobs", "Back to the jobs") }
        return renderer.page("message", title: heading, section: "", session: session, values: values, status: error.status)
    }
}
