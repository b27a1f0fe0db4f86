import COpenSSL
import Foundation
import OutreachCore

/// Authenticated encryption for secrets at rest: AES-256-GCM with a fresh 96-bit nonce per seal.
///
/// Sealed layout: `0x01` (format version) ‖ nonce (12) ‖ ciphertext ‖ tag (16). The caller names a context (for
/// example `account:alice@example.com`) that is bound in as associated data, so a sealed password copied into
/// another account's row fails to open instead of quietly logging in elsewhere.
///
/// It holds the master key, so it prints as redacted wherever it is printed, dumped or reflected (a service
/// description logged at debug level, `dump`, string interpolation of a type that contains it).
public struct SecretBox: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public static let keyLength = 32
    private static let version: UInt8 = 1
    private static let nonceLength = 12
    private static let tagLength = 16

    private let key: [UInt8]

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case wrongKeyLength(Int)
        case cannotOpen
        case cryptoLibrary(String)

        public var description: String {
            switch self {
            case .wrongKeyLength(let n): "the master key must be 32 bytes, got \(n)"
            case .cannotOpen: "a stored secret cannot be decrypted: the master key is not the one it was encrypted with, or the database was altered"
            case .cryptoLibrary(let what): "OpenSSL failed to \(what)"
            }
        }
    }

    public var description: String { "SecretBox(key: redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    public init(key: [UInt8]) throws(Failure) {
        guard key.count == Self.keyLength else { throw .wrongKeyLength(key.count) }
        self.key = key
    }

    public func seal(_ plaintext: String, context: String) throws(Failure) -> [UInt8] {
        let nonce = try Self.randomBytes(Self.nonceLength)
        let input = Array(plaintext.utf8)
        let aad = Array(context.utf8)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .cryptoLibrary("allocate a cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var tag = [UInt8](repeating: 0, count: Self.tagLength)
        var length: Int32 = 0
        var total = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceLength), nil) == 1,
            EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1,
            EVP_EncryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1
        else { throw .cryptoLibrary("start AES-256-GCM") }
        guard output.withUnsafeMutableBufferPointer({ EVP_EncryptUpdate(ctx, $0.baseAddress, &length, input, Int32(input.count)) }) == 1 else {
            throw .cryptoLibrary("encrypt")
        }
        total = Int(length)
        guard output.withUnsafeMutableBufferPointer({ EVP_EncryptFinal_ex(ctx, $0.baseAddress! + total, &length) }) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagLength), &tag) == 1
        else { throw .cryptoLibrary("finish AES-256-GCM") }
        total += Int(length)
        return [Self.version] + nonce + output[0..<total] + tag
    }

    public func open(_ sealed: [UInt8], context: String) throws(Failure) -> String {
        guard sealed.count >= 1 + Self.nonceLength + Self.tagLength, sealed[0] == Self.version else { throw .cannotOpen }
        let nonce = Array(sealed[1...Self.nonceLength])
        let ciphertext = Array(sealed[(1 + Self.nonceLength)..<(sealed.count - Self.tagLength)])
        var tag = Array(sealed.suffix(Self.tagLength))
        let aad = Array(context.utf8)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .cryptoLibrary("allocate a cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var output = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var length: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceLength), nil) == 1,
            EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1,
            EVP_DecryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1
        else { throw .cryptoLibrary("start AES-256-GCM") }
        guard output.withUnsafeMutableBufferPointer({ EVP_DecryptUpdate(ctx, $0.baseAddress, &length, ciphertext, Int32(ciphertext.count)) }) == 1 else {
            throw .cannotOpen
        }
        let total = Int(length)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagLength), &tag) == 1,
            output.withUnsafeMutableBufferPointer({ EVP_DecryptFinal_ex(ctx, $0.baseAddress! + total, &length) }) == 1
        else {
            ERR_clear_error()
            throw .cannotOpen
        }
        return String(decoding: output[0..<(total + Int(length))], as: UTF8.self)
    }

    public static func randomBytes(_ count: Int) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw .cryptoLibrary("produce random bytes") }
        return bytes
    }
}
