/// One `{name}` or `{name|fallback}` as written in a template.
public struct TemplatePlaceholder: Sendable, Hashable {
    /// The name between the braces, as written (`First Name`).
    public let name: String
    /// The column it reads, normalized like CSV headers (`first`).
    public let key: ColumnKey
    /// The text used when the row has no value; `nil` means the row is held as needing data. May be empty (`{first|}`).
    public let fallback: String?
    /// 1-based line in the template file.
    public let line: Int
    public let inSubject: Bool

    public init(name: String, key: ColumnKey, fallback: String?, line: Int, inSubject: Bool) {
        self.name = name
        self.key = key
        self.fallback = fallback
        self.line = line
        self.inSubject = inSubject
    }
}
