import OutreachCore
import Testing

@Suite("Template rendering")
struct TemplateRenderingTests {
    private func rendered(_ source: String, _ values: [ColumnKey: String]) throws -> RenderedEmail {
        let outcome = try EmailTemplate(parsing: source).render(values: values)
        return try #require(outcome.email, "expected a rendered email, got \(outcome)")
    }

    /// The CSV header normalization applies to placeholders too.
    private func row(_ headerAndValues: KeyValuePairs<String, String>) -> [ColumnKey: String] {
        var values: [ColumnKey: String] = [:]
        for (header, value) in headerAndValues { values[ColumnKey(normalizing: header)] = value }
        return values
    }

    @Test func personalizesSubjectAndBodyWithCSVStyleNames() throws {
        let email = try rendered(
            """
            Subject: {First Name}, a question about {Company Name}

            Hi {firstName},

            How is the {Job Title} search at {company} going? {first_name}, {first}.
            """,
            row(["First Name": "Ana", "Organization": "Acme", "Job Title": "CTO"]))
        #expect(email.subject == "Ana, a question about Acme")
        #expect(email.text == "Hi Ana,\n\nHow is the CTO search at Acme going? Ana, Ana.")
        #expect(email.html == "<div>Hi Ana,</div>\n<div><br></div>\n<div>How is the CTO search at Acme going? Ana, Ana.</div>")
    }

    @Test func missingFirstNameWithoutFallbackHoldsTheRow() throws {
        let template = try EmailTemplate(parsing: "Subject: Hello {first}\n\nHi {first}, about {company}…")
        #expect(template.render(values: [.company: "Acme"]) == .needsData(missing: [.first]))
        #expect(template.render(values: [.first: "", .company: "Acme"]) == .needsData(missing: [.first]))
        #expect(template.render(values: [.first: "  \t ", .company: "Acme"]) == .needsData(missing: [.first]))
        #expect(template.render(values: [:]) == .needsData(missing: [.first, .company]))
        #expect(template.requiredKeys == [.first, .company])
        #expect(template.missingKeys(values: [.first: " ", .company: "Acme"]) == [.first])
    }

    @Test func fallbackFillsAMissingValue() throws {
        let source = "Subject: Quick question{first|}\n\nHi {first|there},\nThanks {first | my friend}!"
        let email = try rendered(source, [:])
        #expect(email.subject == "Quick question")
        #expect(email.text == "Hi there,\nThanks my friend!")
        #expect(try EmailTemplate(parsing: source).requiredKeys.isEmpty)
        let named = try rendered(source, [.first: " Ana "])
        #expect(named.subject == "Quick questionAna")
        #expect(named.text == "Hi Ana,\nThanks Ana!")
    }

    @Test func neverLeavesARawPlaceholderOrABlank() throws {
        let template = try EmailTemplate(parsing: "Subject: Hi {first}\n\nHi {first}, see {company}.")
        for values: [ColumnKey: String] in [[:], [.first: "Ana"], [.company: "Acme"], [.first: "Ana", .company: " "]] {
            switch template.render(values: values) {
            case .rendered(let email):
                Issue.record("rendered with missing data: \(email)")
            case .needsData(let missing):
                #expect(!missing.isEmpty)
            case .unsafeHeader:
                Issue.record("unexpected unsafe header")
            }
        }
    }

    @Test func scriptInAValueIsEscapedInHTMLAndVerbatimInText() throws {
        let email = try rendered(
            "Subject: Hi {first}\n\nHi {first}, welcome from {company}.",
            [.first: "<script>alert('x')</script>", .company: "AT&T \"Labs\""])
        #expect(email.html == "<div>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;, welcome from AT&amp;T &quot;Labs&quot;.</div>")
        #expect(email.text == "Hi <script>alert('x')</script>, welcome from AT&T \"Labs\".")
        #expect(email.subject == "Hi <script>alert('x')</script>")
    }

    @Test func headerInjectionThroughTheSubjectIsRefused() throws {
        let template = try EmailTemplate(parsing: "Subject: Hello {first}\n\nHi {first}")
        #expect(template.render(values: [.first: "Ana\r\nBcc: x@y"]) == .unsafeHeader(field: "Subject", key: .first))
        #expect(template.render(values: [.first: "Ana\nBcc: x@y"]) == .unsafeHeader(field: "Subject", key: .first))
        #expect(template.render(values: [.first: "Ana\0"]) == .unsafeHeader(field: "Subject", key: .first))
        #expect(template.render(values: [.first: "Ana\u{2028}Bcc: x@y"]) == .unsafeHeader(field: "Subject", key: .first))
        // The same value is fine where it cannot reach a header: the body shows the line break.
        let body = try EmailTemplate(parsing: "Subject: Hello\n\nHi {first}")
        let email = try #require(body.render(values: [.first: "Ana\r\nBcc: x@y"]).email)
        #expect(email.subject == "Hello")
        #expect(email.html == "<div>Hi Ana<br>Bcc: x@y</div>")
    }

    @Test func emptySubjectIsLeftToTheCaller() throws {
        let email = try rendered("Subject:\n\nJust bumping this up, {first}.", [.first: "Ana"])
        #expect(email.subject == nil)
        #expect(email.text == "Just bumping this up, Ana.")
    }

    @Test func valuesInLinksAreEncodedForTheAddress() throws {
        let email = try rendered(
            "Subject: x\n\n[Book a call](https://cal.example/{first}?co={company}) or [our site]({website}).",
            [.first: "Ana María", .company: "AT&T \"x\"", "website": "acme.example/pricing"])
        #expect(
            email.html
                == "<div><a href=\"https://cal.example/Ana%20Mar%C3%ADa?co=AT%26T%20%22x%22\">Book a call</a> or <a href=\"https://acme.example/pricing\">our site</a>.</div>"
        )
        #expect(
            email.text
                == "Book a call (https://cal.example/Ana%20Mar%C3%ADa?co=AT%26T%20%22x%22) or our site (https://acme.example/pricing)."
        )
    }

    @Test func aValueCannotTurnALinkIntoScript() throws {
        let markdown = try rendered("Subject: x\n\n[site]({website})", ["website": "javascript:alert(1)"])
        #expect(markdown.html == "<div><a href=\"#\">site</a></div>")
        let html = try rendered(
            "Subject: x\n\n<p><a href=\"{website}\" title={first}>site</a></p>", ["website": "JavaScript:alert(1)", .first: "a onclick=x"])
        #expect(html.html == "<p><a href=\"#\" title=a&#32;onclick&#61;x>site</a></p>")
    }

    @Test func htmlBodiesEscapeValuesButKeepTheOperatorsMarkup() throws {
        let email = try rendered(
            "Subject: Hi\n\n<p style=\"color:#333\">Hi <b>{first}</b> &amp; team,</p>\n<p>Bye</p>",
            [.first: "<i>Ana</i>"])
        #expect(email.html == "<p style=\"color:#333\">Hi <b>&lt;i&gt;Ana&lt;/i&gt;</b> &amp; team,</p>\n<p>Bye</p>")
        #expect(email.text == "Hi <i>Ana</i> & team,\n\nBye")
    }

    @Test func literalBracesAndPlaceholderLookalikesSurvive() throws {
        let email = try rendered("Subject: {{x}}\n\nUse {{first}} to personalize; {} and { are text.", [:])
        #expect(email.subject == "{x}")
        #expect(email.text == "Use {first} to personalize; {} and { are text.")
    }

    @Test func placeholdersAreCollectedWithTheirLines() throws {
        let template = try EmailTemplate(parsing: "\n\nSubject: Hi {first}\n\nHello {First Name|there}\n\n{Job Title}")
        #expect(
            template.placeholders == [
                TemplatePlaceholder(name: "first", key: .first, fallback: nil, line: 3, inSubject: true),
                TemplatePlaceholder(name: "First Name", key: .first, fallback: "there", line: 5, inSubject: false),
                TemplatePlaceholder(name: "Job Title", key: "job_title", fallback: nil, line: 7, inSubject: false),
            ])
        #expect(template.referencedKeys == [.first, "job_title"])
        #expect(template.requiredKeys == [.first, "job_title"])
    }
}
