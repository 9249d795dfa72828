import Common
import Foundation

/// Where things are, for tests.
public enum Paths {
    /// The repository root (this file is Sources/TestSupport/Paths.swift).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static func asset(_ relative: String) -> String { root + "/assets/" + relative }

    /// The directory holding the built products (the `decouple` executable, the test bundle).
    public static let products: String = {
        URL(fileURLWithPath: Resources.executablePath).deletingLastPathComponent().path
    }()

    /// The binary the tests drive: the one built beside the tests, or `DECOUPLE_TEST_BINARY`
    /// (`make sanitize` points it at a ThreadSanitizer build, so an ordinary test process
    /// drives the instrumented binary; TSan aborts a TSan-built test process that spawns one).
    public static var decouple: String {
        ProcessInfo.processInfo.environment["DECOUPLE_TEST_BINARY"] ?? products + "/decouple"
    }

    /// The team's shared media folder, present on development machines, not in CI clones.
    public static let sharedMedia: String? = {
        let p = URL(fileURLWithPath: root).deletingLastPathComponent().appendingPathComponent("shared/media").path
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }()

    /// A fresh directory for one test run of this process.
    public static let scratch: String = {
        let p = NSTemporaryDirectory() + "decouple-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }()

    public static func temporaryDirectory(_ name: String) -> String {
        let p = scratch + "/" + name + "-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}
