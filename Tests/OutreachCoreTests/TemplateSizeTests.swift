import Foundation
import OutreachCore
import Testing

@Suite("Template size: linear rendering and the size limit")
struct TemplateSizeTests {
    /// Reading and rendering a template of `lines` body lines written as `line(n)`, in seconds of this thread's CPU
    /// time: what the work costs, whatever else the machine runs (wall time on a loaded CI machine is not).
    private func seconds(lines: Int, _ line: (Int) -> String) throws -> Double {
        let body = (1...lines).map(line).joined(separator: "\n")
        let source = "Subject: Hi {first}\n\n" + body
        let start = Self.threadCPUSeconds()
        let template = try EmailTemplate(parsing: source)
        #expect(template.lint(knownKeys: [.first]).isEmpty)
        let email = try #require(template.render(values: [.first: "Ana"]).email)
        let spent = Self.threadCPUSeconds() - start
        #expect(email.text.utf8.count > body.utf8.count / 2)
        return spent
    }

    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Ten times the lines must cost about ten times as much, not a hundred (as when every line copied the block
    /// so far: 100,000 lines took 70 s in a release build, several minutes in a debug one). The bounds leave room for
    /// a busy machine and a debug build; a release build reads and renders 100,000 lines in a fraction of a second.
    @Test(arguments: ["paragraph", "list", "ordered", "quote"])
    func renderingIsLinearInTheNumberOfLines(shape: String) throws {
        let line: (Int) -> String
        switch shape {
        case "list": line = { "- item \($0)" }
        case "ordered": line = { "\($0). step" }
        case "quote": line = { "> quoted \($0)" }
        default: line = { "Line \($0): *see* <https://x.io>" }
        }
        let small = try (0..<3).map { _ in try seconds(lines: 10_000, line) }.min()!
        let large = try seconds(lines: 100_000, line)
        #expect(large < 60, "100,000 lines took \(large) s")
        #expect(large < max(small, 0.01) * 40, "10,000 lines took \(small) s, 100,000 lines \(large) s: not linear")
    }

    @Test func aTemplateOverTheSizeLimitIsRefusedWithTheLimit() throws {
        let line = String(repeating: "x", count: 99) + "\n"
        let source = "Subject: Hi\n\n" + String(repeating: line, count: EmailTemplate.sizeLimit / 100 + 1)
        #expect(throws: TemplateError.tooLarge(bytes: source.utf8.count, limit: EmailTemplate.sizeLimit)) {
            try EmailTemplate(parsing: source)
        }
        #expect(
            TemplateError.tooLarge(bytes: 5_000_000, limit: 4 * 1024 * 1024).description
                == "the template is 5000000 bytes; the limit is 4 MiB (4194304 bytes): an email this large would be clipped by Gmail and refused by many mail servers")
        let fits = "Subject: Hi\n\n" + String(repeating: line, count: (EmailTemplate.sizeLimit - 20) / 100)
        #expect(try EmailTemplate(parsing: fits).render(values: [:]).email != nil)
    }
}
