extension Unicode.Scalar {
    /// HTML's ASCII white space (space, tab, LF, CR, FF); NBSP is text, not white space.
    var isHTMLSpace: Bool { self == " " || self == "\t" || self == "\n" || self == "\r" || self == "\u{0C}" }

    var isASCIILetterScalar: Bool { (self >= "a" && self <= "z") || (self >= "A" && self <= "Z") }

    var asciiLowercased: Unicode.Scalar { self >= "A" && self <= "Z" ? Unicode.Scalar(value + 32)! : self }

    /// Letters and digits of any script: what makes `_` intraword and ends a bare URL's left boundary.
    var isWordScalar: Bool { properties.isAlphabetic || properties.numericType != nil }
}
