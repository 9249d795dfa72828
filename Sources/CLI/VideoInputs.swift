import ArgumentParser
import Common
import Embed
import MediaIO

/// The videos a command was given, for the commands that default to the bundled samples.
enum VideoInputs {
    /// The videos to open: `VideoFiles` over the inputs, or the bundled samples when none are
    /// given. Missing files are kept: the explorer reports them in its status bar.
    static func paths(_ inputs: [String]) throws -> [String] {
        if inputs.isEmpty {
            guard let samples = Resources.find("assets/videos") else {
                Console.error(
                    "no videos given and the bundled samples (assets/videos) were not found; pass video files or directories, or set \(Resources.homeVariable)."
                )
                throw ExitCode(1)
            }
            return try paths([samples])
        }
        return try inputs.flatMap { input in
            let found = VideoFiles.collect([input])
            if let empty = found.emptyFolders.first {
                Console.error(
                    "'\(empty)' holds no video files (looked for \(VideoFiles.extensions.sorted().joined(separator: ", ")))."
                )
                throw ExitCode(1)
            }
            return found.missing + found.files.map(\.path)
        }
    }
}

extension VideoOpeners {
    /// MediaIO's sources: decoded RGB clips for the video view, the compressed stream for the
    /// scene and motion views.
    static let files = VideoOpeners(
        clips: { try VideoClipSource(path: $0, rgb: $1) }, stream: { try MotionVideoSource(path: $0, rgb: $1) })
}
