import Foundation
import OutreachCore
import OutreachTransport
import Testing

struct SecretsTests {
    @Test("sealed secrets open only with the same key and the same account")
    func sealAndOpen() throws {
        let box = try SecretBox(key: try SecretBox.randomBytes(32))
        let sealed = try box.seal("app-password-ünïcode", context: "outreach/account-password/a@example.com")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("app-password"))
        #expect(try box.open(sealed, context: "outreach/account-password/a@example.com") == "app-password-ünïcode")
        #expect(throws: SecretBox.Failure.cannotOpen) { try box.open(sealed, context: "outreach/account-password/b@example.com") }
        let other = try SecretBox(key: try SecretBox.randomBytes(32))
        #expect(throws: SecretBox.Failure.cannotOpen) { try other.open(sealed, context: "outreach/account-password/a@example.com") }
        var tampered = sealed
        tampered[tampered.count / 2] ^= 1
        #expect(throws: SecretBox.Failure.cannotOpen) { try box.open(tampered, context: "outreach/account-password/a@example.com") }
        // A fresh nonce each time: the same password never seals to the same bytes.
        #expect(try box.seal("x", context: "c") != box.seal("x", context: "c"))
    }

    @Test("the key file is created 0600, never overwritten, and refused when others can read it")
    func keyFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: MasterKey.Problem.missing(keyFile: path)) { try MasterKey.load(keyFile: path, environment: [:]) }
        #expect(try MasterKey.createFile(at: path))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let key = try MasterKey.load(keyFile: path, environment: [:])
        #expect(key.count == 32)
        #expect(try MasterKey.createFile(at: path) == false)
        #expect(try MasterKey.load(keyFile: path, environment: [:]) == key)
        chmod(path, 0o644)
        #expect(throws: MasterKey.Problem.self) { try MasterKey.load(keyFile: path, environment: [:]) }
        let hex = String(repeating: "ab", count: 32)
        #expect(try MasterKey.load(keyFile: path, environment: ["OUTREACH_MASTER_KEY": hex]) == [UInt8](repeating: 0xAB, count: 32))
        #expect(throws: MasterKey.Problem.malformed(source: "OUTREACH_MASTER_KEY")) {
            try MasterKey.load(keyFile: path, environment: ["OUTREACH_MASTER_KEY": "short"])
        }
    }
}
