import Foundation
import Hummingbird
import Logging
import Mustache
import OutreachCore
import OutreachEngine
import OutreachStore

/// Renders pages: a page template into the layout (sidebar, flash message, the CSRF token for scripts and forms).
struct Renderer: Sendable {
    let library: MustacheLibrary

    init() throws {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in PageTemplates.all { templates[name] = try MustacheTemplate(string: text) }
        library = MustacheLibrary(templates: templates)
    }

    /// - Parameters:
    ///   - section: which sidebar entry is current.
    ///   - values: the page template's data; `csrf` and the user are added here.
    func page(_ name: String, title: String, section: String, session: WebSession?, values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["csrf"] = session?.csrfToken ?? values["csrf"] ?? ""
        let content = library.render(values, withTemplate: name) ?? "template \(name) is missing"
        var layout: [String: Any] = [
            "title": title, "content": content, "csrf": values["csrf"] ?? "", "signedIn": session != nil,
            "userEmail": session?.user.email ?? "", "isAdmin": session?.user.isAdmin ?? false, "nav": [section: true],
        ]
        if let flash = values["flash"] { layout["flash"] = flash }
        let html = library.render(layout, withTemplate: "layout") ?? content
        return Self.html(html, status: status)
    }

    static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // Everything is served by the app itself; nothing may load from elsewhere.
        headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
