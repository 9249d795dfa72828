import Foundation

/// One row of an embedding store (one line of `items.jsonl`): which video, which frames,
/// which model, and which file content the row was computed from.
public struct EmbeddingItem: Codable, Sendable, Equatable {
    /// Unique within the store. `decouple embed` uses the file name without extension for a
    /// file named on the command line, the path below the folder without extension for a file
    /// found in a folder, and `name@start` for a clip row; repeats get `_2`, `_3`...
    public var id: String
    /// The video file (`decouple embed` writes absolute paths).
    public var path: String
    /// Frames covered, end exclusive (for a whole-video row: from the first clip's start to the
    /// last clip's end).
    public var startFrame: Int
    public var endFrame: Int
    /// The same range in seconds (frame index / fps).
    public var startSeconds: Double
    public var endSeconds: Double
    /// Model id (`r2p1d-26`, ...).
    public var model: String
    /// Clips averaged into this row (1 for a clip row).
    public var clips: Int
    /// Size of the video file in bytes (absent in stores written before resumable embedding).
    public var fileSize: Int?
    /// SHA-256 of the video file's bytes, lowercase hex: what a rerun compares to skip work.
    public var fileSHA256: String?

    public init(
        id: String, path: String, startFrame: Int, endFrame: Int, startSeconds: Double, endSeconds: Double,
        model: String,
        clips: Int, fileSize: Int? = nil, fileSHA256: String? = nil
    ) {
        self.id = id
        self.path = path
        self.startFrame = startFrame
        self.endFrame = endFrame
        self.startSeconds = startSeconds
        self.endSeconds = endSeconds
        self.model = model
        self.clips = clips
        self.fileSize = fileSize
        self.fileSHA256 = fileSHA256
    }

    enum CodingKeys: String, CodingKey {
        case id, path, model, clips
        case startFrame = "start_frame"
        case endFrame = "end_frame"
        case startSeconds = "start_seconds"
        case endSeconds = "end_seconds"
        case fileSize = "file_size"
        case fileSHA256 = "file_sha256"
    }

    /// The id of the video this row belongs to: the id up to `@` for a clip row.
    public var videoID: String {
        guard let at = id.lastIndex(of: "@"), Int(id[id.index(after: at)...]) != nil else { return id }
        return String(id[..<at])
    }
}
