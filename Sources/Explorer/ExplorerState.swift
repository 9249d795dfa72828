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

/// A clip the `e` key embedded, in every view computed for it so far.
public struct EmbeddedClip: Sendable {
    public var clip: ClipRef
    /// The clip's vector per view ("scene", "motion", "video"); a view missing here and from
    /// `errors` is still computing, or was cancelled.
    public var vectors: [String: [Float]]
    /// Per view, the cosine between the clip's embedding and that of its own keyframe repeated
    /// as a still clip: near 1 means the embedding sees the scene, not the motion. Only the
    /// video view measures it (and not its residual variants).
    public var sceneReliance: [String: Float]
    /// Why a view could not be computed for this clip, in one sentence.
    public var errors: [String: String]

    public init(
        clip: ClipRef, vectors: [String: [Float]] = [:], sceneReliance: [String: Float] = [:],
        errors: [String: String] = [:]
    ) {
        self.clip = clip
        self.vectors = vectors
        self.sceneReliance = sceneReliance
        self.errors = errors
    }

    public func norm(_ view: String) -> Float? { vectors[view].map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() } }
}

/// What one view of a clip shows: its vector, its error, or that it is still being computed.
public enum ViewStatus: Equatable, Sendable {
    case computing
    case failed(String)
    /// Not computed and nothing is running: the job was cancelled before this view.
    case missing
    case ready
}

/// A running embedding job, as the status bar shows it.
public struct EmbedJob: Sendable, Equatable {
    public var total: Int
    public var done = 0
    public var cancelling = false
    public var startedAt: Double
    /// The view being computed now (the status bar names it).
    public var view: String?
    /// Views computed and views failed in this job ("motion: …"), for the closing message.
    public var succeeded = 0
    public var failures: [String] = []

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
    /// Draw the motion-vector field over the frame picture (`o`): arrows over its cells in text
    /// modes, drawn into the image in pixel modes; the grid beside it stays.
    public var motionOverlay = false
    /// Playing (`p`): the clock's anchor, the frame in flight, what was shown and dropped.
    public var playback: Playback?
    /// Index into `ExplorerState.speeds` (`(` and `)`); kept across pauses, as mpv does.
    public var speedIndex = 2
    /// A terminal cell's size in pixels: pixel-mode pictures are made at the pane's real size.
    public var cellPixels = CellPixels.fallback
    public var help = false
    public var prompt: Prompt?
    public var status: String?
    public var statusIsError = false
    public var embedded: [EmbeddedClip] = []
    public var job: EmbedJob?
    /// The views the model computes, in order (cheapest first), and the one the narrow
    /// embeddings pane, the norms and `--json`'s neighbours show (`v` cycles).
    public var views: [String]
    public var activeView = 0
    /// Row selected in the embeddings pane (index into `embedded`).
    public var focusedEmbedding: Int?
    /// Row selected in the clips pane (index into `videos`).
    public var clipsRow = 0
    /// Describes the model the `e` key uses ("r2p1d compact, random weights").
    public var modelDescription: String
    public var quit = false

    public init(
        width: Int, height: Int, caps: Capabilities, paths: [String], modelDescription: String, views: [String] = []
    ) {
        self.views = views
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

    /// The view `v` selected, nil without a model.
    public var activeViewName: String? { views.indices.contains(activeView) ? views[activeView] : nil }

    /// Where `view` of `clip` stands.
    public func status(of clip: EmbeddedClip, in view: String) -> ViewStatus {
        if clip.vectors[view] != nil { return .ready }
        if let e = clip.errors[view] { return .failed(e) }
        return job != nil ? .computing : .missing
    }

    /// Nearest neighbours of `clip` in `view` among all other embedded clips that have that
    /// view, by cosine similarity.
    public func neighbours(of clip: EmbeddedClip, in view: String, count: Int) -> [(clip: EmbeddedClip, cosine: Float)]
    {
        guard let q = clip.vectors[view] else { return [] }
        return embedded.filter { $0.clip != clip.clip }
            .compactMap { e in e.vectors[view].flatMap { $0.count == q.count ? (e, cosine($0, q)) : nil } }
            .sorted { $0.1 > $1.1 }
            .prefix(count).map { $0 }
    }

    /// The point of decoupling: the clip's top match by motion and by scene. Nil unless both
    /// views exist and have a match.
    public func sceneMotionVerdict(of clip: EmbeddedClip) -> SceneMotionVerdict? {
        guard views.contains("scene"), views.contains("motion"),
            let m = neighbours(of: clip, in: "motion", count: 1).first,
            let c = neighbours(of: clip, in: "scene", count: 1).first
        else { return nil }
        return SceneMotionVerdict(motionMatch: m.clip.clip, sceneMatch: c.clip.clip)
    }

    /// The verdict in lines of at most `width`: one sentence when it fits, else the headline
    /// and the matches on a second line, shortened until they fit.
    public func verdictLines(_ v: SceneMotionVerdict, width: Int) -> [String] {
        let head = v.agree ? "scene and motion agree" : "same motion, different scene"
        let candidates: [[String]] =
            v.agree
            ? [["\(head): top match \(label(v.motionMatch))"], [head + ":", "top match \(label(v.motionMatch))"]]
            : [
                ["\(head): motion's top match is \(label(v.motionMatch)), scene's is \(label(v.sceneMatch))"],
                [head + ":", "motion's top match is \(label(v.motionMatch)), scene's is \(label(v.sceneMatch))"],
                [head + ":", "motion: \(label(v.motionMatch)), scene: \(label(v.sceneMatch))"],
            ]
        if let fits = candidates.first(where: { $0.allSatisfy { $0.count <= width } }) { return fits }
        let each = max(4, (width - 17) / 2)
        return v.agree
            ? [head + ":", "top match \(label(v.motionMatch, width: width - 10))"]
            : [head + ":", "motion: \(label(v.motionMatch, width: each)), scene: \(label(v.sceneMatch, width: each))"]
    }
}

/// Whether a clip's nearest neighbour by motion is also its nearest by scene. When they differ,
/// the motion match moves like the clip in another place: what decoupling is for.
public struct SceneMotionVerdict: Equatable, Sendable {
    public var motionMatch: ClipRef
    public var sceneMatch: ClipRef

    public init(motionMatch: ClipRef, sceneMatch: ClipRef) {
        self.motionMatch = motionMatch
        self.sceneMatch = sceneMatch
    }

    public var agree: Bool { motionMatch == sceneMatch }
}
