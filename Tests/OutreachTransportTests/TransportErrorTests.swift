import OutreachTransport
import Testing

struct TransportErrorTests {
    static let kinds: [TransportError.Kind] = [
        .certificate, .authentication, .connection, .timeout, .tlsUnavailable, .rejectedPermanently, .rejectedTemporarily, .outcomeUnknown,
        .withdrawn, .protocolFailure, .configuration, .reauthorizationRequired,
    ]

    /// libcurl passes GnuTLS's own sentence on, period included, and most messages go on with ". Check …".
    @Test(arguments: kinds)
    func aDetailEndingInAPeriodIsNotDoubled(kind: TransportError.Kind) {
        let error = TransportError(kind, server: "SMTP 127.0.0.1:2525", detail: "GnuTLS recv error (-110): The TLS connection was non-properly terminated.")
        #expect(!error.description.contains(".."), "\(error)")
        if kind != .tlsUnavailable {  // its message does not repeat the detail
            #expect(error.description.contains("GnuTLS recv error (-110): The TLS connection was non-properly terminated"), "\(error)")
        }
    }
}
