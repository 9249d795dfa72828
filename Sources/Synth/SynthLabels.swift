/// The labels file of a synthetic set, in the format `eval retrieval` reads:
/// `path,class,split` with paths relative to the file's directory.
public enum SynthLabels {
    public static let header = "path,class,split"

    public static func csv(_ videos: [SynthVideo]) -> String {
        csv(rows: videos.map { ($0.relativePath, $0.label.rawValue, $0.split.rawValue) })
    }

    /// Rows of (path, class, split); the camera-move set writes the same file.
    public static func csv(rows: [(path: String, label: String, split: String)]) -> String {
        ([header] + rows.map { "\($0.path),\($0.label),\($0.split)" }).joined(separator: "\n") + "\n"
    }
}

/// What `synth.json` records about each video: enough to see what was drawn where.
public struct SynthRecord: Codable, Sendable {
    public var path: String
    public var label: String
    public var split: String
    public var background: String
    public var crop: [Double]
    public var actorShape: String
    public var actorTexture: String
    public var actorRadius: [Double]
    public var motion: Motion

    public init(_ v: SynthVideo) {
        path = v.relativePath
        label = v.label.rawValue
        split = v.split.rawValue
        background = v.scene.backdrop.photoName
        crop = [v.scene.backdrop.x, v.scene.backdrop.y, v.scene.backdrop.width, v.scene.backdrop.height].map {
            ($0 * 10).rounded() / 10
        }
        actorShape = v.scene.actor.shape.rawValue
        actorTexture = v.scene.actor.textureName
        actorRadius = [v.scene.actor.radiusX, v.scene.actor.radiusY].map { ($0 * 10).rounded() / 10 }
        motion = v.scene.motion
    }
}
