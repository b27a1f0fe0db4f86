import Foundation
import OutreachCore
import OutreachEngine

/// Loading a template file for a command, with errors that say which file and what is wrong.
enum TemplateFile {
    /// The compiled template and the file's decoded text (a job keeps the text, so editing the file later changes
    /// nothing). UTF-16 files and lines in Windows-1252 are read as ``TemplateSource`` reads them; lint lists the latter.
    static func read(_ path: String) throws -> (template: EmailTemplate, text: String) {
        // A UTF-16 file is at most twice its UTF-8 size: anything larger is over the limit without reading it.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 2 * EmailTemplate.sizeLimit {
            throw CommandFailure("\(path): \(TemplateError.tooLarge(bytes: size, limit: EmailTemplate.sizeLimit))")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read the template file \(path)") }
        let source = TemplateSource(bytes: Array(data))
        do {
            return (try EmailTemplate(parsing: source), source.text)
        } catch {
            throw CommandFailure("\(path): \(error)")
        }
    }

    static func load(_ path: String) throws -> EmailTemplate { try read(path).template }
}
