import Foundation

/// A video named on the command line or found in a folder.
public struct VideoFile: Equatable, Sendable {
    /// The path as found (the argument, or the folder argument joined with the path below it).
    public var path: String
    /// Row id stem: the file name without extension for a file argument, the path below the
    /// folder without extension for a file found in a folder.
    public var id: String
    /// What `--shard` hashes: the path below the folder, or the file argument as given.
    public var shardKey: String

    public init(path: String, id: String, shardKey: String) {
        self.path = path
        self.id = id
        self.shardKey = shardKey
    }
}

/// The one way the tools find videos: files as named, folders searched recursively for files
/// with a video extension (hidden entries skipped, sorted by path below the folder).
public enum VideoFiles {
    /// Extensions of the containers and raw streams FFmpeg reads that can hold H.264 or MPEG-4.
    public static let extensions: Set<String> = [
        "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "m2ts", "3gp", "flv", "wmv", "ogv", "h264",
        "264",
    ]

    /// What `collect` found.
    public struct Found: Equatable, Sendable {
        public var files: [VideoFile] = []
        /// Arguments that do not exist.
        public var missing: [String] = []
        /// Folder arguments holding no video file.
        public var emptyFolders: [String] = []
    }

    /// Expands `arguments` in order.
    public static func collect(_ arguments: [String]) -> Found {
        var found = Found()
        let fm = FileManager.default
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                found.missing.append(argument)
                continue
            }
            guard isDirectory.boolValue else {
                let name = ((argument as NSString).lastPathComponent as NSString).deletingPathExtension
                found.files.append(VideoFile(path: argument, id: name, shardKey: argument))
                continue
            }
            var below: [String] = []
            if let walker = fm.enumerator(atPath: argument) {
                while let relative = walker.nextObject() as? String {
                    let name = (relative as NSString).lastPathComponent
                    if name.hasPrefix(".") {
                        walker.skipDescendants()
                        continue
                    }
                    if extensions.contains((name as NSString).pathExtension.lowercased()) { below.append(relative) }
                }
            }
            let before = found.files.count
            for relative in below.sorted() {
                let path = (argument as NSString).appendingPathComponent(relative)
                var sub: ObjCBool = false
                guard fm.fileExists(atPath: path, isDirectory: &sub), !sub.boolValue else { continue }
                found.files.append(
                    VideoFile(path: path, id: (relative as NSString).deletingPathExtension, shardKey: relative))
            }
            if found.files.count == before { found.emptyFolders.append(argument) }
        }
        return found
    }
}
