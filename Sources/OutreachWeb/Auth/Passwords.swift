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

    /// What the UI and the CLI accept as a new password.
    public static func problem(with password: String) -> String? {
        if password.count < 10 { return "a password needs at least 10 characters" }
        if password.count > 72 { return "bcrypt uses only the first 72 bytes of a password; choose one of at most 72 characters" }
        return nil
    }
}
