import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine

/// Loading a template file for a command, with errors that say which file and what is wrong.
enum TemplateFile {
    static func load(_ path: String) throws -> EmailTemplate {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the template file \(path)") }
        do {
            return try EmailTemplate(parsing: String(decoding: data, as: UTF8.self))
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }

    /// Adapts the template's outcome for the round runner.
    static func renderer(_ template: EmailTemplate) -> @Sendable (Prospect) -> RenderedRow {
        { prospect in
            switch template.render(values: prospect.fields) {
            case .rendered(let email):
                return .message(subject: email.subject ?? "", text: email.text, html: email.html)
            case .needsData(let missing):
                return .needsData(missing: missing)
            case .unsafeHeader(let field, let key):
                return .unsafe(reason: "the value of {\(key)} would put a line break into the \(field) header")
            }
        }
    }
}
