/// The delimiter a CSV file uses. Excel writes commas in English locales and semicolons wherever the comma is the
/// decimal separator (most of continental Europe); its "Unicode text" uses tabs; some tools use `|`.
public enum CSVDialect {
    /// The delimiters ``detect(sample:isComplete:)`` chooses among, in order of preference on a tie.
    public static let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")]
    /// How many non-blank lines from the start are looked at.
    public static let linesExamined = 20

    /// Chooses the delimiter from the first lines of a file (UTF-8 or another ASCII-compatible encoding).
    ///
    /// For each candidate, counts its occurrences outside quotes on each line; its score is the number of lines that
    /// share its most common non-zero count. The highest score wins, and a tie (including a file with a single
    /// column) goes to the earlier candidate, so a comma unless the file says otherwise. A header `email;name` with
    /// a row `a@x.com;Smith, John` gives `;` one per line on every line, and `,` only on some.
    ///
    /// - Parameter isComplete: whether the sample is the whole file; if not, its last, possibly cut, line is ignored
    ///   (unless it is the only one).
    public static func detect(sample: UnsafeRawBufferPointer, isComplete: Bool = true) -> UInt8 {
        var lines: [[Int]] = []  // per line, a count per candidate
        var counts = [Int](repeating: 0, count: candidates.count)
        var inQuotes = false
        var lineHasContent = false
        var index = 0
        let quote = UInt8(ascii: "\"")
        while index < sample.count, lines.count < linesExamined {
            let byte = sample[index]
            index += 1
            if byte == quote {
                inQuotes.toggle()
                lineHasContent = true
            } else if !inQuotes, byte == 0x0A || byte == 0x0D {
                if lineHasContent { lines.append(counts) }
                counts = [Int](repeating: 0, count: candidates.count)
                lineHasContent = false
            } else {
                lineHasContent = true
                if !inQuotes, let candidate = candidates.firstIndex(of: byte) { counts[candidate] += 1 }
            }
        }
        if lineHasContent, lines.count < linesExamined, isComplete || lines.isEmpty { lines.append(counts) }

        var best = candidates[0]
        var bestScore = 0
        for (candidate, delimiter) in candidates.enumerated() {
            var linesPerCount: [Int: Int] = [:]
            for line in lines where line[candidate] > 0 { linesPerCount[line[candidate], default: 0] += 1 }
            let score = linesPerCount.values.max() ?? 0
            if score > bestScore {
                best = delimiter
                bestScore = score
            }
        }
        return best
    }

    public static func detect(sample: [UInt8], isComplete: Bool = true) -> UInt8 {
        sample.withUnsafeBytes { detect(sample: $0, isComplete: isComplete) }
    }
}
