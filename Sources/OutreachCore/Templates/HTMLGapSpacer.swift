/// Replaces the gap sentinels of an HTML body with markup that shows N empty lines (see ``GapTag``):
/// a `<p>` or `<div>` holding only the tag is replaced whole by N `<div><br></div>`; a tag between elements becomes
/// N `<div><br></div>`; a tag inside a line of text becomes the `<br>`s that end the line and leave N empty ones.
enum HTMLGapSpacer {
    private static let inlineWrappers: Set<String> = ["span", "b", "strong", "i", "em", "u", "font", "small", "big"]

    static func apply(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        var mirroredFrom = 0  // out ends with s[mirroredFrom..<i], unchanged
        while i < s.count {
            guard TemplateSentinel.gapLines(of: s[i]) != nil else {
                out.append(s[i])
                i += 1
                continue
            }
            // A cluster of tags, white space between them allowed: their counts add up.
            var lines = 0
            var end = i
            while end < s.count {
                if let count = TemplateSentinel.gapLines(of: s[end]) {
                    lines += count
                } else if !s[end].isHTMLSpace {
                    break
                }
                end += 1
            }
            if let (wrapperStart, wrapperEnd) = wrapper(around: i..<end, in: s), wrapperStart >= mirroredFrom {
                out.removeSubrange((out.count - (i - wrapperStart))...)
                out.append(contentsOf: emptyLines(lines))
                i = wrapperEnd
                mirroredFrom = i
                continue
            }
            let before = s[..<i].lastIndex(where: { !$0.isHTMLSpace })
            let after = s[end...].firstIndex(where: { !$0.isHTMLSpace })
            let previousTag = before.flatMap { s[$0] == ">" ? tagName(endingAt: $0, in: s) : nil }
            let betweenElements = (before == nil || previousTag != nil) && (after == nil || s[after!] == "<")
            if betweenElements, previousTag?.name != "br", !inlineWrappers.contains(previousTag?.name ?? "") {
                out.append(contentsOf: emptyLines(lines))
            } else {
                let breaks = previousTag?.name == "br" ? lines : lines + 1
                for _ in 0..<breaks { out.append(contentsOf: "<br>".unicodeScalars) }
            }
            i = end
            mirroredFrom = i
        }
        return out
    }

    private static func emptyLines(_ count: Int) -> [Unicode.Scalar] {
        Array(String(repeating: MarkdownRenderer.emptyLine, count: count).unicodeScalars)
    }

    /// The `<p …>` or `<div …>` element that holds nothing but the gap tags (inline wrappers, spaces and `&nbsp;`
    /// allowed), as the range of scalars to replace.
    private static func wrapper(around gap: Range<Int>, in s: [Unicode.Scalar]) -> (Int, Int)? {
        var start = gap.lowerBound
        var open: String?
        while start > 0 {
            if s[start - 1].isHTMLSpace {
                start -= 1
            } else if start >= 6, String(String.UnicodeScalarView(s[(start - 6)..<start])).lowercased() == "&nbsp;" {
                start -= 6
            } else if s[start - 1] == ">", let tag = tagName(endingAt: start - 1, in: s), !tag.closing {
                start = tag.start
                if inlineWrappers.contains(tag.name) { continue }
                if tag.name == "p" || tag.name == "div" { open = tag.name }
                break
            } else {
                break
            }
        }
        guard let open else { return nil }
        var end = gap.upperBound
        while end < s.count {
            if s[end].isHTMLSpace {
                end += 1
            } else if end + 6 <= s.count, String(String.UnicodeScalarView(s[end..<(end + 6)])).lowercased() == "&nbsp;" {
                end += 6
            } else if s[end] == "<", let tag = tagName(startingAt: end, in: s) {
                if tag.closing, tag.name == open { return (start, tag.end) }
                guard inlineWrappers.contains(tag.name) || tag.name == "br" else { return nil }
                end = tag.end
            } else {
                return nil
            }
        }
        return nil
    }

    private static func tagName(endingAt close: Int, in s: [Unicode.Scalar]) -> (name: String, closing: Bool, start: Int)? {
        guard let open = s[..<close].lastIndex(of: "<"), let tag = tagName(startingAt: open, in: s), tag.end == close + 1
        else { return nil }
        return (tag.name, tag.closing, open)
    }

    private static func tagName(startingAt open: Int, in s: [Unicode.Scalar]) -> (name: String, closing: Bool, end: Int)? {
        var k = open + 1
        let closing = k < s.count && s[k] == "/"
        if closing { k += 1 }
        var name = ""
        while k < s.count, s[k].isASCIILetterScalar || (s[k] >= "0" && s[k] <= "9") {
            name.unicodeScalars.append(s[k].asciiLowercased)
            k += 1
        }
        guard !name.isEmpty, let close = s[k...].firstIndex(of: ">") else { return nil }
        return (name, closing, close + 1)
    }
}
