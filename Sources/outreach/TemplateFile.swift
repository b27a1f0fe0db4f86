import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine

/// Loading a template file for a command, with errors that say which file and what is wrong.
enum TemplateFile {
    /// The compiled template and the file's text (a job keeps the text, so editing the file later changes nothing).
    static func read(_ path: String) throws -> (template: EmailTemplate, text: String) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the template file \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        do {
            return (try EmailTemplate(parsing: text), text)
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }

    static func load(_ path: String) throws -> EmailTemplate { try read(path).template }
}
