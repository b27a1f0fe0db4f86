/// Private-use scalars that stand in for placeholders and `[gap:N]` tags while a template's Markdown or HTML is compiled.
///
/// Merge values are inserted only after compilation, so neither the Markdown parser nor the HTML-to-text converter can
/// ever read a value as markup; each value is escaped for the place its sentinel ended up in. Scalars from these ranges
/// found in a template's own text are replaced with U+FFFD before compilation, so they cannot be forged.
enum TemplateSentinel {
    /// One range per place a value can land in the plain-text part; the HTML part finds the place from the markup.
    enum Place { case text, url, urlStart }

    static let slotLimit = 0x4000
    private static let textBase: UInt32 = 0xF0000
    private static let urlBase: UInt32 = 0xF4000
    private static let urlStartBase: UInt32 = 0xF8000
    private static let gapBase: UInt32 = 0x100000

    static func placeholder(_ slot: Int, in place: Place = .text) -> Unicode.Scalar {
        let base: UInt32
        switch place {
        case .text: base = textBase
        case .url: base = urlBase
        case .urlStart: base = urlStartBase
        }
        return Unicode.Scalar(base + UInt32(slot))!
    }

    static func slot(of scalar: Unicode.Scalar) -> (slot: Int, place: Place)? {
        let value = scalar.value
        guard value >= textBase, value < urlStartBase + UInt32(slotLimit) else { return nil }
        if value < urlBase { return (Int(value - textBase), .text) }
        if value < urlStartBase { return (Int(value - urlBase), .url) }
        return (Int(value - urlStartBase), .urlStart)
    }

    static func gap(_ lines: Int) -> Unicode.Scalar { Unicode.Scalar(gapBase + UInt32(lines))! }

    static func gapLines(of scalar: Unicode.Scalar) -> Int? {
        let value = scalar.value
        guard value >= gapBase, value <= gapBase + UInt32(GapTag.allowedLines.upperBound) else { return nil }
        return Int(value - gapBase)
    }

    static func isPlaceholder(_ scalar: Unicode.Scalar) -> Bool { slot(of: scalar) != nil }

    /// True for every scalar of the private-use planes these sentinels are taken from.
    static func isReserved(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0xF0000 }

    /// A URL as it should appear in a link target: a value that begins the URL may have to supply its scheme
    /// (and is checked for it), a value further on is percent-encoded.
    static func markingURL(_ url: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var marked = url
        for index in marked.indices {
            if let (slot, _) = slot(of: marked[index]) {
                marked[index] = placeholder(slot, in: index == 0 ? .urlStart : .url)
            }
        }
        return marked
    }
}
