import OutreachCore

/// A row of an import whose address an earlier row already has.
public struct DuplicateProspect: Sendable, Equatable {
    public let row: Int
    public let email: String
    public let firstRow: Int
}
