import OutreachCore
import Testing

@Suite("Template file format and lint")
struct TemplateLintTests {
    private let header: Set<ColumnKey> = [.email, .first, .last, .company, "job_title"]

    @Test func lintFindsATypoAndSuggestsTheColumn() throws {
        let template = try EmailTemplate(parsing: "Subject: Hi {frist}\n\nHello {First Name},\n\nHow is {compnay|your team}?\n{Job Titel}")
        let issues = template.lint(knownKeys: header)
        #expect(
            issues == [
                TemplateIssue(kind: .unknownPlaceholder(name: "frist", key: "frist", suggestion: .first, hasFallback: false), line: 1),
                TemplateIssue(kind: .unknownPlaceholder(name: "compnay", key: "compnay", suggestion: .company, hasFallback: true), line: 5),
                TemplateIssue(kind: .unknownPlaceholder(name: "Job Titel", key: "job_titel", suggestion: "job_title", hasFallback: false), line: 6),
            ])
        #expect(issues.map(\.severity) == [.error, .warning, .error])
        #expect(
            issues[0].description
                == "line 1: error: {frist} is not a column of this campaign — did you mean {first}?; every row would be held as needing data")
        #expect(template.lint(knownKeys: header.union(["frist", "compnay", "job_titel"])).isEmpty)
    }

    @Test func unknownPlaceholderWithoutCloseColumnGetsNoSuggestion() throws {
        let issues = try EmailTemplate(parsing: "Subject: x\n\n{favourite_color}").lint(knownKeys: header)
        #expect(issues == [TemplateIssue(kind: .unknownPlaceholder(name: "favourite_color", key: "favourite_color", suggestion: nil, hasFallback: false), line: 3)])
    }

    @Test func lintWarnsAboutMalformedBracesAndBadGaps() throws {
        let template = try EmailTemplate(parsing: "Subject: Hi [gap:1]\n\nHi {first,\n{}\n[gap:x] [gap:12] [gap:-1]\n[open](ftp://files.example)")
        let issues = template.lint(knownKeys: header)
        #expect(
            issues == [
                TemplateIssue(kind: .gapTagInSubject(tag: "[gap:1]"), line: 1),
                TemplateIssue(kind: .malformedBrace(excerpt: "{first,"), line: 3),
                TemplateIssue(kind: .malformedBrace(excerpt: "{}"), line: 4),
                TemplateIssue(kind: .badGapTag(tag: "[gap:x]"), line: 5),
                TemplateIssue(kind: .badGapTag(tag: "[gap:12]"), line: 5),
                TemplateIssue(kind: .badGapTag(tag: "[gap:-1]"), line: 5),
                TemplateIssue(kind: .unsupportedLink(url: "ftp://files.example"), line: 6),
            ])
        #expect(issues.contains { $0.severity == .error })
    }

    @Test func emptySubjectIsAWarning() throws {
        let issues = try EmailTemplate(parsing: "Subject:   \n\nBump, {first}").lint(knownKeys: header)
        #expect(issues == [TemplateIssue(kind: .emptySubject, line: 1)])
        #expect(issues[0].severity == .warning)
    }

    @Test func missingSubjectLineIsATypedErrorWithTheLine() {
        #expect(throws: TemplateError.missingSubject(line: 3, found: "Hi {first},")) {
            try EmailTemplate(parsing: "\n  \nHi {first},\n\nSubject: later")
        }
        #expect(throws: TemplateError.empty) { try EmailTemplate(parsing: "\u{FEFF}\r\n  \r\n") }
        let message = TemplateError.missingSubject(line: 1, found: "Hello").description
        #expect(message.hasPrefix("line 1: expected a \"Subject:\" line, found \"Hello\""))
        #expect(message.contains("one blank line, then the body"))
    }

    @Test func acceptsBOMCRLFAndLeadingBlankLines() throws {
        let template = try EmailTemplate(parsing: "\u{FEFF}\r\n\r\nsubject: Hi {first}\r\n\r\nLine one\r\nLine two {last}\r\n\r\n")
        #expect(template.placeholders.map(\.line) == [3, 6])
        let email = try #require(template.render(values: [.first: "Ana", .last: "Silva"]).email)
        #expect(email.subject == "Hi Ana")
        #expect(email.text == "Line one\nLine two Silva")
        #expect(template.lint(knownKeys: header).isEmpty)
    }

    @Test func missingBlankLineAfterSubjectIsReported() throws {
        let template = try EmailTemplate(parsing: "Subject: Hi\nBody right away")
        #expect(template.issues == [TemplateIssue(kind: .missingBlankLineAfterSubject, line: 2)])
        #expect(try #require(template.render(values: [:]).email).text == "Body right away")
    }
}
