/// How a template body is written. Detected from the body unless the caller says.
public enum BodyFormat: String, Sendable, Hashable, Codable {
    /// Markdown, rendered to HTML and plain text by the template engine.
    case markdown
    /// HTML as written by the operator; the plain-text part is derived from it.
    case html

    private static let htmlElements: Set<String> = [
        "html", "head", "body", "meta", "style", "title", "div", "p", "span", "table", "tbody", "tr", "td", "center",
        "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "b", "strong", "i", "em", "u", "font",
        "img", "blockquote", "pre", "section", "article", "header", "footer", "main",
    ]

    /// HTML when the body starts, after white space, with an HTML tag (`<p`, `<div`, `<!doctype`, `<table`, `<!--`…);
    /// Markdown otherwise.
    public init(detecting body: some StringProtocol) {
        var scalars = body.unicodeScalars.drop(while: { $0.properties.isWhitespace })
        guard scalars.first == "<" else {
            self = .markdown
            return
        }
        scalars = scalars.dropFirst()
        let text = String(String.UnicodeScalarView(scalars.prefix(12))).lowercased()
        if text.hasPrefix("!--") || text.hasPrefix("!doctype") {
            self = .html
            return
        }
        let name = text.prefix(while: { $0.isASCII && ($0.isLetter || $0.isNumber) })
        let next = text.dropFirst(name.count).first
        let ends = next == nil || next == ">" || next == "/" || next!.isWhitespace
        self = Self.htmlElements.contains(String(name)) && ends ? .html : .markdown
    }
}
