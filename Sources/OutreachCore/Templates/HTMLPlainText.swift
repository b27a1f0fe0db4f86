/// Readable plain text from an HTML email, for the text/plain part.
///
/// Lines follow what a mail client shows: `<br>` ends a line, blocks (`div`, `li`, `tr`…) start one, paragraphs,
/// headings and lists are set off by one empty line, list items become "- item" / "1. item", links "text (url)"
/// (just the URL when the text is the URL), images inside links their alt text. `<head>`, `<style>`, `<script>`,
/// comments and elements hidden with `display:none` (preheaders) are dropped; character references are decoded,
/// NBSP becomes a space, zero-width characters go. Runs of empty lines become one, except where a `[gap:N]` tag
/// asked for exactly N, and trailing spaces are trimmed.
public enum HTMLPlainText {
    public static func text(fromHTML html: String) -> String {
        convert(html.unicodeScalars.map { TemplateSentinel.isReserved($0) ? "\u{FFFD}" : $0 })
    }

    private static let dropped: Set<String> = ["script", "style", "title", "template", "svg", "head", "xml"]
    private static let voidElements: Set<String> = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    ]
    private static let paragraphBlocks: Set<String> = [
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "dl", "figure", "hr", "pre",
    ]
    private static let lineBlocks: Set<String> = [
        "div", "li", "tr", "table", "tbody", "thead", "tfoot", "caption", "section", "article", "header", "footer",
        "main", "nav", "aside", "center", "address", "dt", "dd", "figcaption", "form", "fieldset", "legend", "details",
        "summary", "body", "html",
    ]

    /// Converts sentinel-carrying HTML: gap sentinels become exact gaps, placeholders in link addresses are marked
    /// as URL values.
    static func convert(_ html: [Unicode.Scalar]) -> String {
        let tokens = HTMLTokenizer.tokens(html)
        var writer = Writer()
        var lists: [(ordered: Bool, next: Int)] = []
        var links: [[Unicode.Scalar]?] = []
        var preformatted = 0
        var i = 0
        while i < tokens.count {
            let token = tokens[i]
            i += 1
            switch token {
            case .text(let text):
                writer.text(text, preformatted: preformatted > 0)
            case .startTag(let name, let attributes, let selfClosing):
                if dropped.contains(name) || (!voidElements.contains(name) && !selfClosing && isHidden(attributes)) {
                    if let end = endOfElement(name, in: tokens, after: i) {
                        i = end
                        continue
                    }
                }
                if paragraphBlocks.contains(name) {
                    writer.blankLine()
                    if name == "pre" { preformatted += 1 }
                } else if lineBlocks.contains(name) {
                    writer.ensureLineStart()
                }
                switch name {
                case "br":
                    writer.lineBreak()
                case "ul", "ol":
                    if lists.isEmpty { writer.blankLine() } else { writer.ensureLineStart() }
                    let start = attributes["start"].flatMap { Int(String(String.UnicodeScalarView($0))) } ?? 1
                    lists.append((name == "ol", start))
                case "li":
                    var marker = String(repeating: "  ", count: max(0, lists.count - 1))
                    if let last = lists.last, last.ordered {
                        marker += "\(last.next). "
                        lists[lists.count - 1].next += 1
                    } else {
                        marker += "- "
                    }
                    writer.listMarker(marker, depth: lists.count)
                case "td", "th":
                    writer.separateCell()
                case "a":
                    let href = attributes["href"].map { TemplateFileLayout.trimmed($0) }
                    links.append(href.flatMap { isShownAddress($0) ? $0 : nil })
                    writer.beginLink()
                case "img":
                    if !links.isEmpty, let alt = attributes["alt"] { writer.text(alt, preformatted: false) }
                default:
                    break
                }
            case .endTag(let name):
                if paragraphBlocks.contains(name) {
                    writer.blankLine()
                    if name == "pre" { preformatted = max(0, preformatted - 1) }
                } else if lineBlocks.contains(name) {
                    writer.ensureLineStart()
                }
                switch name {
                case "ul", "ol":
                    if !lists.isEmpty { lists.removeLast() }
                    writer.endListItems(depth: lists.count)
                    if lists.isEmpty { writer.blankLine() } else { writer.ensureLineStart() }
                case "li":
                    writer.endListItems(depth: lists.count - 1)
                case "a":
                    guard !links.isEmpty else { break }
                    let label = writer.endLink()
                    guard let href = links.removeLast() else { break }
                    var shown = TemplateSentinel.markingURL(href)
                    if hasScheme("mailto:", shown) { shown.removeFirst(7) }
                    if label.isEmpty {
                        writer.text(shown, preformatted: false)
                    } else if !sameAddress(label, href) {
                        writer.text(Array(" (".unicodeScalars) + shown + [")"], preformatted: false)
                    }
                default:
                    break
                }
            }
        }
        return writer.finish()
    }

    private static func isHidden(_ attributes: [String: [Unicode.Scalar]]) -> Bool {
        if attributes["hidden"] != nil { return true }
        guard let style = attributes["style"] else { return false }
        let compact = String(String.UnicodeScalarView(style.filter { !$0.isHTMLSpace }.map(\.asciiLowercased)))
        return compact.contains("display:none")
    }

    /// The index after the end tag that closes the element opened just before `start`, nesting counted.
    private static func endOfElement(_ name: String, in tokens: [HTMLTokenizer.Token], after start: Int) -> Int? {
        var depth = 1
        var k = start
        while k < tokens.count {
            switch tokens[k] {
            case .startTag(let other, _, let selfClosing):
                if name == "head", other == "body" { return k }
                if other == name, !selfClosing { depth += 1 }
            case .endTag(let other):
                if other == name {
                    depth -= 1
                    if depth == 0 { return k + 1 }
                }
            case .text:
                break
            }
            k += 1
        }
        return nil
    }

    private static func hasScheme(_ scheme: String, _ url: [Unicode.Scalar]) -> Bool {
        let scheme = Array(scheme.unicodeScalars)
        return url.count >= scheme.count && zip(url, scheme).allSatisfy { $0.asciiLowercased == $1 }
    }

    private static func isShownAddress(_ url: [Unicode.Scalar]) -> Bool {
        if let first = url.first, TemplateSentinel.isPlaceholder(first) { return true }
        return ["http://", "https://", "mailto:"].contains { hasScheme($0, url) && url.count > $0.unicodeScalars.count }
    }

    /// "acme.com", "www.acme.com/" and "https://acme.com" are the same address to a reader.
    private static func sameAddress(_ label: [Unicode.Scalar], _ href: [Unicode.Scalar]) -> Bool {
        func normalized(_ url: [Unicode.Scalar]) -> [Unicode.Scalar] {
            var url = url.map(\.asciiLowercased)[...]
            for scheme in ["https://", "http://", "mailto:"] where hasScheme(scheme, Array(url)) {
                url = url.dropFirst(scheme.unicodeScalars.count)
                break
            }
            if hasScheme("www.", Array(url)) { url = url.dropFirst(4) }
            while url.last == "/" { url = url.dropLast() }
            return Array(url)
        }
        return normalized(label) == normalized(href)
    }

    /// Collects lines and the vertical space between them, then settles the space: one empty line for any run of
    /// margins and empty lines, exactly the requested count where gap tags are.
    private struct Writer {
        private enum Entry {
            case line(String.UnicodeScalarView)
            case margin
            case gap(Int)
        }

        private var entries: [Entry] = []
        private var current = String.UnicodeScalarView()
        private var pendingSpace = false
        private var atListMarker = false
        private var linkTexts: [[Unicode.Scalar]] = []
        /// Continuation lines of a list item line up under its text: one entry per open item.
        private var itemIndents: [String] = []

        private mutating func append(_ scalar: Unicode.Scalar) {
            if current.isEmpty, let indent = itemIndents.last { current.append(contentsOf: indent.unicodeScalars) }
            current.append(scalar)
            atListMarker = false
            for index in linkTexts.indices { linkTexts[index].append(scalar) }
        }

        mutating func text(_ scalars: [Unicode.Scalar], preformatted: Bool) {
            for scalar in scalars {
                if let lines = TemplateSentinel.gapLines(of: scalar) {
                    gap(lines)
                } else if preformatted {
                    if scalar == "\n" {
                        lineBreak()
                    } else if scalar != "\r" {
                        append(scalar)
                    }
                } else if scalar.isHTMLSpace {
                    pendingSpace = true
                } else {
                    if pendingSpace, let last = current.last, last != " " { append(" ") }
                    pendingSpace = false
                    append(scalar)
                }
            }
        }

        mutating func lineBreak() {
            entries.append(.line(current))
            current = String.UnicodeScalarView()
            pendingSpace = false
            atListMarker = false
        }

        mutating func ensureLineStart() {
            if !current.isEmpty, !atListMarker { lineBreak() }
            pendingSpace = false
        }

        mutating func blankLine() {
            guard !atListMarker else { return }
            ensureLineStart()
            entries.append(.margin)
        }

        mutating func gap(_ lines: Int) {
            ensureLineStart()
            if atListMarker { lineBreak() }
            entries.append(.gap(lines))
        }

        /// Starts an item of the list at `depth` (1 for a top-level list); an item not closed before is closed.
        mutating func listMarker(_ marker: String, depth: Int) {
            ensureLineStart()
            if atListMarker { lineBreak() }
            endListItems(depth: depth - 1)
            current.append(contentsOf: marker.unicodeScalars)
            itemIndents.append(String(repeating: " ", count: marker.count))
            atListMarker = true
        }

        mutating func endListItems(depth: Int) {
            while itemIndents.count > max(0, depth) { itemIndents.removeLast() }
        }

        mutating func separateCell() {
            if !current.isEmpty, !atListMarker { pendingSpace = true }
        }

        mutating func beginLink() { linkTexts.append([]) }

        mutating func endLink() -> [Unicode.Scalar] {
            guard let text = linkTexts.popLast() else { return [] }
            return TemplateFileLayout.trimmed(Self.cleaned(text))
        }

        mutating func finish() -> String {
            if !current.isEmpty, !atListMarker { lineBreak() }
            var lines: [String] = []
            var sawEmpty = false
            var gap: Int?
            func settleSpace() {
                if let gap {
                    lines.append(contentsOf: repeatElement("", count: gap))
                } else if sawEmpty, !lines.isEmpty {
                    lines.append("")
                }
                sawEmpty = false
                gap = nil
            }
            for entry in entries {
                switch entry {
                case .line(let scalars):
                    var line = Self.cleaned(scalars)
                    while let last = line.last, last == " " || last == "\t" { line.removeLast() }
                    if line.isEmpty {
                        sawEmpty = true
                    } else {
                        settleSpace()
                        lines.append(String(String.UnicodeScalarView(line)))
                    }
                case .margin:
                    sawEmpty = true
                case .gap(let count):
                    gap = (gap ?? 0) + count
                }
            }
            if let gap { lines.append(contentsOf: repeatElement("", count: gap)) }
            return lines.joined(separator: "\n")
        }

        /// NBSP and other fixed spaces read as spaces; zero-width characters and soft hyphens are invisible.
        private static func cleaned(_ scalars: some Sequence<Unicode.Scalar>) -> [Unicode.Scalar] {
            var out: [Unicode.Scalar] = []
            for scalar in scalars {
                switch scalar.value {
                case 0xA0, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: out.append(" ")
                case 0xAD, 0x34F, 0x200B...0x200D, 0x2060, 0xFEFF: continue
                default: out.append(scalar)
                }
            }
            return out
        }
    }
}
