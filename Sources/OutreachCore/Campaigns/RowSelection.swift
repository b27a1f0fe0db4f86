import Foundation

/// A selection of a whole campaign's rows made in one step, instead of one check box per row: the web UI shows at
/// most a few hundred rows, and a campaign of thousands is selected with one of these.
public struct RowSelection: Sendable, Equatable {
    public enum Pick: String, Sendable, CaseIterable {
        /// Every row of the campaign.
        case all
        /// The rows matching the filter: the variant (if any) and the text (if any).
        case filter
        /// The rows the master file's `select` column ticks (1, yes, x, …), as imported: what the file said before
        /// anyone changed the selection.
        case file
    }

    public var pick: Pick
    /// Only rows of this variant (any case), as a round's variant filter reads it; nil: any variant.
    public var variant: String?
    /// Only rows with this text (any case) in their address or any cell; nil or empty: any row.
    public var text: String?

    public init(pick: Pick, variant: String? = nil, text: String? = nil) {
        self.pick = pick
        self.variant = variant
        self.text = text
    }

    public func includes(_ prospect: Prospect) -> Bool {
        switch pick {
        case .all: true
        case .filter: Self.matches(prospect, variant: variant, text: text)
        case .file: MasterFileLayout.selection(prospect.fields[.select] ?? "") ?? false
        }
    }

    /// Whether a row passes the page's filter: the variant compared as a round compares it, the text found in the
    /// address or any cell, ignoring case.
    public static func matches(_ prospect: Prospect, variant: String?, text: String?) -> Bool {
        if let variant, !variant.isEmpty, prospect.variant?.caseInsensitiveCompare(variant) != .orderedSame { return false }
        guard let text, !text.isEmpty else { return true }
        let needle = text.lowercased()
        if prospect.email.description.lowercased().contains(needle) { return true }
        return prospect.fields.values.contains { $0.lowercased().contains(needle) }
    }
}
