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

    /// One view of an embedded clip.
    public struct View: Codable, Sendable {
        /// "ready", "computing", "failed" or "missing" (cancelled before it).
        public var status: String
        public var norm: Float?
        public var sceneReliance: Float?
        public var error: String?
    }

    public struct Clip: Codable, Sendable {
        public var label: String
        public var video: String
        public var start: Int
        public var last: Int
        /// In the active view (`norm`, `cosine`) or the first view that measures it.
        public var norm: Float?
        public var sceneReliance: Float?
        public var cosine: Float?
        /// Embedded clips only: every view of the model.
        public var views: [String: View]?
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
    /// The model's views in the order they are computed, and the one `v` selected.
    public var views: [String]
    public var activeView: String?
    /// Neighbours of the focused clip in the active view, and in every view.
    public var neighbours: [Clip]
    public var neighboursByView: [String: [Clip]]
    /// Whether the focused clip's top matches by scene and by motion agree.
    public var verdict: String?
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
        func clip(
            _ c: ClipRef, norm: Float? = nil, reliance: Float? = nil, cosine: Float? = nil, views: [String: View]? = nil
        ) -> Clip {
            Clip(
                label: s.label(c), video: s.videos[c.video].path, start: c.start, last: c.last, norm: norm,
                sceneReliance: reliance, cosine: cosine, views: views)
        }
        let active = s.activeViewName ?? ""
        marked = s.marked.map { clip($0) }
        embedded = s.embedded.map { e in
            var views: [String: View] = [:]
            for v in s.views {
                let status: String
                switch s.status(of: e, in: v) {
                case .ready: status = "ready"
                case .computing: status = "computing"
                case .failed: status = "failed"
                case .missing: status = "missing"
                }
                views[v] = View(status: status, norm: e.norm(v), sceneReliance: e.sceneReliance[v], error: e.errors[v])
            }
            let reliance = s.views.lazy.compactMap { e.sceneReliance[$0] }.first
            return clip(e.clip, norm: e.norm(active), reliance: reliance, views: views)
        }
        self.views = s.views
        activeView = s.activeViewName
        func nearest(_ view: String) -> [Clip] {
            s.focusedClip.map { q in
                s.neighbours(of: q, in: view, count: 5).map {
                    clip($0.clip.clip, norm: $0.clip.norm(view), cosine: $0.cosine)
                }
            } ?? []
        }
        neighbours = nearest(active)
        neighboursByView = Dictionary(uniqueKeysWithValues: s.views.map { ($0, nearest($0)) })
        verdict = s.focusedClip.flatMap { s.sceneMotionVerdict(of: $0) }.map {
            s.verdictLines($0, width: .max).joined(separator: " ")
        }
        model = s.modelDescription
    }
}
