import Foundation

/// Named moments in the middle of a durable write, where the crash tests stop a real process.
///
/// `DECOUPLE_CRASH_AT=<n>` kills the process with SIGKILL at the n-th crash point it passes,
/// whatever its name; `DECOUPLE_CRASH_AT=<name>:<n>` at the n-th pass of the point `name`. The
/// tests raise n until the command finishes, so every step of every write it makes is a crash
/// they reopen after (docs/correctness.md, "Durable writes"). Unset, a pass costs one load.
public enum CrashPoint {
    /// Counts this pass of `name` and kills the process if the variable names it.
    public static func pass(_ name: String) {
        guard let spec else { return }
        let reached: Bool = lock.withLock {
            passes += 1
            named[name, default: 0] += 1
            if let wanted = spec.name { return wanted == name && named[name] == spec.number }
            return passes == spec.number
        }
        if reached { kill(getpid(), SIGKILL) }
    }

    private static let spec: (name: String?, number: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["DECOUPLE_CRASH_AT"], !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2, let n = Int(parts[1]) { return (parts[0], n) }
        if let n = Int(value) { return (nil, n) }
        return (value, 1)
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var passes = 0
    nonisolated(unsafe) private static var named: [String: Int] = [:]
}
