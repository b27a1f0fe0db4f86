/// How a server's TLS certificate is checked. Verification is always on unless ``allowInsecure`` is set explicitly.
public struct TLSTrust: Sendable, Hashable, Codable {
    /// A PEM file of CA certificates to trust instead of the system store, for servers behind a private CA.
    public var caFile: String?
    /// Skip certificate and host-name checks. Every connection made this way logs a warning.
    public var allowInsecure: Bool

    public init(caFile: String? = nil, allowInsecure: Bool = false) {
        self.caFile = caFile
        self.allowInsecure = allowInsecure
    }
}
