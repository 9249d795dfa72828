import Foundation

/// Crash tests of the durable writes (docs/correctness.md, "Durable writes"): a real
/// `decouple` process is killed with SIGKILL at each crash point of a command in turn
/// (`Common.CrashPoint`, `DECOUPLE_CRASH_AT=<n>`) and what it left is reopened.
public enum CrashTests {
    /// Runs `decouple arguments` killed at its 1st, 2nd, ... crash point until a run finishes.
    /// `prepare` runs before each attempt; `reopen(n)` after the kill at point n. Returns the
    /// number of kills (the crash points the command passes).
    @discardableResult
    public static func killAtEveryStep(
        _ arguments: [String], environment: [String: String] = [:], prepare: () throws -> Void = {},
        reopen: (Int) throws -> Void
    ) throws -> Int {
        for n in 1...500 {
            try prepare()
            let r = try run(
                Paths.decouple, arguments, environment: environment.merging(["DECOUPLE_CRASH_AT": "\(n)"]) { $1 })
            if r.status == 0 { return n - 1 }
            guard r.status == SIGKILL else {
                throw TestFailure(
                    "decouple \(arguments.joined(separator: " ")) exited \(r.status) at crash point \(n): \(r.stderr)")
            }
            try reopen(n)
        }
        throw TestFailure("decouple \(arguments.joined(separator: " ")) passed more than 500 crash points")
    }

    /// Every regular file under `directory` by relative path, with its bytes.
    public static func files(_ directory: String) throws -> [String: Data] {
        let fm = FileManager.default
        var result: [String: Data] = [:]
        guard let walk = fm.enumerator(atPath: directory) else { return [:] }
        for case let name as String in walk {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            }
        }
        return result
    }
}
