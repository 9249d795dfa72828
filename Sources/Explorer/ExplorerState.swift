import Common
import VideoData

/// The panes Tab moves between.
public enum Pane: String, CaseIterable, Sendable, Codable {
    case video, clips, embeddings
}

/// A clip window of one loaded video: `length` frames every `stride` frames from `start`.
public struct ClipRef: Hashable, Sendable, Codable {
    public var video: Int
    public var start: Int
    public var length: Int
    public var stride: Int

    public init(video: Int, start: Int, length: Int, stride: Int) {
        self.video = video
        self.start = start
        self.length = length
        self.stride = stride
    }

    /// The last frame the window covers.
    public var last: Int { start + (length - 1) * stride }
    /// Display indices of its frames.
    public var frames: [Int] { (0..<length).map { start + $0 * stride } }
    public func covers(_ frame: Int) -> Bool { frame >= start && frame <= last }
}

/// What the background scan learned about one frame (for the timeline and statistics).
public struct FrameMark: Equatable, Sendable, Codable {
    public var type: PictureType
    public var key: Bool
    /// Share of the frame covered by vectors, and the intra share of inter frames.
    public var coverage: Float
    public var meanLength: Float

    public init(type: PictureType, key: Bool, coverage: Float, meanLength: Float) {
        self.type = type
        self.key = key
        self.coverage = coverage
        self.meanLength = meanLength
    }
}

/// One loaded video.
public struct VideoEntry: Sendable {
    public var path: String
    public var info: VideoInfo?
    /// Why the video cannot be shown (unreadable, no video stream...).
    public var error: String?
    /// Per display index, filled in by the background scan.
    public var marks: [FrameMark] = []
    public var scanDone = false
    /// Where the cursor was when the user left this video.
    public var cursor = 0

    public init(path: String) { self.path = path }

    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }
    public var frameCount: Int { info?.frameCount ?? 0 }
    public var usable: Bool { info != nil && error == nil }
}

/// An embedded clip and what the explorer shows about it.
public struct EmbeddedClip: Sendable {
    public var clip: ClipRef
    public var vector: [Float]
    /// Cosine between the clip's embedding and that of its own keyframe repeated as a still
    /// clip: near 1 means the embedding sees the scene, not the motion.
    public var sceneReliance: Float?

    public init(clip: ClipRef, vector: [Float], sceneReliance: Float?) {
        self.clip = clip
        self.vector = vector
        self.sceneReliance = sceneReliance
    }

    public var norm: Float { vector.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}

/// A running embedding job, as the status bar shows it.
public struct EmbedJob: Sendable, Equatable {
    public var total: Int
    public var done = 0
    public var cancelling = false
    public var startedAt: Double

    public init(total: Int, startedAt: Double) {
        self.total = total
        self.startedAt = startedAt
    }
}

/// A one-line prompt that takes the keyboard.
public enum Prompt: Equatable, Sendable {
    /// `/`: type part of a video name, Enter jumps to the first match.
    case find(String)
    /// `q` while work is running.
    case confirmQuit
}

/// Everything the explorer shows, as plain data. `reduce` changes it; `Renderer` draws it.
public struct ExplorerState: Sendable {
    public var width: Int
    public var height: Int
    /// What the terminal supports (detected once) and what is shown now (`t` cycles).
    public var maxCaps: Capabilities
    public var caps: Capabilities
    public var videos: [VideoEntry]
    public var current = 0
    public var cursor = 0
    public var focus = Pane.video
    public var clipLength = 16
    public var clipStride = 4
    public var marked: [ClipRef] = []
    /// Show the keyframe (I-frame at or before the cursor) instead of the current frame.
    public var showKeyframe = false
    /// Pixels of motion shown at full strength; nil = per-frame automatic.
    public var vectorScale: Float?
    public var lists = ReferenceLists.both
    public var help = false
    public var prompt: Prompt?
    public var status: String?
    public var statusIsError = false
    public var embedded: [EmbeddedClip] = []
    public var job: EmbedJob?
    /// Row selected in the embeddings pane (index into `embedded`).
    public var focusedEmbedding: Int?
    /// Row selected in the clips pane (index into `videos`).
    public var clipsRow = 0
    /// Describes the model the `e` key uses ("r2p1d compact, random weights").
    public var modelDescription: String
    public var quit = false

    public init(width: Int, height: Int, caps: Capabilities, paths: [String], modelDescription: String) {
        self.width = width
        self.height = height
        maxCaps = caps
        self.caps = caps
        videos = paths.map(VideoEntry.init)
        self.modelDescription = modelDescription
    }

    public static let minimumWidth = 80
    public static let minimumHeight = 24
    public var tooSmall: Bool { width < Self.minimumWidth || height < Self.minimumHeight }

    public var video: VideoEntry? { videos.indices.contains(current) ? videos[current] : nil }

    /// The clip window Space would mark: it starts at the cursor.
    public var windowAtCursor: ClipRef {
        ClipRef(video: current, start: cursor, length: clipLength, stride: clipStride)
    }

    /// The embedded clip the embeddings pane is about: the selected row, else the newest.
    public var focusedClip: EmbeddedClip? {
        if let i = focusedEmbedding, embedded.indices.contains(i) { return embedded[i] }
        return embedded.last
    }

    /// Nearest neighbours of `clip` among all other embedded clips, by cosine similarity.
    public func neighbours(of clip: EmbeddedClip, count: Int) -> [(clip: EmbeddedClip, cosine: Float)] {
        embedded.filter { $0.clip != clip.clip }
            .map { ($0, cosine($0.vector, clip.vector)) }
            .sorted { $0.1 > $1.1 }
            .prefix(count).map { $0 }
    }
}
