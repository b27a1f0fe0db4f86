/// Finds `{name}`, `{name|fallback}`, `{{`, `}}` and `[gap:N]` in a template's subject or body and replaces each
/// placeholder and gap with a ``TemplateSentinel``, collecting the placeholders, their value slots and the problems.
///
/// Placeholders with the same column and fallback share one slot, so a row resolves each value once.
struct PlaceholderScanner {
    enum Mode { case subject, markdownBody, htmlBody }

    struct Slot: Hashable {
        let key: ColumnKey
        let fallback: String?
    }

    private(set) var slots: [Slot] = []
    private var slotIndex: [Slot: Int] = [:]
    private(set) var placeholders: [TemplatePlaceholder] = []
    var issues: [TemplateIssue] = []

    private static let nameLimit = 100
    private static let fallbackLimit = 500

    mutating func scan(_ source: [Unicode.Scalar], firstLine: Int, mode: Mode) throws(TemplateError) -> [Unicode.Scalar] {
        // Sentinels are forged by nobody: the template's own private-use scalars of those planes become U+FFFD.
        let text = source.contains(where: TemplateSentinel.isReserved)
            ? source.map { TemplateSentinel.isReserved($0) ? "\u{FFFD}" : $0 } : source
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var line = firstLine
        // CSS and scripts are full of braces; placeholders are not looked for there.
        var verbatim = mode == .htmlBody ? Self.rawTextRanges(text)[...] : []
        var i = 0
        while i < text.count {
            while let range = verbatim.first, range.upperBound <= i { verbatim = verbatim.dropFirst() }
            if let range = verbatim.first, range.lowerBound <= i {
                for scalar in text[i..<range.upperBound] {
                    if scalar == "\n" { line += 1 }
                    out.append(scalar)
                }
                i = range.upperBound
                verbatim = verbatim.dropFirst()
                continue
            }
            let c = text[i]
            let next: Unicode.Scalar? = i + 1 < text.count ? text[i + 1] : nil
            switch c {
            case "\n":
                line += 1
                out.append(c)
            case "\\" where mode == .markdownBody && (next == "{" || next == "}" || next == "["):
                // Markdown's backslash escape: left for the inline parser, which prints the character itself.
                out.append(c)
                out.append(next!)
                i += 2
                continue
            case "{" where next == "{", "}" where next == "}":
                out.append(c)
                i += 2
                continue
            case "{":
                if let found = Self.placeholder(in: text, at: i) {
                    let slot = Slot(key: found.key, fallback: found.fallback)
                    let index: Int
                    if let existing = slotIndex[slot] {
                        index = existing
                    } else {
                        guard slots.count < TemplateSentinel.slotLimit else {
                            throw .tooManyPlaceholders(limit: TemplateSentinel.slotLimit)
                        }
                        index = slots.count
                        slots.append(slot)
                        slotIndex[slot] = index
                    }
                    placeholders.append(
                        TemplatePlaceholder(
                            name: found.name, key: found.key, fallback: found.fallback, line: line, inSubject: mode == .subject))
                    out.append(TemplateSentinel.placeholder(index))
                    i = found.end
                    continue
                }
                issues.append(TemplateIssue(kind: .malformedBrace(excerpt: Self.excerpt(text, from: i)), line: line))
                out.append(c)
            case "[":
                if let gap = Self.gapTag(in: text, at: i) {
                    let written = String(String.UnicodeScalarView(text[i..<gap.end]))
                    if mode != .subject, let lines = gap.lines {
                        out.append(TemplateSentinel.gap(lines))
                        i = gap.end
                        continue
                    }
                    issues.append(
                        TemplateIssue(kind: mode == .subject ? .gapTagInSubject(tag: written) : .badGapTag(tag: written), line: line))
                    // Kept as written; only "[gap" is copied here so that a placeholder inside is still filled.
                    out.append(contentsOf: text[i..<(i + 4)])
                    i += 4
                    continue
                }
                out.append(c)
            default:
                out.append(c)
            }
            i += 1
        }
        return out
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "_", "-", ".", "'", "/", "&", "#", "(", ")", "+", ",": return true
        default: return scalar.isWordScalar
        }
    }

    private static func placeholder(in text: [Unicode.Scalar], at start: Int)
        -> (name: String, key: ColumnKey, fallback: String?, end: Int)?
    {
        var j = start + 1
        while j < text.count, j - start <= nameLimit, isNameScalar(text[j]) { j += 1 }
        guard j < text.count, text[j] == "}" || text[j] == "|" else { return nil }
        let name = String(String.UnicodeScalarView(TemplateFileLayout.trimmed(text[(start + 1)..<j])))
        guard !name.isEmpty else { return nil }
        let key = ColumnKey(normalizing: name)
        guard !key.rawValue.isEmpty else { return nil }
        var fallback: String?
        if text[j] == "|" {
            var k = j + 1
            while k < text.count, k - j <= fallbackLimit, text[k] != "}", text[k] != "{", text[k] != "\n" { k += 1 }
            guard k < text.count, text[k] == "}" else { return nil }
            fallback = String(String.UnicodeScalarView(TemplateFileLayout.trimmed(text[(j + 1)..<k])))
            j = k
        }
        return (name, key, fallback, j + 1)
    }

    /// `[gap]`, `[gap:N]`, and anything else that starts like a gap tag (`[gap:x]`, `[gap 2]`), with `lines == nil`
    /// when it is not a valid one. `[gaps]` and other words are plain text.
    private static func gapTag(in text: [Unicode.Scalar], at start: Int) -> (lines: Int?, end: Int)? {
        let word: [Unicode.Scalar] = ["g", "a", "p"]
        guard start + 4 <= text.count, zip(text[(start + 1)...], word).allSatisfy({ $0.asciiLowercased == $1 }) else {
            return nil
        }
        let j = start + 4
        if j < text.count, text[j].isASCIILetterScalar || text[j] == "_" { return nil }
        var k = j
        while k < text.count, text[k] != "]", text[k] != "\n", text[k] != "[", k - start < 24 { k += 1 }
        guard k < text.count, text[k] == "]" else {
            return j < text.count && text[j] == ":" ? (nil, k) : nil
        }
        let inner = TemplateFileLayout.trimmed(text[j..<k])
        if inner.isEmpty { return (1, k + 1) }
        guard inner.first == ":" else { return (nil, k + 1) }
        let digits = String(String.UnicodeScalarView(TemplateFileLayout.trimmed(inner.dropFirst())))
        guard digits.unicodeScalars.allSatisfy({ $0 >= "0" && $0 <= "9" }), let lines = Int(digits),
            GapTag.allowedLines.contains(lines)
        else { return (nil, k + 1) }
        return (lines, k + 1)
    }

    private static func excerpt(_ text: [Unicode.Scalar], from start: Int) -> String {
        var end = start
        while end < text.count, end - start < 20, text[end] != "\n" { end += 1 }
        return String(String.UnicodeScalarView(text[start..<end])) + (end < text.count && text[end] != "\n" ? "…" : "")
    }

    /// `<style>…</style>` and `<script>…</script>` elements of an HTML body.
    private static func rawTextRanges(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var i = 0
        while i < text.count {
            guard text[i] == "<", let name = ["style", "script"].first(where: { startsTag($0, in: text, at: i + 1) }) else {
                i += 1
                continue
            }
            var k = i + 1
            var end = text.count
            while k < text.count {
                if text[k] == "<", k + 1 < text.count, text[k + 1] == "/", startsTag(name, in: text, at: k + 2) {
                    end = k
                    break
                }
                k += 1
            }
            ranges.append(i..<end)
            i = max(end, i + 1)
        }
        return ranges
    }

    private static func startsTag(_ name: String, in text: [Unicode.Scalar], at start: Int) -> Bool {
        var k = start
        for scalar in name.unicodeScalars {
            guard k < text.count, text[k].asciiLowercased == scalar else { return false }
            k += 1
        }
        return k >= text.count || text[k].isHTMLSpace || text[k] == ">" || text[k] == "/"
    }
}
