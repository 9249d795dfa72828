import Foundation
import VideoData

extension Extraction {
    /// Where each video's output goes: `output` itself for one video; `output/<name>` for
    /// several, the name made unique with `_2`, `_3`, ... on repeats.
    public static func outputDirectories(videos: [String], output: String) -> [(path: String, output: String)] {
        guard videos.count > 1 else { return videos.map { ($0, output) } }
        var used: [String: Int] = [:]
        return videos.map { v in
            let base = ((v as NSString).lastPathComponent as NSString).deletingPathExtension
            let n = used[base, default: 0]
            used[base] = n + 1
            return (v, output + "/" + (n == 0 ? base : "\(base)_\(n + 1)"))
        }
    }

    /// Frames `range` selects in each video, summed, from the packet counts (no decoding);
    /// unreadable videos count 0.
    public static func frameCount(_ paths: [String], range: FrameRange) -> Int {
        paths.reduce(0) { sum, p in
            guard let r = try? VideoReader(path: p, options: ReaderOptions(motionVectors: false)) else { return sum }
            return sum + range.clamped(to: r.info.frameCount).count
        }
    }
}
