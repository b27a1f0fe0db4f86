extension String {
    /// Whether the UTF-8 bytes of `phrase` occur in this string's. Byte-wise on purpose: the classifier's phrase
    /// lists are lowercase and compared with lowercased text, and Foundation's `contains`, which the Core module
    /// otherwise picks up, goes through NSString and costs more than the rest of a header classification.
    public func containsPhrase(_ phrase: String) -> Bool {
        var haystack = self
        var needle = phrase
        return haystack.withUTF8 { text in
            needle.withUTF8 { pattern in
                guard let first = pattern.first else { return true }
                guard pattern.count <= text.count else { return false }
                var i = 0
                let last = text.count - pattern.count
                while i <= last {
                    if text[i] == first {
                        var j = 1
                        while j < pattern.count && text[i + j] == pattern[j] { j += 1 }
                        if j == pattern.count { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }

    public func containsAnyPhrase(_ phrases: [String]) -> Bool { phrases.contains { containsPhrase($0) } }
}
