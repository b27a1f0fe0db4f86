/// The character encoding a master file was written in, as far as its first bytes tell.
public enum TextEncoding: String, Sendable, Hashable, CustomStringConvertible {
    /// UTF-8, with or without a byte order mark ("CSV UTF-8" in Excel).
    case utf8
    /// UTF-16 little endian, normally with a byte order mark (Excel's "Unicode text" on Windows).
    case utf16LittleEndian
    /// UTF-16 big endian.
    case utf16BigEndian
    /// Windows-1252 ("CSV" from Excel in Western European locales): chosen when the sample is not valid UTF-8.
    case windows1252

    public var description: String {
        switch self {
        case .utf8: "UTF-8"
        case .utf16LittleEndian: "UTF-16 LE"
        case .utf16BigEndian: "UTF-16 BE"
        case .windows1252: "Windows-1252"
        }
    }
}
