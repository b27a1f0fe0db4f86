import CCurl
import Foundation

/// Process-wide preparation that the C libraries need once, before any connection is made.
public enum ProcessSetup {
    private static let once: Void = {
        // libetpan writes to sockets with send(…, 0); a peer that hangs up would otherwise kill the process.
        signal(SIGPIPE, SIG_IGN)
        // Not thread-safe in curl 7.88: must run before the first easy handle, and only once.
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    public static func prepare() { _ = once }
}
