/// Finds where each placeholder of compiled HTML lands — running text, an attribute, or a URL attribute (at its start
/// or further in) — and splits the HTML into segments escaped for that place.
///
/// The same scan serves Markdown output (well-formed by construction) and operator-written HTML bodies.
enum HTMLValuePlacement {
    private static let urlAttributes: Set<String> = [
        "href", "src", "action", "background", "cite", "poster", "formaction", "longdesc", "data", "xlink:href",
    ]
    private static let rawTextElements: Set<String> = ["script", "style", "textarea", "title", "xmp"]

    static func segments(of html: [Unicode.Scalar]) -> [TemplateSegment] {
        var scan = Scan(s: html)
        scan.run()
        return scan.builder.finish()
    }

    private struct Scan {
        let s: [Unicode.Scalar]
        var builder = TemplateSegment.Builder()
        var i = 0

        init(s: [Unicode.Scalar]) { self.s = s }

        mutating func run() {
            while i < s.count {
                let c = s[i]
                if c == "<", i + 1 < s.count {
                    let next = s[i + 1]
                    if matches("<!--", at: i) {
                        let end = find("-->", from: i + 4).map { $0 + 3 } ?? s.count
                        emitText(upTo: end)
                        continue
                    }
                    if next.isASCIILetterScalar || next == "/" || next == "!" || next == "?" {
                        let name = tag()
                        if rawTextElements.contains(name) {
                            emitText(upTo: findEndTag(name) ?? s.count)
                        }
                        continue
                    }
                }
                emitText(upTo: i + 1)
            }
        }

        /// Copies s[i..<end] as running text. A value marked as part of a URL (the text of a Markdown autolink) is
        /// shown as it is in the address.
        mutating func emitText(upTo end: Int) {
            while i < end {
                switch TemplateSentinel.slot(of: s[i])?.place {
                case .url: emit(s[i], context: .url)
                case .urlStart: emit(s[i], context: .htmlURLStart)
                case .text, nil: emit(s[i], context: .htmlText)
                }
                i += 1
            }
        }

        mutating func emit(_ scalar: Unicode.Scalar, context: ValueContext) {
            if let (slot, _) = TemplateSentinel.slot(of: scalar) {
                builder.appendValue(slot: slot, context: context)
            } else if TemplateSentinel.gapLines(of: scalar) == nil {
                builder.append(scalar)
            }
        }

        /// Emits one tag starting at `<`, returns its lower-cased name (empty for end tags and declarations).
        mutating func tag() -> String {
            emit(s[i], context: .htmlText)
            i += 1
            var isEnd = false
            if i < s.count, s[i] == "/" || s[i] == "!" || s[i] == "?" {
                isEnd = true
                emit(s[i], context: .htmlAttribute)
                i += 1
            }
            var name = ""
            while i < s.count, !s[i].isHTMLSpace, s[i] != ">", s[i] != "/" {
                if !TemplateSentinel.isPlaceholder(s[i]) { name.unicodeScalars.append(s[i].asciiLowercased) }
                emit(s[i], context: .htmlAttribute)
                i += 1
            }
            while i < s.count {
                let c = s[i]
                if c == ">" {
                    emit(c, context: .htmlText)
                    i += 1
                    break
                }
                if c.isHTMLSpace || c == "/" {
                    emit(c, context: .htmlText)
                    i += 1
                    continue
                }
                var attribute = ""
                while i < s.count, !s[i].isHTMLSpace, s[i] != "=", s[i] != ">", s[i] != "/" {
                    if !TemplateSentinel.isPlaceholder(s[i]) { attribute.unicodeScalars.append(s[i].asciiLowercased) }
                    emit(s[i], context: .htmlAttribute)
                    i += 1
                }
                skipSpace()
                guard i < s.count, s[i] == "=" else { continue }
                emit(s[i], context: .htmlText)
                i += 1
                skipSpace()
                let isURL = urlAttributes.contains(attribute)
                var atStart = true
                if i < s.count, s[i] == "\"" || s[i] == "'" {
                    let quote = s[i]
                    emit(quote, context: .htmlText)
                    i += 1
                    while i < s.count, s[i] != quote {
                        emitValue(s[i], isURL: isURL, atStart: atStart)
                        atStart = false
                        i += 1
                    }
                    if i < s.count {
                        emit(quote, context: .htmlText)
                        i += 1
                    }
                } else {
                    while i < s.count, !s[i].isHTMLSpace, s[i] != ">" {
                        emitValue(s[i], isURL: isURL, atStart: atStart)
                        atStart = false
                        i += 1
                    }
                }
            }
            return isEnd ? "" : name
        }

        mutating func emitValue(_ scalar: Unicode.Scalar, isURL: Bool, atStart: Bool) {
            emit(scalar, context: isURL ? (atStart ? .htmlURLStart : .url) : .htmlAttribute)
        }

        mutating func skipSpace() {
            while i < s.count, s[i].isHTMLSpace {
                emit(s[i], context: .htmlText)
                i += 1
            }
        }

        func matches(_ text: String, at index: Int) -> Bool {
            var k = index
            for scalar in text.unicodeScalars {
                guard k < s.count, s[k].asciiLowercased == scalar else { return false }
                k += 1
            }
            return true
        }

        func find(_ text: String, from start: Int) -> Int? {
            var k = start
            while k < s.count {
                if matches(text, at: k) { return k }
                k += 1
            }
            return nil
        }

        func findEndTag(_ name: String) -> Int? {
            var k = i
            while let found = find("</" + name, from: k) {
                let after = found + 2 + name.unicodeScalars.count
                if after >= s.count || !s[after].isASCIILetterScalar { return found }
                k = found + 1
            }
            return nil
        }
    }
}
