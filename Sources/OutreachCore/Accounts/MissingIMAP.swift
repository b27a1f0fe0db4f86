/// Something that needs the account's IMAP server was tried on an SMTP-only account.
public struct MissingIMAP: Error, Equatable, CustomStringConvertible {
    public let email: String
    public let purpose: String
    public let fromEnvironment: Bool

    public init(email: String, purpose: String, fromEnvironment: Bool) {
        self.email = email
        self.purpose = purpose
        self.fromEnvironment = fromEnvironment
    }

    public var description: String {
        let fix = fromEnvironment
            ? "set IMAP_HOST (and IMAP_PORT, 993 by default) in .env"
            : "add the account again with --imap"
        return "\(email) is an SMTP-only account (no IMAP server), so \(purpose) cannot work without the mailbox: \(fix); first emails go out without it"
    }
}
