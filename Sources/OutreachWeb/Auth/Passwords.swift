import Foundation
import Hummingbird
import HummingbirdBcrypt
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// Password hashing for web users: bcrypt at cost 12 (about a quarter of a second here, which is the point), run off
/// the server's event loops.
public enum Passwords {
    public static let cost: UInt8 = 12

    public static func hash(_ password: String) async -> String {
        await Task.detached(priority: .userInitiated) { Bcrypt.hash(password, cost: cost) }.value
    }

    public static func verify(_ password: String, hash: String) async -> Bool {
        await Task.detached(priority: .userInitiated) { Bcrypt.verify(password, hash: hash) }.value
    }

    /// Checked when the address is unknown, so a wrong address costs the same time as a wrong password.
    static let dummyHash = Bcrypt.hash("no such user", cost: cost)

    /// bcrypt reads no further: two passwords that differ only after this many bytes would both sign in.
    public static let maxBytes = 72

    /// What the UI and the CLI accept as a new password. The upper bound counts UTF-8 bytes, not characters: "é"
    /// takes 2, most emoji 4.
    public static func problem(with password: String) -> String? {
        if password.count < 10 { return "a password needs at least 10 characters" }
        let bytes = password.utf8.count
        if bytes > maxBytes {
            return "a password may be at most \(maxBytes) bytes long (bcrypt ignores the rest); this one is \(bytes) bytes in UTF-8, where accented letters take 2 bytes and emoji 4: choose a shorter one"
        }
        return nil
    }
}
