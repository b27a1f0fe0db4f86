/// What rendering one row produced. Only `.rendered` may be sent.
public enum RenderOutcome: Sendable, Hashable {
    case rendered(RenderedEmail)
    /// Placeholders without a fallback found no value (absent, empty or only white space) for these columns, in the
    /// order the template first uses them. The row is held, never sent with a blank.
    case needsData(missing: [ColumnKey])
    /// The value of `key` would put a line break or NUL into the header `field` (e.g. "Subject"): refused, because a
    /// merge value must never be able to add headers such as Bcc.
    case unsafeHeader(field: String, key: ColumnKey)

    public var email: RenderedEmail? {
        if case .rendered(let email) = self { return email }
        return nil
    }
}
