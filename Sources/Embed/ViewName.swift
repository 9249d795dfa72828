import Models

/// The three views a user compares clips in, as named on the command line, in stores and in
/// the explorer (docs/commands.md, "Views"):
/// - `scene`: the clip's keyframe through CMD's I-frame network: which clips show the same scene;
/// - `motion`: the clip's motion vectors through CMD's motion-vector network: which clips have
///   the same motion, whatever the scene;
/// - `video`: the backbone on the RGB frames (what CMD pretrains and ModelScope exports), in the
///   variant the weights were evaluated with, or `video:VARIANT` for one of `EmbeddingView`'s.
public enum ViewName: Equatable, Hashable, Sendable, CustomStringConvertible {
    case scene
    case motion
    /// nil: the variant the weights' card chose (`pooled` for weights without one).
    case video(String?)

    /// The views in the order they are cheapest to compute.
    public static let all: [ViewName] = [.scene, .motion, .video(nil)]

    /// Names from before the three views, still read in stores and cards: today's video variants
    /// without their prefix (`motion-residual` was renamed `projected-residual`). The bare
    /// `motion` now always means the motion view.
    static let legacy: [String: String] = [
        "pooled": "pooled", "fused": "fused", "residual": "residual", "motion-residual": "projected-residual",
        "predicted": "predicted", "predicted-residual": "predicted-residual",
    ]

    public init(parsing text: String) throws {
        switch text {
        case "scene": self = .scene
        case "motion": self = .motion
        case "video": self = .video(nil)
        default:
            if text.hasPrefix("video:"), case let v = String(text.dropFirst(6)), EmbeddingView.names.contains(v) {
                self = .video(v)
            } else if let v = Self.legacy[text] {
                self = .video(v)
            } else {
                throw ModelError("unknown view \"\(text)\"; use \(Self.names)")
            }
        }
    }

    /// A comma-separated list, e.g. `video,scene,motion`.
    public static func list(_ text: String) throws -> [ViewName] {
        let views = try text.split(separator: ",").map { try ViewName(parsing: String($0)) }
        guard !views.isEmpty else { throw ModelError("no view given; use \(names)") }
        return views
    }

    public var description: String {
        switch self {
        case .scene: return "scene"
        case .motion: return "motion"
        case .video(nil): return "video"
        case .video(let v?): return "video:" + v
        }
    }

    /// `video` made explicit with the weights' variant.
    public func resolved(defaultVariant: String) -> ViewName {
        if case .video(nil) = self { return .video(Self.legacy[defaultVariant] ?? defaultVariant) }
        return self
    }

    /// The variant of a `video` view.
    public var variant: String? {
        if case .video(let v) = self { return v }
        return nil
    }

    /// Every accepted name, for messages.
    public static var names: String {
        "scene, motion, video or video:VARIANT (\(EmbeddingView.names.joined(separator: ", ")))"
    }

    /// What each view is for, for help texts.
    public static var help: String {
        "scene (the clip's keyframe through CMD's I-frame network: same scene), "
            + "motion (the clip's motion vectors through CMD's motion-vector network: same motion, any scene), "
            + "video (the backbone on RGB frames, in the weights' chosen variant), "
            + "or video:VARIANT with VARIANT one of \(EmbeddingView.help)"
    }
}

extension ViewName {
    /// The store folder of this view when `embed --views` writes several (`video-predicted` for
    /// `video:predicted`).
    public var folder: String { description.replacingOccurrences(of: ":", with: "-") }
}
