import Foundation
import OutreachCore

/// The key that encrypts every stored secret. It lives outside the database — in `OUTREACH_MASTER_KEY`
/// (64 hex digits or base64 of 32 bytes) or in a key file readable by its owner only — so a copy of the database
/// alone reveals nothing.
public enum MasterKey {
    public enum Problem: Error, CustomStringConvertible, Equatable {
        case missing(keyFile: String)
        case malformed(source: String)
        case unsafePermissions(keyFile: String, mode: Int)
        case cannotWrite(keyFile: String, reason: String)

        public var description: String {
            switch self {
            case .missing(let file):
                "no master key: \(file) does not exist and OUTREACH_MASTER_KEY is not set. Run `outreach init` to create one (or restore the key file that belongs to this database)."
            case .malformed(let source):
                "the master key in \(source) is not 32 bytes written as 64 hex digits or base64"
            case .unsafePermissions(let file, let mode):
                "\(file) is readable by other users (mode \(String(mode, radix: 8))); run `chmod 600 \(file)`"
            case .cannotWrite(let file, let reason):
                "cannot create the master key file \(file): \(reason)"
            }
        }
    }

    public static let environmentVariable = "OUTREACH_MASTER_KEY"

    /// Loads the key from the environment if set, else from `keyFile`.
    public static func load(keyFile: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Problem) -> [UInt8] {
        if let text = environment[environmentVariable], !text.isEmpty {
            guard let key = decode(text) else { throw .malformed(source: environmentVariable) }
            return key
        }
        guard let data = FileManager.default.contents(atPath: keyFile) else { throw .missing(keyFile: keyFile) }
        if let attributes = try? FileManager.default.attributesOfItem(atPath: keyFile),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0
        {
            throw .unsafePermissions(keyFile: keyFile, mode: mode)
        }
        guard let key = decode(String(decoding: data, as: UTF8.self)) else { throw .malformed(source: keyFile) }
        return key
    }

    /// Creates a new random key file with mode 0600. Never overwrites: an existing key may be the only way to
    /// read the secrets already stored.
    /// - Returns: false when the file already existed.
    @discardableResult
    public static func createFile(at keyFile: String) throws(Problem) -> Bool {
        if FileManager.default.fileExists(atPath: keyFile) { return false }
        let key: [UInt8]
        do { key = try SecretBox.randomBytes(SecretBox.keyLength) } catch { throw .cannotWrite(keyFile: keyFile, reason: error.description) }
        let text = key.map { String(format: "%02x", $0) }.joined() + "\n"
        // O_EXCL|O_CREAT with 0600 from the start: the key is never readable by others, not even for a moment.
        let fd = open(keyFile, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw .cannotWrite(keyFile: keyFile, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = text.withCString { write(fd, $0, strlen($0)) }
        guard written == text.utf8.count, fsync(fd) == 0 else { throw .cannotWrite(keyFile: keyFile, reason: String(cString: strerror(errno))) }
        return true
    }

    static func decode(_ text: String) -> [UInt8]? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count == 64, trimmed.allSatisfy(\.isHexDigit) {
            var bytes: [UInt8] = []
            var index = trimmed.startIndex
            while index < trimmed.endIndex {
                let next = trimmed.index(index, offsetBy: 2)
                bytes.append(UInt8(trimmed[index..<next], radix: 16)!)
                index = next
            }
            return bytes
        }
        if let data = Data(base64Encoded: trimmed), data.count == SecretBox.keyLength { return Array(data) }
        return nil
    }
}
