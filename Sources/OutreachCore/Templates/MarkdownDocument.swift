/// The blocks of a Markdown body and the exact number of empty lines between them.
///
/// Emails are letters, not documents: a single newline is a line break, a blank line (one or several) is one empty
/// line, blocks written on consecutive lines stay on consecutive lines, and `[gap:N]` sets the empty lines to N.
struct MarkdownDocument {
    struct Line {
        var inlines: [MarkdownInline]
    }

    enum Block {
        case paragraph([Line])
        case heading(level: Int, Line)
        case list(ordered: Bool, start: Int, items: [[Line]])
        case quote([Line])
    }

    enum Part {
        case block(Block)
        /// This many empty lines.
        case space(Int)
    }

    private(set) var parts: [Part] = []
    private(set) var issues: [TemplateIssue] = []

    private enum Item {
        case line([Unicode.Scalar], number: Int)
        case gap(Int)
    }

    private enum LineKind {
        case blank
        case heading(level: Int, text: ArraySlice<Unicode.Scalar>)
        case quote(ArraySlice<Unicode.Scalar>)
        case bullet(marker: Unicode.Scalar, text: ArraySlice<Unicode.Scalar>)
        case ordered(number: Int, text: ArraySlice<Unicode.Scalar>)
        case text(indent: Int, text: ArraySlice<Unicode.Scalar>)
    }

    /// The block being written, without its lines: those grow in `lines` and `items`, outside any enum payload, so
    /// each line is appended in place (a payload taken out of an enum and put back copied every line before it on
    /// each new line, quadratic in the body, however the optimizer ordered the copies).
    private enum OpenBlock {
        case paragraph, quote
        case list(ordered: Bool, start: Int)
    }

    init(body: [Unicode.Scalar], firstLine: Int) {
        var open: OpenBlock?
        var lines: [Line] = []
        var items: [[Line]] = []
        var blankSeen = false
        var gap: Int?
        var hasBlock = false
        var bulletMarker: Unicode.Scalar = "-"

        func close() {
            switch open {
            case .paragraph: parts.append(.block(.paragraph(lines)))
            case .quote: parts.append(.block(.quote(lines)))
            case .list(let ordered, let start): parts.append(.block(.list(ordered: ordered, start: start, items: items)))
            case nil: break
            }
            open = nil
            lines = []
            items = []
        }
        /// Closes the open block and writes the space before the next one; `block` is then open (nil for a heading,
        /// which the caller writes whole).
        func begin(_ block: OpenBlock?) {
            close()
            if let gap {
                parts.append(.space(gap))
            } else if hasBlock, blankSeen {
                parts.append(.space(1))
            }
            gap = nil
            blankSeen = false
            hasBlock = true
            open = block
        }

        for item in Self.items(body, firstLine: firstLine) {
            switch item {
            case .gap(let count):
                close()
                gap = (gap ?? 0) + count
                blankSeen = false
            case .line(let scalars, let number):
                let kind = Self.classify(scalars)
                func inline(_ text: ArraySlice<Unicode.Scalar>) -> Line {
                    let (inlines, unsupported) = MarkdownInline.parse(Array(text))
                    for url in unsupported { issues.append(TemplateIssue(kind: .unsupportedLink(url: url), line: number)) }
                    return Line(inlines: inlines)
                }
                switch kind {
                case .blank:
                    close()
                    if gap == nil { blankSeen = true }
                case .heading(let level, let text):
                    let line = inline(text)
                    begin(nil)
                    parts.append(.block(.heading(level: level, line)))
                case .quote(let text):
                    let line = inline(text)
                    if case .quote = open {
                        lines.append(line)
                    } else {
                        begin(.quote)
                        lines = [line]
                    }
                case .bullet(let marker, let text):
                    let line = inline(text)
                    if case .list(false, _) = open, marker == bulletMarker {
                        items.append([line])
                    } else {
                        bulletMarker = marker
                        begin(.list(ordered: false, start: 1))
                        items = [[line]]
                    }
                case .ordered(let number, let text):
                    if case .list(true, _) = open {
                        items.append([inline(text)])
                    } else if case .paragraph = open, number != 1 {
                        // "2024. was a good year" inside a paragraph is text; only "1." starts a list there.
                        lines.append(inline(scalars.drop(while: { $0 == " " || $0 == "\t" })))
                    } else {
                        let line = inline(text)
                        begin(.list(ordered: true, start: number))
                        items = [[line]]
                    }
                case .text(let indent, let text):
                    let line = inline(text)
                    if case .paragraph = open {
                        lines.append(line)
                    } else if case .list = open, indent >= 2 {
                        items[items.count - 1].append(line)
                    } else {
                        begin(.paragraph)
                        lines = [line]
                    }
                }
            }
        }
        close()
        if let gap { parts.append(.space(gap)) }
    }

    /// Lines, with every gap tag splitting its line: "Thanks![gap:2]Bob" is "Thanks!", a gap, "Bob".
    private static func items(_ body: [Unicode.Scalar], firstLine: Int) -> [Item] {
        var items: [Item] = []
        var number = firstLine
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { number += 1 }
            guard line.contains(where: { TemplateSentinel.gapLines(of: $0) != nil }) else {
                items.append(.line(Array(line), number: number))
                continue
            }
            var piece: [Unicode.Scalar] = []
            for scalar in line {
                if let lines = TemplateSentinel.gapLines(of: scalar) {
                    if !TemplateFileLayout.isBlank(piece) { items.append(.line(piece, number: number)) }
                    piece = []
                    items.append(.gap(lines))
                } else {
                    piece.append(scalar)
                }
            }
            if !TemplateFileLayout.isBlank(piece) { items.append(.line(piece, number: number)) }
        }
        return items
    }

    private static func classify(_ line: [Unicode.Scalar]) -> LineKind {
        var indent = 0
        var start = 0
        while start < line.count, line[start] == " " || line[start] == "\t" {
            indent += line[start] == "\t" ? 4 : 1
            start += 1
        }
        var end = line.count
        while end > start, line[end - 1].properties.isWhitespace { end -= 1 }
        guard start < end else { return .blank }
        let content = line[start..<end]
        func rest(after index: Int) -> ArraySlice<Unicode.Scalar> {
            var k = index
            while k < end, line[k] == " " || line[k] == "\t" { k += 1 }
            return line[k..<end]
        }
        guard indent < 4 else { return .text(indent: indent, text: content) }

        let first = content.first!
        if first == "#" {
            let level = content.prefix(while: { $0 == "#" }).count
            let after = start + level
            if level <= 6, after == end || line[after] == " " || line[after] == "\t" {
                var text = rest(after: after)
                // A closing run of #s ("## Title ##") is not part of the heading.
                let closing = text.reversed().prefix(while: { $0 == "#" }).count
                if closing > 0, closing < text.count, text[text.endIndex - closing - 1] == " " {
                    text = TemplateFileLayout.trimmed(text.dropLast(closing))[...]
                } else if closing == text.count {
                    text = []
                }
                return .heading(level: level, text: text)
            }
        }
        if first == ">" {
            var k = start + 1
            if k < end, line[k] == " " { k += 1 }
            return .quote(line[k..<end])
        }
        if first == "-" || first == "*" || first == "+", start + 1 == end || line[start + 1] == " " || line[start + 1] == "\t" {
            return .bullet(marker: first, text: rest(after: start + 1))
        }
        let digits = content.prefix(while: { $0 >= "0" && $0 <= "9" })
        if (1...9).contains(digits.count) {
            let after = start + digits.count
            if after < end, line[after] == "." || line[after] == ")",
                after + 1 == end || line[after + 1] == " " || line[after + 1] == "\t",
                let number = Int(String(String.UnicodeScalarView(digits)))
            {
                return .ordered(number: number, text: rest(after: after + 1))
            }
        }
        return .text(indent: indent, text: content)
    }
}
