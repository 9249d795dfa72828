import Common
import Foundation

/// The bundled clips the benchmarks default to.
enum BenchAssets {
    static let clipNames = ["assets/videos/tears_320x240.mp4", "assets/videos/bigbuckbunny_720p.mp4"]

    /// Each clip as a path relative to the working directory when it is there (as the tables
    /// have always named them), else wherever `Resources` finds it (an install, $DECOUPLE_HOME).
    static func defaultClips() -> [String] { clipNames.compactMap(find) }

    /// The bundled sample videos (assets/videos), as the explorer's demo opens them.
    static func defaultVideos() -> [String] {
        guard let dir = find("assets/videos") else { return [] }
        return VideoFiles.collect([dir]).files.map(\.path)
    }

    /// `name` under the working directory, else wherever `Resources` finds it.
    static func find(_ name: String) -> String? {
        FileManager.default.fileExists(atPath: name) ? name : Resources.find(name)
    }
}
