import Foundation

/// Golden-file comparison: `Goldens/<name>.txt` next to the calling test file.
///
/// `RECORD_GOLDENS=1 swift test` rewrites the files (and reports each rewrite as a failure, so
/// a person reads the diff before committing). A missing file always fails.
public enum Golden {
    /// Returns nil when `text` equals the golden file, else a description of the difference.
    public static func check(_ text: String, named name: String, testFile: String = #filePath) -> String? {
        let dir = (testFile as NSString).deletingLastPathComponent + "/Goldens"
        let path = dir + "/" + name + ".txt"
        let expected = try? String(contentsOfFile: path, encoding: .utf8)
        if ProcessInfo.processInfo.environment["RECORD_GOLDENS"] == "1" {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try? (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return expected == text + "\n" ? nil : "recorded \(path); check the diff and run again"
        }
        guard let expected else { return "no golden file \(path) (run with RECORD_GOLDENS=1 to record it)" }
        if expected == text + "\n" { return nil }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = (text + "\n").split(separator: "\n", omittingEmptySubsequences: false)
        let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        let want = line < a.count ? String(a[line]) : "<end>"
        let got = line < b.count ? String(b[line]) : "<end>"
        return "\(name) differs from \(path) at line \(line + 1):\n  golden: \(want)\n  actual: \(got)"
    }
}
