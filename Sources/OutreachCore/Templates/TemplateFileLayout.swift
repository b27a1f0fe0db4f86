/// Where the subject and the body of a template file are, and on which lines: the file is a `Subject:` line, one
/// blank line, then the body. A UTF-8 BOM, CRLF or CR line ends and blank lines before the subject are accepted.
struct TemplateFileLayout {
    var subject: [Unicode.Scalar] = []
    var subjectLine = 1
    var body: [Unicode.Scalar] = []
    var bodyFirstLine = 1
    var issues: [TemplateIssue] = []

    init(_ source: String) throws(TemplateError) {
        var lines: [[Unicode.Scalar]] = [[]]
        var previousWasCR = false
        for (index, scalar) in source.unicodeScalars.enumerated() {
            if index == 0, scalar == "\u{FEFF}" { continue }
            defer { previousWasCR = scalar == "\r" }
            if scalar == "\n", previousWasCR { continue }
            if scalar == "\n" || scalar == "\r" {
                lines.append([])
            } else {
                lines[lines.count - 1].append(scalar)
            }
        }
        guard let first = lines.firstIndex(where: { !Self.isBlank($0) }) else { throw .empty }
        subjectLine = first + 1
        let header = Array(lines[first].drop(while: { $0 == " " || $0 == "\t" }))
        let label = "subject:".unicodeScalars
        guard header.count >= label.count, zip(header, label).allSatisfy({ $0.asciiLowercased == $1 }) else {
            throw .missingSubject(line: subjectLine, found: String(String.UnicodeScalarView(lines[first])))
        }
        subject = Self.trimmed(header.dropFirst(label.count))
        if subject.isEmpty { issues.append(TemplateIssue(kind: .emptySubject, line: subjectLine)) }
        var controls: [UInt32] = []
        var subjectBytes = 0
        for scalar in subject {
            subjectBytes += UTF8.width(scalar)
            if scalar != "\t", scalar.properties.generalCategory == .control, !controls.contains(scalar.value) { controls.append(scalar.value) }
        }
        for control in controls { issues.append(TemplateIssue(kind: .controlCharacterInSubject(scalar: control), line: subjectLine)) }
        if subjectBytes > EmailTemplate.subjectLimit {
            issues.append(TemplateIssue(kind: .subjectTooLong(bytes: subjectBytes, limit: EmailTemplate.subjectLimit), line: subjectLine))
        }

        var start = first + 1
        if start < lines.count, Self.isBlank(lines[start]) {
            start += 1
        } else if start < lines.count {
            issues.append(TemplateIssue(kind: .missingBlankLineAfterSubject, line: start + 1))
        }
        bodyFirstLine = start + 1
        var end = lines.count
        while end > start, Self.isBlank(lines[end - 1]) { end -= 1 }
        for index in start..<max(start, end) {
            if index > start { body.append("\n") }
            body.append(contentsOf: lines[index])
        }
    }

    static func isBlank(_ line: some Collection<Unicode.Scalar>) -> Bool {
        line.allSatisfy { $0.properties.isWhitespace }
    }

    static func trimmed(_ scalars: some BidirectionalCollection<Unicode.Scalar>) -> [Unicode.Scalar] {
        Array(scalars.drop(while: { $0.properties.isWhitespace }).reversed().drop(while: { $0.properties.isWhitespace }).reversed())
    }
}
