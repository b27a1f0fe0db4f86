import Foundation

/// A folder as LIST reports it.
public struct IMAPMailbox: Sendable, Hashable {
    /// The name exactly as the server sent it (modified UTF-7): always send it back unchanged.
    public let name: String
    public let delimiter: Character?
    /// Attributes without the backslash, as sent: `HasNoChildren`, `Sent`, `Junk`, …
    public let attributes: [String]

    public init(name: String, delimiter: Character?, attributes: [String]) {
        self.name = name
        self.delimiter = delimiter
        self.attributes = attributes
    }

    /// The RFC 6154 special use, if the server marked one.
    public var specialUse: SpecialUse? {
        for attribute in attributes {
            if let use = SpecialUse(rawValue: attribute.lowercased()) { return use }
        }
        return nil
    }

    public enum SpecialUse: String, Sendable, CaseIterable {
        case sent, drafts, junk, archive, all, trash, flagged

        /// How the folder is called in output, capitalised as RFC 6154 spells the attribute.
        public var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }

        /// Common folder names per use, for servers without SPECIAL-USE (lowercased; the last path component).
        var fallbackNames: [String] {
            switch self {
            case .sent: ["sent", "sent items", "sent mail", "sent messages", "gesendet", "gesendete elemente", "envoyés", "enviados"]
            case .drafts: ["drafts", "draft", "entwürfe"]
            case .junk: ["junk", "spam", "junk e-mail", "junk email", "bulk mail"]
            case .archive: ["archive", "archives", "all mail"]
            case .all: ["all mail"]
            case .trash: ["trash", "deleted items", "deleted messages", "bin"]
            case .flagged: ["flagged", "starred"]
            }
        }
    }
}

extension Array where Element == IMAPMailbox {
    /// The folder for a use: the one the server marked, else the first whose name is a common name for it.
    public func mailbox(for use: IMAPMailbox.SpecialUse) -> IMAPMailbox? {
        if let marked = first(where: { $0.specialUse == use }) { return marked }
        return first { box in
            let leaf = box.delimiter.map { d in box.name.split(separator: d).last.map(String.init) ?? box.name } ?? box.name
            return use.fallbackNames.contains(leaf.lowercased()) && !box.attributes.contains { $0.caseInsensitiveCompare("Noselect") == .orderedSame }
        }
    }
}
