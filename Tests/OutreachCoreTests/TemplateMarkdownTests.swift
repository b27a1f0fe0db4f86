import OutreachCore
import Testing

@Suite("Template Markdown and gap tags")
struct TemplateMarkdownTests {
    private func rendered(_ body: String, _ values: [ColumnKey: String] = [:]) throws -> RenderedEmail {
        let template = try EmailTemplate(parsing: "Subject: Test\n\n" + body)
        #expect(template.format == .markdown)
        let outcome = template.render(values: values)
        return try #require(outcome.email, "expected a rendered email, got \(outcome)")
    }

    private func blankLinesBetween(_ text: String, _ first: String, _ second: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let a = lines.firstIndex(of: Substring(first)), let b = lines.firstIndex(of: Substring(second)) else { return nil }
        guard lines[(a + 1)..<b].allSatisfy(\.isEmpty) else { return nil }
        return b - a - 1
    }

    @Test(arguments: 0...10)
    func gapTagLeavesExactlyNBlankLines(lines: Int) throws {
        let email = try rendered("Hi Ana,\n[gap:\(lines)]\nI saw your post.")
        #expect(blankLinesBetween(email.text, "Hi Ana,", "I saw your post.") == lines)
        let spacer = String(repeating: "<div><br></div>\n", count: lines)
        #expect(email.html == "<div>Hi Ana,</div>\n" + spacer + "<div>I saw your post.</div>")
    }

    @Test func gapReplacesTheBlankLinesAroundIt() throws {
        let email = try rendered("Hi,\n\n\n[gap:3]\n\nBye")
        #expect(email.text == "Hi,\n\n\n\nBye")
        #expect(try rendered("Hi,\n\n[gap:0]\n\nBye").text == "Hi,\nBye")
        #expect(try rendered("Hi,\n[gap]\nBye").text == "Hi,\n\nBye")
        #expect(try rendered("Hi,\n[GAP: 2]\n[gap:1]\nBye").text == "Hi,\n\n\n\nBye")
    }

    @Test func gapInsideALineBreaksIt() throws {
        let email = try rendered("Thanks for reading![gap:2]Best, Bob")
        #expect(email.text == "Thanks for reading!\n\n\nBest, Bob")
        #expect(email.html == "<div>Thanks for reading!</div>\n<div><br></div>\n<div><br></div>\n<div>Best, Bob</div>")
    }

    @Test func malformedGapTagsAreKeptAsWritten() throws {
        #expect(try rendered("a [gap:x] b [gap:11] c [gaps] d").text == "a [gap:x] b [gap:11] c [gaps] d")
    }

    @Test func paragraphsAndLineBreaksFollowTheLetter() throws {
        let email = try rendered("Hi Ana,\n\n\nThanks for your time.\nTalk soon,\nBob")
        #expect(email.html == "<div>Hi Ana,</div>\n<div><br></div>\n<div>Thanks for your time.<br>Talk soon,<br>Bob</div>")
        #expect(email.text == "Hi Ana,\n\nThanks for your time.\nTalk soon,\nBob")
    }

    @Test func linkAndBoldRenderToHTML() throws {
        let email = try rendered("See **our [pricing](https://acme.example/pricing?a=1&b=2)** page, *today* or _tomorrow_.")
        #expect(
            email.html
                == "<div>See <strong>our <a href=\"https://acme.example/pricing?a=1&amp;b=2\">pricing</a></strong> page, <em>today</em> or <em>tomorrow</em>.</div>"
        )
        #expect(email.text == "See our pricing (https://acme.example/pricing?a=1&b=2) page, today or tomorrow.")
    }

    @Test func listsRenderToHTML() throws {
        let email = try rendered("Options:\n- Tuesday\n- **Thursday**\n\n1. Call\n2. Demo\n\n3. Contract")
        #expect(
            email.html == """
                <div>Options:</div>
                <ul style="margin:0;padding-left:24px"><li>Tuesday</li><li><strong>Thursday</strong></li></ul>
                <div><br></div>
                <ol style="margin:0;padding-left:24px"><li>Call</li><li>Demo</li></ol>
                <div><br></div>
                <ol start="3" style="margin:0;padding-left:24px"><li>Contract</li></ol>
                """)
        #expect(email.text == "Options:\n- Tuesday\n- Thursday\n\n1. Call\n2. Demo\n\n3. Contract")
    }

    @Test func headingsAndQuotes() throws {
        let email = try rendered("# Big news\n## Smaller ##\n> You wrote:\n> hello")
        #expect(
            email.html == """
                <h1 style="margin:0">Big news</h1>
                <h2 style="margin:0">Smaller</h2>
                <blockquote style="margin:0 0 0 0.8ex;border-left:1px solid #ccc;padding-left:1ex">You wrote:<br>hello</blockquote>
                """)
        #expect(email.text == "Big news\nSmaller\n> You wrote:\n> hello")
    }

    @Test func autolinksAndMailto() throws {
        let email = try rendered("Slots: https://cal.example/bob. Or write to [me](mailto:bob@acme.example) or <mailto:bob@acme.example>")
        #expect(
            email.html
                == "<div>Slots: <a href=\"https://cal.example/bob\">https://cal.example/bob</a>. Or write to <a href=\"mailto:bob@acme.example\">me</a> or <a href=\"mailto:bob@acme.example\">mailto:bob@acme.example</a></div>"
        )
        #expect(email.text == "Slots: https://cal.example/bob. Or write to me (bob@acme.example) or bob@acme.example")
    }

    @Test func otherLinksAndMarkupStayText() throws {
        let email = try rendered("[click](javascript:alert(1)) <b>not bold</b> a_b_c 2*3*4 \\*literal\\*")
        #expect(email.html == "<div>[click](javascript:alert(1)) &lt;b&gt;not bold&lt;/b&gt; a_b_c 2<em>3</em>4 *literal*</div>")
        #expect(email.text == "[click](javascript:alert(1)) <b>not bold</b> a_b_c 234 *literal*")
    }

    @Test func markdownInAValueIsNotInterpreted() throws {
        let email = try rendered("Hi {first}", [.first: "**Ana** [x](https://evil.example)"])
        #expect(email.html == "<div>Hi **Ana** [x](https://evil.example)</div>")
    }
}
