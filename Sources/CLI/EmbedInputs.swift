import Common
import Foundation
import Index

/// The videos `decouple embed` was given: files as named, folders searched recursively for
/// video files (by extension, hidden entries skipped, sorted), each with its row id and the
/// key `--shard` hashes.
struct EmbedInput: Equatable {
    /// The path as found (the argument, or the folder argument joined with the path below it).
    var path: String
    /// Row id stem: the file name without extension for a file argument, the path below the
    /// folder without extension for a file found in a folder.
    var id: String
    /// What `--shard` hashes: the path below the folder, or the file argument as given.
    var shardKey: String

    static let videoExtensions: Set<String> = [
        "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "m2ts", "3gp", "flv", "wmv", "ogv", "h264", "264",
    ]

    /// Expands `arguments`; a missing argument is returned in `missing`.
    static func collect(_ arguments: [String]) -> (inputs: [EmbedInput], missing: [String]) {
        var inputs: [EmbedInput] = []
        var missing: [String] = []
        let fm = FileManager.default
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                missing.append(argument)
                continue
            }
            guard isDirectory.boolValue else {
                let name = ((argument as NSString).lastPathComponent as NSString).deletingPathExtension
                inputs.append(EmbedInput(path: argument, id: name, shardKey: argument))
                continue
            }
            var found: [String] = []
            if let walker = fm.enumerator(atPath: argument) {
                while let relative = walker.nextObject() as? String {
                    let name = (relative as NSString).lastPathComponent
                    if name.hasPrefix(".") {
                        walker.skipDescendants()
                        continue
                    }
                    if videoExtensions.contains((name as NSString).pathExtension.lowercased()) { found.append(relative) }
                }
            }
            for relative in found.sorted() {
                let path = (argument as NSString).appendingPathComponent(relative)
                var sub: ObjCBool = false
                guard fm.fileExists(atPath: path, isDirectory: &sub), !sub.boolValue else { continue }
                inputs.append(EmbedInput(path: path, id: (relative as NSString).deletingPathExtension, shardKey: relative))
            }
        }
        return (inputs, missing)
    }
}

/// Counts and rates of a batch embedding run, for the progress line and the summary.
struct EmbedTally {
    var total: Int
    var embedded = 0
    var skipped = 0
    var failed = 0
    var rows = 0
    var clips = 0
    /// Clips of the video being embedded.
    var currentClips = 0
    var clipsPerVideo: Int?
    let start = Date()

    var finished: Int { embedded + skipped + failed }
    var seconds: Double { Date().timeIntervalSince(start) }
    var clipsPerSecond: Double { seconds > 0 ? Double(clips + currentClips) / seconds : 0 }

    /// `embed 12/50 videos [#####---------------] 240/1000 clips  8.1 clips/s  ETA 1:33`
    func line() -> String {
        let perVideo = clipsPerVideo ?? (embedded > 0 ? max(1, clips / embedded) : 10)
        let left = total - finished
        let totalClips = clips + left * perVideo
        return progressLine(label: "embed \(finished)/\(total) videos", done: clips + currentClips, total: max(totalClips, clips + currentClips), elapsed: seconds, unit: "clips")
    }
}
