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

    init(body: [Unicode.Scalar], firstLine: Int) {
        var open: Block?
        var blankSeen = false
        var gap: Int?
        var hasBlock = false
        var bulletMarker: Unicode.Scalar = "-"

        func close() {
            if let block = open { parts.append(.block(block)) }
            open = nil
        }
        func begin(_ block: Block) {
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

        // Growing the open block: `open = nil` after taking its lines out leaves them with one owner, so the append
        // below grows them in place; otherwise every line copied all the lines before it (quadratic in the body).
        for item in Self.items(body, firstLine: firstLine) {
            switch item {
            case .gap(let lines):
                close()
                gap = (gap ?? 0) + lines
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
                    begin(.heading(level: level, inline(text)))
                    close()
                case .quote(let text):
                    if case .quote(var lines) = open {
                        open = nil
                        lines.append(inline(text))
                        open = .quote(lines)
                    } else {
                        begin(.quote([inline(text)]))
                    }
                case .bullet(let marker, let text):
                    if case .list(false, let start, var items) = open, marker == bulletMarker {
                        open = nil
                        items.append([inline(text)])
                        open = .list(ordered: false, start: start, items: items)
                    } else {
                        bulletMarker = marker
                        begin(.list(ordered: false, start: 1, items: [[inline(text)]]))
                    }
                case .ordered(let number, let text):
                    if case .list(true, let start, var items) = open {
                        open = nil
                        items.append([inline(text)])
                        open = .list(ordered: true, start: start, items: items)
                    } else if case .paragraph(var lines) = open, number != 1 {
                        // "2024. was a good year" inside a paragraph is text; only "1." starts a list there.
                        open = nil
                        lines.append(inline(scalars.drop(while: { $0 == " " || $0 == "\t" })))
                        open = .paragraph(lines)
                    } else {
                        begin(.list(ordered: true, start: number, items: [[inline(text)]]))
                    }
                case .text(let indent, let text):
                    if case .paragraph(var lines) = open {
                        open = nil
                        lines.append(inline(text))
                        open = .paragraph(lines)
                    } else if case .list(let ordered, let start, var items) = open, indent >= 2 {
                        open = nil
                        items[items.count - 1].append(inline(text))
                        open = .list(ordered: ordered, start: start, items: items)
                    } else {
                        begin(.paragraph([inline(text)]))
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
