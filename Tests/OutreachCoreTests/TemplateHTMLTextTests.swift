import OutreachCore
import Testing

@Suite("Template HTML bodies and plain text")
struct TemplateHTMLTextTests {
    @Test func realWorldHTMLBodyBecomesReadableText() throws {
        let html = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>Newsletter</title>
            <style type="text/css">
              body { margin: 0; } .btn { color: #fff; }
              @media (max-width: 600px) { .col { width: 100% !important; } }
            </style></head>
            <body>
            <div style="display: none; max-height: 0">A short preview&zwnj;&nbsp;&zwnj;&nbsp;&zwnj;</div>
            <table role="presentation" width="100%" cellpadding="0"><tr><td align="center">
              <table width="600"><tr>
                <td class="col"><h1>Hello&nbsp;there!</h1></td>
              </tr><tr>
                <td><p>We&#39;re &quot;thrilled&quot; &amp; proud &mdash; caf&eacute; &#8364;5 &#x2713;</p>
                    <p>&nbsp;</p>
                    <ul><li>Fast</li><li>Cheap<br>and good</li></ul>
                    <ol><li>Sign up</li><li><p>Invite your team</p></li></ol>
                    <p><a href="https://acme.example/start?src=mail&amp;x=1" class="btn">Get started</a>
                       or visit <a href="https://www.acme.example/">www.acme.example</a>.
                       <a href="#top">Back to top</a></p></td>
              </tr></table>
            </td></tr></table>
            <script>var tracking = "{x}";</script>
            </body></html>
            """
        #expect(
            HTMLPlainText.text(fromHTML: html) == """
                Hello there!

                We're "thrilled" & proud — café €5 ✓

                - Fast
                - Cheap
                  and good

                1. Sign up
                2. Invite your team

                Get started (https://acme.example/start?src=mail&x=1) or visit www.acme.example. Back to top
                """)
    }

    @Test func blankLinesCollapseToOne() {
        #expect(
            HTMLPlainText.text(fromHTML: "<p>a</p><p>&nbsp;</p><br><br><p>b</p><div><br></div><div>c<br></div><div>d   </div>")
                == "a\n\nb\n\nc\nd")
        #expect(HTMLPlainText.text(fromHTML: "one<br>two<br><br><br>three") == "one\ntwo\n\nthree")
    }

    @Test func nestedListsAreIndented() {
        #expect(
            HTMLPlainText.text(fromHTML: "<ul><li>a<ul><li>a1</li></ul></li><li>b</li></ul><ol start=\"4\"><li>d</li></ol>")
                == "- a\n  - a1\n- b\n\n4. d")
    }

    @Test func htmlBodyIsDetected() throws {
        for body in ["<p>Hi</p>", "  \n<DIV>Hi</DIV>", "<!doctype html><p>x</p>", "<table><tr><td>x</td></tr></table>", "<br>Hi", "<h2>Hi</h2>"] {
            #expect(try EmailTemplate(parsing: "Subject: x\n\n" + body).format == .html, "\(body)")
        }
        for body in ["Hi <b>Ana</b>", "<Ana> wrote", "**Hi**", "<https://acme.example>"] {
            #expect(try EmailTemplate(parsing: "Subject: x\n\n" + body).format == .markdown, "\(body)")
        }
        #expect(try EmailTemplate(parsing: "Subject: x\n\nHi", format: .html).format == .html)
    }

    @Test func gapsSurviveIntoTheTextOfHTMLBodies() throws {
        let template = try EmailTemplate(
            parsing: """
                Subject: Hi

                <p>Hi {first},</p>
                <p>[gap:3]</p>
                <p>Thanks for your time.[gap:2]Bob</p>
                <p>P.S. one more thing</p>
                [gap:0]
                <p>and another</p>
                """)
        let email = try #require(template.render(values: [.first: "Ana"]).email)
        #expect(email.text == "Hi Ana,\n\n\n\nThanks for your time.\n\n\nBob\n\nP.S. one more thing\nand another")
        #expect(
            email.html == """
                <p>Hi Ana,</p>
                <div><br></div><div><br></div><div><br></div>
                <p>Thanks for your time.<br><br><br>Bob</p>
                <p>P.S. one more thing</p>
                <p>and another</p>
                """)
    }

    @Test func placeholdersInsideStyleAreLeftAlone() throws {
        let template = try EmailTemplate(parsing: "Subject: x\n\n<style>p { margin: 0 }</style><p>Hi {first}</p>")
        #expect(template.referencedKeys == [.first])
        #expect(template.lint(knownKeys: [.first]).isEmpty)
        let email = try #require(template.render(values: [.first: "Ana"]).email)
        #expect(email.html == "<style>p { margin: 0 }</style><p>Hi Ana</p>")
        #expect(email.text == "Hi Ana")
    }

    @Test func linksWithValuesInHTMLBodies() throws {
        let template = try EmailTemplate(
            parsing: "Subject: x\n\n<p><a href=\"https://acme.example/u/{first}\">Your page</a>, <a href=\"{website}\">{website}</a></p>")
        let email = try #require(template.render(values: [.first: "Ana Ö", "website": "https://ana.example"]).email)
        #expect(email.html == "<p><a href=\"https://acme.example/u/Ana%20%C3%96\">Your page</a>, <a href=\"https://ana.example\">https://ana.example</a></p>")
        #expect(email.text == "Your page (https://acme.example/u/Ana%20%C3%96), https://ana.example")
    }
}
