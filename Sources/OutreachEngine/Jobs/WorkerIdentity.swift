import Foundation

/// Names a worker process in the account leases it holds — `host/pid/start` — so that a worker restarted on the same
/// machine sees at once that the previous holder is gone (its process no longer exists) instead of waiting for the
/// lease to expire. Holders on other machines are judged by lease expiry alone.
public struct WorkerIdentity: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let pid: Int32
    /// The process's start time in clock ticks since boot (Linux /proc/PID/stat field 22): tells a reused pid apart.
    public let startTicks: UInt64
    /// Distinguishes several workers in one process (tests); empty for the usual one.
    public let tag: String

    /// - Parameter host: names this machine instead of ``localMachine`` (`OUTREACH_WORKER_HOST`): workers given different
    ///   names count as different machines even on one host, so the dead-pid shortcut never applies between them.
    public static func current(tag: String = "", host: String? = nil) -> WorkerIdentity {
        let pid = getpid()
        let machine = host.flatMap { $0.isEmpty ? nil : $0.replacingOccurrences(of: "/", with: "_") } ?? localMachine
        return WorkerIdentity(host: machine, pid: pid, startTicks: startTicks(of: pid) ?? 0, tag: tag)
    }

    public var description: String { "\(host)/\(pid)/\(startTicks)\(tag.isEmpty ? "" : "/\(tag)")" }

    /// The host name plus this boot and PID namespace: a container sharing the host's name (host networking) or a
    /// machine that rebooted is another machine here, where only lease expiry can tell a holder is gone.
    static let localMachine: String = {
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines).prefix(8) ?? "?"
        let namespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"))?.filter(\.isNumber) ?? "?"
        return "\(ProcessInfo.processInfo.hostName):\(boot):\(namespace)".replacingOccurrences(of: "/", with: "_")
    }()

    /// False only when `holder` names a process of this worker's machine (same ``host``) that is certainly gone.
    /// Anything unknown counts as alive: a live worker's lease must never be taken early.
    public func mayBeAlive(_ holder: String) -> Bool {
        let parts = holder.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = Int32(parts[1]), let ticks = UInt64(parts[2]), ticks != 0 else { return true }
        guard String(parts[0]) == host else { return true }
        guard let now = Self.startTicks(of: pid) else { return false }
        return now == 0 || now == ticks
    }

    /// Reads /proc/PID/stat; nil when there is no such process.
    static func startTicks(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            // No procfs (not Linux), or hidden by hidepid: ask the kernel whether the pid exists at all; 0 = "exists, start unknown".
            return kill(pid, 0) == 0 || errno == EPERM ? 0 : nil
        }
        // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After ')' the fields start at 3 (state); starttime is field 22.
        guard fields.count > 19, let ticks = UInt64(fields[19]) else { return 0 }
        return ticks
    }
}
