/// Inline Markdown of one line: `**bold**`, `*italic*`, `_italic_`, `[text](url)`, `<https://…>`, bare
/// `https://…`, backslash escapes. Everything else is text (escaped when it becomes HTML).
indirect enum MarkdownInline: Equatable {
    case text(String)
    case strong([MarkdownInline])
    case emphasis([MarkdownInline])
    /// `url` may hold placeholder sentinels; `isAutolink` when the link text is the URL itself.
    case link(children: [MarkdownInline], url: [Unicode.Scalar], isAutolink: Bool)

    /// Parses one line. Links whose address is not http, https or mailto are left as text and their addresses
    /// returned as `unsupportedLinks`.
    static func parse(_ line: [Unicode.Scalar]) -> (inlines: [MarkdownInline], unsupportedLinks: [String]) {
        var parser = Parser(s: line)
        let inlines = parser.parse(0, line.count)
        return (inlines, parser.unsupportedLinks)
    }

    private struct Parser {
        let s: [Unicode.Scalar]
        var unsupportedLinks: [String] = []

        mutating func parse(_ lo: Int, _ hi: Int) -> [MarkdownInline] {
            var out: [MarkdownInline] = []
            var buffer = String.UnicodeScalarView()
            func flush() {
                if !buffer.isEmpty {
                    out.append(.text(String(buffer)))
                    buffer = String.UnicodeScalarView()
                }
            }
            var i = lo
            while i < hi {
                let c = s[i]
                switch c {
                case "\\" where i + 1 < hi && s[i + 1].isASCII && s[i + 1].properties.isPatternSyntax:
                    buffer.append(s[i + 1])
                    i += 2
                    continue
                case "<":
                    if let (url, end) = angleAutolink(i, hi) {
                        flush()
                        out.append(autolink(url))
                        i = end
                        continue
                    }
                case "[":
                    if let (text, url, end) = link(i, hi) {
                        flush()
                        let children = text.isEmpty ? [.text(String(String.UnicodeScalarView(url)))] : parse(text.lowerBound, text.upperBound)
                        out.append(.link(children: children, url: url, isAutolink: false))
                        i = end
                        continue
                    }
                case "h", "H":
                    if i == lo || !s[i - 1].isWordScalar, let end = bareURLEnd(i, hi) {
                        flush()
                        let url = Array(s[i..<end])
                        out.append(autolink(url))
                        i = end
                        continue
                    }
                case "*", "_":
                    if let (node, end) = emphasis(i, lo, hi) {
                        flush()
                        out.append(node)
                        i = end
                        continue
                    }
                    while i < hi, s[i] == c {
                        buffer.append(c)
                        i += 1
                    }
                    continue
                default:
                    break
                }
                buffer.append(c)
                i += 1
            }
            flush()
            return out
        }

        /// A link whose text is its address: values in it are shown as they are in the address (percent-encoded).
        func autolink(_ url: [Unicode.Scalar]) -> MarkdownInline {
            let shown = String(String.UnicodeScalarView(TemplateSentinel.markingURL(url)))
            return .link(children: [.text(shown)], url: url, isAutolink: true)
        }

        func hasPrefix(_ prefix: String, at index: Int, before hi: Int) -> Bool {
            var k = index
            for scalar in prefix.unicodeScalars {
                guard k < hi, s[k].asciiLowercased == scalar else { return false }
                k += 1
            }
            return true
        }

        /// The scheme a link address may start with, or a placeholder that supplies it (checked per row).
        func isAllowedAddress(_ url: ArraySlice<Unicode.Scalar>) -> Bool {
            guard let first = url.first else { return false }
            if TemplateSentinel.isPlaceholder(first) { return true }
            let lowered = url.prefix(8).map(\.asciiLowercased)
            for scheme in ["http://", "https://", "mailto:"] {
                let scheme = Array(scheme.unicodeScalars)
                if lowered.starts(with: scheme) { return url.count > scheme.count }
            }
            return false
        }

        func angleAutolink(_ i: Int, _ hi: Int) -> ([Unicode.Scalar], Int)? {
            var k = i + 1
            while k < hi, s[k] != ">", s[k] != "<", !s[k].properties.isWhitespace { k += 1 }
            guard k < hi, s[k] == ">", isAllowedAddress(s[(i + 1)..<k]) else { return nil }
            return (Array(s[(i + 1)..<k]), k + 1)
        }

        /// `[text](url)` or `[text](url "title")`: the text range, the address and the end.
        mutating func link(_ i: Int, _ hi: Int) -> (Range<Int>, [Unicode.Scalar], Int)? {
            var depth = 0
            var k = i
            var close: Int?
            while k < hi {
                if s[k] == "\\" {
                    k += 2
                    continue
                }
                if s[k] == "[" { depth += 1 }
                if s[k] == "]" {
                    depth -= 1
                    if depth == 0 {
                        close = k
                        break
                    }
                }
                k += 1
            }
            guard let close, close + 1 < hi, s[close + 1] == "(" else { return nil }
            var parens = 1
            var end = close + 2
            while end < hi {
                if s[end] == "(" { parens += 1 }
                if s[end] == ")" {
                    parens -= 1
                    if parens == 0 { break }
                }
                end += 1
            }
            guard end < hi else { return nil }
            var destination = TemplateFileLayout.trimmed(s[(close + 2)..<end])[...]
            if let space = destination.firstIndex(where: { $0.properties.isWhitespace }) {
                destination = destination[..<space]
            }
            if destination.first == "<", destination.last == ">", destination.count >= 2 {
                destination = destination.dropFirst().dropLast()
            }
            guard isAllowedAddress(destination) else {
                unsupportedLinks.append(String(String.UnicodeScalarView(destination)))
                return nil
            }
            return ((i + 1)..<close, Array(destination), end + 1)
        }

        /// The end of a bare `http://` or `https://` URL starting at `i`, trailing punctuation left out.
        func bareURLEnd(_ i: Int, _ hi: Int) -> Int? {
            let schemeLength: Int
            if hasPrefix("https://", at: i, before: hi) {
                schemeLength = 8
            } else if hasPrefix("http://", at: i, before: hi) {
                schemeLength = 7
            } else {
                return nil
            }
            var end = i
            while end < hi, !s[end].properties.isWhitespace, s[end] != "<", s[end] != ">", s[end] != "\"" { end += 1 }
            while end > i + schemeLength {
                let last = s[end - 1]
                if ".,:;!?'*_".unicodeScalars.contains(last) {
                    end -= 1
                } else if last == ")" || last == "]" {
                    let open: Unicode.Scalar = last == ")" ? "(" : "["
                    let opens = s[i..<end].filter { $0 == open }.count
                    let closes = s[i..<end].filter { $0 == last }.count
                    guard closes > opens else { break }
                    end -= 1
                } else {
                    break
                }
            }
            return end > i + schemeLength ? end : nil
        }

        mutating func emphasis(_ i: Int, _ lo: Int, _ hi: Int) -> (MarkdownInline, Int)? {
            let c = s[i]
            var run = 0
            while i + run < hi, s[i + run] == c { run += 1 }
            guard i + run < hi, !s[i + run].properties.isWhitespace else { return nil }
            if c == "_", i > lo, s[i - 1].isWordScalar { return nil }

            func closes(_ k: Int, width: Int) -> Bool {
                guard !s[k - 1].properties.isWhitespace, s[k - 1] != "\\" else { return false }
                return c != "_" || k + width >= hi || !s[k + width].isWordScalar
            }
            if run >= 2 {
                var k = i + 3
                while k + 1 < hi {
                    if s[k] == c, s[k + 1] == c, closes(k, width: 2) {
                        return (.strong(parse(i + 2, k)), k + 2)
                    }
                    k += 1
                }
                return nil
            }
            var k = i + 2
            while k < hi {
                if s[k] == c {
                    if k + 1 < hi, s[k + 1] == c {
                        k += 2
                        continue
                    }
                    if closes(k, width: 1) { return (.emphasis(parse(i + 1, k)), k + 1) }
                }
                k += 1
            }
            return nil
        }
    }
}
