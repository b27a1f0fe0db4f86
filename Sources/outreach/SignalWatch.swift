import Dispatch
import Foundation

/// Turns SIGTERM/SIGINT into a call (cancelling the worker's task) instead of killing the process mid-row.
/// The first signal asks for a clean stop; a second one of the same kind ends the process at once.
final class SignalWatch: @unchecked Sendable {
    // @unchecked: the sources are only touched at init and in stop().
    private var sources: [any DispatchSourceSignal] = []

    init(signals: [Int32], onSignal: @escaping @Sendable () -> Void) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            let seen = LockedCount()
            source.setEventHandler {
                if seen.increment() > 1 { exit(128 + number) }
                FileHandle.standardError.write(Data("Stopping: running jobs stop after their current row (signal again to quit at once).\n".utf8))
                onSignal()
            }
            source.resume()
            sources.append(source)
        }
    }

    func stop() { for source in sources { source.cancel() } }
}

/// A counter shared with a signal handler.
private final class LockedCount: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}
