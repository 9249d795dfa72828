import VideoData

/// The explorer's state as JSON for scripts (`explore --batch --json`).
public struct StateSnapshot: Codable, Sendable {
    public struct Frame: Codable, Sendable {
        public var index: Int
        public var type: String
        public var key: Bool
        public var time: Double
        public var vectors: Int
        public var coverage: Double
        public var intraShare: Double
        public var meanLength: Double
    }

    public struct Clip: Codable, Sendable {
        public var label: String
        public var video: String
        public var start: Int
        public var last: Int
        public var norm: Float?
        public var sceneReliance: Float?
        public var cosine: Float?
    }

    public var width: Int
    public var height: Int
    public var tier: String
    public var video: String?
    public var videos: [String]
    public var errors: [String: String]
    public var frameCount: Int?
    public var cursor: Int
    public var frame: Frame?
    public var focus: String
    public var help: Bool
    public var status: String?
    public var marked: [Clip]
    public var embedded: [Clip]
    public var neighbours: [Clip]
    public var model: String

    public init(_ s: ExplorerState, frame view: FrameView?) {
        width = s.width
        height = s.height
        tier = s.caps.tier.rawValue
        video = s.video?.path
        videos = s.videos.map(\.path)
        errors = Dictionary(uniqueKeysWithValues: s.videos.compactMap { v in v.error.map { (v.path, $0) } })
        frameCount = s.video?.info?.frameCount
        cursor = s.cursor
        frame = view.map {
            Frame(
                index: $0.info.index, type: $0.info.pictureType.rawValue, key: $0.info.isKey, time: $0.info.time,
                vectors: $0.vectors.count, coverage: $0.summary.coverage, intraShare: $0.summary.intraShare,
                meanLength: $0.summary.meanLength)
        }
        focus = s.focus.rawValue
        help = s.help
        status = s.status
        func clip(_ c: ClipRef, norm: Float? = nil, reliance: Float? = nil, cosine: Float? = nil) -> Clip {
            Clip(
                label: s.label(c), video: s.videos[c.video].path, start: c.start, last: c.last, norm: norm,
                sceneReliance: reliance, cosine: cosine)
        }
        marked = s.marked.map { clip($0) }
        embedded = s.embedded.map { clip($0.clip, norm: $0.norm, reliance: $0.sceneReliance) }
        neighbours =
            s.focusedClip.map { q in
                s.neighbours(of: q, count: 5).map { clip($0.clip.clip, norm: $0.clip.norm, cosine: $0.cosine) }
            } ?? []
        model = s.modelDescription
    }
}
