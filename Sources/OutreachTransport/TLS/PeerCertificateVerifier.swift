import COpenSSL
import Foundation
import OutreachCore

/// Checks a server's certificate chain against a trust store and the host name we dialled.
///
/// libetpan completes the TLS handshake without checking anything (its GnuTLS path loads no trust anchors and
/// compares no names), so every IMAP connection passes its chain through here before a password is sent.
public enum PeerCertificateVerifier {
    /// - Parameters:
    ///   - chain: DER certificates as the server sent them, leaf first.
    ///   - host: the host name or IP address from the account's URL.
    ///   - caFile: a PEM file of trusted CAs; nil means the system trust store.
    /// - Returns: nil when the chain is trusted for `host`, else a reason fit for the operator.
    public static func problem(chain: [[UInt8]], host: String, caFile: String?) -> String? {
        // Parsing a certificate gives this thread an OpenSSL error queue. It is freed at thread exit only if OpenSSL
        // has not been cleaned up by then; at process exit the two race and valgrind saw the queue lost. Free it now.
        defer { OPENSSL_thread_stop() }
        guard let leafDER = chain.first else { return "the server sent no certificate" }
        guard let leaf = leafDER.withUnsafeBufferPointer({ copenssl_x509_from_der($0.baseAddress, $0.count) }) else {
            return "the server's certificate could not be read"
        }
        defer { X509_free(leaf) }
        guard let intermediates = copenssl_x509_stack_new() else { return "out of memory" }
        defer { copenssl_x509_stack_free_all(intermediates) }
        for der in chain.dropFirst() {
            // The stack owns what is pushed and frees it with the stack.
            if let cert = der.withUnsafeBufferPointer({ copenssl_x509_from_der($0.baseAddress, $0.count) }) {
                if copenssl_x509_stack_push(intermediates, cert) == 0 { X509_free(cert) }
            }
        }

        guard let store = X509_STORE_new() else { return "out of memory" }
        defer { X509_STORE_free(store) }
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else { return "the CA file \(caFile) cannot be read" }
            guard X509_STORE_load_locations(store, caFile, nil) == 1 else {
                ERR_clear_error()
                return "the CA file \(caFile) holds no PEM certificate OpenSSL can load"
            }
        } else {
            X509_STORE_set_default_paths(store)
        }
        guard let context = X509_STORE_CTX_new() else { return "out of memory" }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, leaf, intermediates) == 1 else { return "the certificate could not be checked" }
        if X509_verify_cert(context) != 1 {
            let code = X509_STORE_CTX_get_error(context)
            ERR_clear_error()
            return String(cString: X509_verify_cert_error_string(Int(code)))
        }

        let nameMatches: Bool
        if isIPAddress(host) {
            nameMatches = X509_check_ip_asc(leaf, host, 0) == 1
        } else {
            nameMatches = X509_check_host(leaf, host, host.utf8.count, 0, nil) == 1
        }
        guard nameMatches else { return "the certificate is not issued for \(host)" }
        return nil
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
