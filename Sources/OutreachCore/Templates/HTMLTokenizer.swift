/// Splits HTML into text runs (character references decoded) and tags, skipping comments and declarations and keeping
/// the content of `<script>`, `<style>` and the like as one undecoded text run. Lenient, like a browser: stray `<`
/// is text, attributes may be unquoted, names are case-insensitive.
enum HTMLTokenizer {
    enum Token {
        case text([Unicode.Scalar])
        case startTag(name: String, attributes: [String: [Unicode.Scalar]], selfClosing: Bool)
        case endTag(name: String)
    }

    static let rawTextElements: Set<String> = ["script", "style", "title", "textarea", "xmp"]

    static func tokens(_ s: [Unicode.Scalar]) -> [Token] {
        var tokens: [Token] = []
        var textStart = 0
        var i = 0
        func flushText(upTo end: Int) {
            if textStart < end { tokens.append(.text(HTMLEntities.decode(s[textStart..<end]))) }
        }
        while i < s.count {
            guard s[i] == "<", i + 1 < s.count else {
                i += 1
                continue
            }
            let next = s[i + 1]
            if next == "!" || next == "?" {
                flushText(upTo: i)
                if hasPrefix("<!--", in: s, at: i) {
                    i = find("-->", in: s, from: i + 4).map { $0 + 3 } ?? s.count
                } else {
                    i = (s[i...].firstIndex(of: ">") ?? s.count - 1) + 1
                }
                textStart = i
                continue
            }
            let isEnd = next == "/"
            let nameStart = isEnd ? i + 2 : i + 1
            guard nameStart < s.count, s[nameStart].isASCIILetterScalar else {
                i += 1
                continue
            }
            flushText(upTo: i)
            var k = nameStart
            var name = ""
            while k < s.count, !s[k].isHTMLSpace, s[k] != ">", s[k] != "/" {
                name.unicodeScalars.append(s[k].asciiLowercased)
                k += 1
            }
            var attributes: [String: [Unicode.Scalar]] = [:]
            var selfClosing = false
            while k < s.count, s[k] != ">" {
                if s[k].isHTMLSpace || s[k] == "/" {
                    selfClosing = s[k] == "/"
                    k += 1
                    continue
                }
                selfClosing = false
                var attribute = ""
                while k < s.count, !s[k].isHTMLSpace, s[k] != "=", s[k] != ">", s[k] != "/" {
                    attribute.unicodeScalars.append(s[k].asciiLowercased)
                    k += 1
                }
                while k < s.count, s[k].isHTMLSpace { k += 1 }
                var value: ArraySlice<Unicode.Scalar> = []
                if k < s.count, s[k] == "=" {
                    k += 1
                    while k < s.count, s[k].isHTMLSpace { k += 1 }
                    if k < s.count, s[k] == "\"" || s[k] == "'" {
                        let quote = s[k]
                        let end = s[(k + 1)...].firstIndex(of: quote) ?? s.count
                        value = s[(k + 1)..<end]
                        k = min(end + 1, s.count)
                    } else {
                        let start = k
                        while k < s.count, !s[k].isHTMLSpace, s[k] != ">" { k += 1 }
                        value = s[start..<k]
                    }
                }
                if attributes[attribute] == nil { attributes[attribute] = HTMLEntities.decode(value) }
            }
            i = min(k + 1, s.count)
            textStart = i
            if isEnd {
                tokens.append(.endTag(name: name))
                continue
            }
            tokens.append(.startTag(name: name, attributes: attributes, selfClosing: selfClosing))
            if rawTextElements.contains(name) {
                let end = findEndTag(name, in: s, from: i) ?? s.count
                if i < end { tokens.append(.text(Array(s[i..<end]))) }
                i = end
                textStart = end
            }
        }
        flushText(upTo: s.count)
        return tokens
    }

    private static func hasPrefix(_ prefix: String, in s: [Unicode.Scalar], at index: Int) -> Bool {
        var k = index
        for scalar in prefix.unicodeScalars {
            guard k < s.count, s[k].asciiLowercased == scalar else { return false }
            k += 1
        }
        return true
    }

    /// Where `</name` starts (not `</names`), or nil when the element is never closed.
    static func findEndTag(_ name: String, in s: [Unicode.Scalar], from start: Int) -> Int? {
        var from = start
        while let found = find("</" + name, in: s, from: from) {
            let after = found + 2 + name.unicodeScalars.count
            if after >= s.count || !s[after].isASCIILetterScalar { return found }
            from = found + 1
        }
        return nil
    }

    private static func find(_ text: String, in s: [Unicode.Scalar], from start: Int) -> Int? {
        var k = start
        while k < s.count {
            if hasPrefix(text, in: s, at: k) { return k }
            k += 1
        }
        return nil
    }
}
