import Foundation

/// OUTREACH_PUBLIC_URL: the address browsers reach `serve` at (behind an HTTPS proxy, the proxy's), such as
/// `https://outreach.example.com`. The OAuth redirect address is built from it, never from a request's Host header,
/// and a browser's POST from this origin is accepted even when a proxy rewrote Host.
public struct PublicURL: Sendable, Equatable, CustomStringConvertible {
    /// `https://outreach.example.com`, without a trailing slash.
    public let base: String
    /// `outreach.example.com` (with `:port` when it is not the scheme's default): what an `Origin` header names.
    let authority: String

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let text: String
        public var description: String {
            "OUTREACH_PUBLIC_URL '\(text)' is not an address browsers can use: give the scheme and host this server is reached at, like https://outreach.example.com"
        }
    }

    public init(parsing text: String) throws(Invalid) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let parts = URLComponents(string: trimmed), let scheme = parts.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = parts.host, !host.isEmpty, parts.query == nil, parts.fragment == nil, parts.user == nil
        else { throw Invalid(text: text) }
        let path = parts.path.hasSuffix("/") ? String(parts.path.dropLast()) : parts.path
        let port = parts.port.map { ":\($0)" } ?? ""
        base = "\(scheme)://\(host.lowercased())\(port)\(path)"
        authority = Self.authority(host: host, port: parts.port, scheme: scheme)
    }

    public var description: String { base }

    /// `host[:port]`, lowercased, without the scheme's default port: the form `Origin` and `Host` are compared in.
    static func authority(host: String, port: Int?, scheme: String) -> String {
        let defaultPort = scheme == "https" ? 443 : 80
        guard let port, port != defaultPort else { return host.lowercased() }
        return "\(host.lowercased()):\(port)"
    }
}
