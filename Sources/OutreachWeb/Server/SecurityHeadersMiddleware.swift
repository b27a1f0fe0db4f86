import Foundation
import Hummingbird
import Logging
import OutreachStore

/// The outermost middleware: every response — pages, JSON, assets, redirects, errors — says `nosniff` (a browser
/// must not guess a type from the bytes) and keeps its address out of the `Referer` of requests to other sites.
/// An error that escaped every inner middleware is answered here, in words, never with its type.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let renderer: Renderer

    static let referrerPolicy = "same-origin"

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            response = ErrorPageMiddleware.response(error, path: request.uri.path, session: nil, renderer: renderer)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = ErrorPageMiddleware.response(ErrorPageMiddleware.httpError(for: error), path: request.uri.path, session: nil, renderer: renderer)
        }
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = Self.referrerPolicy
        return response
    }
}
