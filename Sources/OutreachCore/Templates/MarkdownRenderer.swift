/// Writes a ``MarkdownDocument`` as an HTML fragment and as plain text with the same lines and the same empty lines.
///
/// Blocks carry no margins (`margin:0`); every empty line is an explicit `<div><br></div>` — the markup Gmail's own
/// composer writes — so Gmail, Outlook and Apple Mail show exactly the spacing the plain-text part has.
/// Placeholder sentinels pass through; they are split out and escaped afterwards.
enum MarkdownRenderer {
    static let emptyLine = "<div><br></div>"

    static func html(_ document: MarkdownDocument) -> String {
        var out = ""
        func newline() { if !out.isEmpty { out += "\n" } }
        for part in document.parts {
            switch part {
            case .space(let lines):
                for _ in 0..<lines {
                    newline()
                    out += emptyLine
                }
            case .block(let block):
                newline()
                switch block {
                case .paragraph(let lines):
                    out += "<div>" + lines.map { html($0.inlines) }.joined(separator: "<br>") + "</div>"
                case .heading(let level, let line):
                    out += "<h\(level) style=\"margin:0\">" + html(line.inlines) + "</h\(level)>"
                case .list(let ordered, let start, let items):
                    let tag = ordered ? "ol" : "ul"
                    out += "<\(tag)" + (ordered && start != 1 ? " start=\"\(start)\"" : "") + " style=\"margin:0;padding-left:24px\">"
                    for item in items {
                        out += "<li>" + item.map { html($0.inlines) }.joined(separator: "<br>") + "</li>"
                    }
                    out += "</\(tag)>"
                case .quote(let lines):
                    out += "<blockquote style=\"margin:0 0 0 0.8ex;border-left:1px solid #ccc;padding-left:1ex\">"
                    out += lines.map { html($0.inlines) }.joined(separator: "<br>") + "</blockquote>"
                }
            }
        }
        return out
    }

    static func text(_ document: MarkdownDocument) -> String {
        var lines: [String] = []
        for part in document.parts {
            switch part {
            case .space(let count):
                lines.append(contentsOf: repeatElement("", count: count))
            case .block(let block):
                switch block {
                case .paragraph(let paragraph):
                    lines.append(contentsOf: paragraph.map { text($0.inlines) })
                case .heading(_, let line):
                    lines.append(text(line.inlines))
                case .list(let ordered, let start, let items):
                    for (offset, item) in items.enumerated() {
                        let marker = ordered ? "\(start + offset). " : "- "
                        let indent = String(repeating: " ", count: marker.count)
                        for (index, line) in item.enumerated() {
                            lines.append((index == 0 ? marker : indent) + text(line.inlines))
                        }
                    }
                case .quote(let quote):
                    lines.append(contentsOf: quote.map { line in
                        let content = text(line.inlines)
                        return content.isEmpty ? ">" : "> " + content
                    })
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func html(_ inlines: [MarkdownInline]) -> String {
        var out = ""
        for inline in inlines {
            switch inline {
            case .text(let text):
                appendEscaped(text.unicodeScalars, to: &out)
            case .strong(let children):
                out += "<strong>" + html(children) + "</strong>"
            case .emphasis(let children):
                out += "<em>" + html(children) + "</em>"
            case .link(let children, let url, _):
                out += "<a href=\""
                appendEscaped(TemplateSentinel.markingURL(url), to: &out)
                out += "\">" + html(children) + "</a>"
            }
        }
        return out
    }

    private static func text(_ inlines: [MarkdownInline]) -> String {
        var out = ""
        for inline in inlines {
            switch inline {
            case .text(let text):
                out += text
            case .strong(let children), .emphasis(let children):
                out += text(children)
            case .link(let children, let url, let isAutolink):
                let label = text(children)
                let address = String(String.UnicodeScalarView(url))
                var shown = String(String.UnicodeScalarView(TemplateSentinel.markingURL(url)))
                if shown.lowercased().hasPrefix("mailto:") { shown = String(shown.dropFirst(7)) }
                if isAutolink || label == address || label == shown {
                    out += shown
                } else {
                    out += label + " (" + shown + ")"
                }
            }
        }
        return out
    }

    private static func appendEscaped(_ scalars: some Sequence<Unicode.Scalar>, to out: inout String) {
        for scalar in scalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }
}
