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
    let database: SQLiteDatabase
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

    public init(
        database: SQLiteDatabase, registry: AccountRegistry, logger: Logger, secureCookies: Bool = false, trustProxy: Bool = false,
        google: GoogleOAuthSettings? = nil, csvImport: CSVImportSettings = .init()
    ) throws {
        self.database = database
        self.registry = registry
        self.logger = logger
        self.renderer = try Renderer()
        self.secureCookies = secureCookies
        self.trustProxy = trustProxy
        self.google = google
        self.csvImport = csvImport
    }

    var scheduler: JobScheduler {
        JobScheduler(campaigns: database.campaigns, ledger: database.deliveries, jobs: database.jobs, registry: registry)
    }

    public func router() -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        // Sessions first: an error page is drawn for the signed-in user, with the sidebar and their CSRF token.
        router.add(middleware: SessionMiddleware(users: database.users, accounts: database.accounts, renderer: renderer, sessions: sessions))
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
            router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "Outreach"), services: services,
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger
        )
    }

    /// Runs the web server with the job worker and the sync timer in one service group until SIGTERM or SIGINT.
    public func serve(host: String, port: Int, worker: Worker, syncEverySeconds: Double, onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        let services: [any Service] = [
            WorkerService(worker: worker), SyncTimerService(database: database, registry: registry, interval: syncEverySeconds, logger: logger),
        ]
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
        FormData(String(buffer: try await request.collectBody(upTo: WebContext.maxFormSize)))
    }

    static func jsonBody<T: Decodable>(_ type: T.Type, _ request: inout Request, _ context: WebContext) async throws -> T {
        let buffer = try await request.collectBody(upTo: WebContext.maxFormSize)
        do { return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)) } catch {
            throw HTTPError(.badRequest, message: "the request body is not the JSON this endpoint takes: \(error)")
        }
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
            return Self.response(HTTPError(.internalServerError, message: "\(error)"), path: request.uri.path, session: context.session, renderer: renderer)
        }
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
        case .internalServerError: "Something went wrong"
        default: "That did not work"
        }
        var values: [String: Any] = ["heading": heading, "text": text]
        if session != nil { (values["link"], values["linkText"]) = ("/jobs", "Back to the jobs") }
        return renderer.page("message", title: heading, section: "", session: session, values: values, status: error.status)
    }
}
