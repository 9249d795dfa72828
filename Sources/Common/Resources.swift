import Foundation

/// Where the binary finds what ships with it: `weights/` (the default weights and their card),
/// `assets/videos/` (the sample videos) and, in a checkout, `scripts/` (the benchmark peers).
///
/// Searched in this order (docs/commands.md, "Install"):
/// 1. `$DECOUPLE_HOME`, when set: a folder holding `weights/` and `assets/videos/`;
/// 2. the working directory (a user's own `weights/<model>.safetensors` there wins);
/// 3. `PREFIX/share/decouple` for a binary installed as `PREFIX/bin/decouple` (`make install`);
/// 4. the checkout the binary was built in (`.build/<triple>/<mode>/decouple`).
public enum Resources {
    /// The environment variable naming a resources folder.
    public static let homeVariable = "DECOUPLE_HOME"

    /// The folders to search, in order, each given once.
    public static var searchDirectories: [String] {
        var dirs: [String] = []
        if let home = ProcessInfo.processInfo.environment[homeVariable], !home.isEmpty { dirs.append(home) }
        dirs.append(FileManager.default.currentDirectoryPath)
        let bin = URL(fileURLWithPath: executablePath).deletingLastPathComponent()
        dirs.append(bin.deletingLastPathComponent().appendingPathComponent("share/decouple").path)
        var up = bin
        for _ in 0..<4 {
            up.deleteLastPathComponent()
            dirs.append(up.path)
        }
        var seen = Set<String>()
        return dirs.map { URL(fileURLWithPath: $0).standardizedFileURL.path }.filter { seen.insert($0).inserted }
    }

    /// The first `relative` path (a file or folder) that exists under a search directory.
    /// `$XDG_CACHE_HOME/decouple/NAME`, or `~/.cache/decouple/NAME`: where a tool keeps what
    /// it can make again (the explorer's embeddings, pretraining's short-GOP copies).
    public static func cacheDirectory(_ name: String) -> String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/decouple/" + name
    }

    public static func find(_ relative: String) -> String? {
        searchDirectories.lazy.map { ($0 as NSString).appendingPathComponent(relative) }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The running executable with symbolic links resolved (argv[0] is only a name when the
    /// binary was found through PATH).
    public static var executablePath: String {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return target }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
    }
}
