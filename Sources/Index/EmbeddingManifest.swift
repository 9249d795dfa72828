import Foundation
import VideoData

/// What produced a store: written as `manifest.json`. Every row of a store comes from the same
/// model, weights, preprocessing and sampling; `count` is the number of committed rows.
public struct EmbeddingManifest: Codable, Sendable, Equatable {
    public struct Weights: Codable, Sendable, Equatable {
        /// The weights file, nil for random weights.
        public var file: String?
        /// SHA-256 of the weights file, nil for random weights.
        public var sha256: String?
        /// True when the model was randomly initialised (no trained weights).
        public var random: Bool
        /// The seed of random weights.
        public var seed: UInt64?

        public init(file: String?, sha256: String?, random: Bool, seed: UInt64?) {
            self.file = file
            self.sha256 = sha256
            self.random = random
            self.seed = seed
        }

        /// Equal weights: the same file content, or random with the same seed (the file's
        /// location does not matter).
        public func sameWeights(as other: Weights) -> Bool {
            random == other.random && (random ? seed == other.seed : sha256 == other.sha256)
        }
    }

    /// How clips were taken and turned into tensors.
    public struct Sampling: Codable, Sendable, Equatable {
        /// `modelscope` (linspace-midpoint clips) or `sliding`.
        public var rule: String
        public var clips: Int?
        public var frames: Int
        public var stride: Int
        public var hop: Int?
        /// `mean` (one row per video, the ModelScope output) or `none` (one row per clip).
        public var pooling: String

        public init(rule: String, clips: Int?, frames: Int, stride: Int, hop: Int?, pooling: String) {
            self.rule = rule
            self.clips = clips
            self.frames = frames
            self.stride = stride
            self.hop = hop
            self.pooling = pooling
        }
    }

    public var model: String
    /// The backbone configuration (`r2p1d-26`, or with overrides for narrow models).
    public var config: String
    public var weights: Weights
    public var preprocessing: Preprocessing
    /// How frames were converted to RGB; absent in stores written before it was recorded,
    /// which all used `accurate`.
    public var rgb: RGBConversion?
    /// The resize filter, spelled out.
    public var resize: String
    public var sampling: Sampling
    public var dimension: Int
    /// Committed rows: the first `count` rows of `embeddings.npy` and lines of `items.jsonl`.
    public var count: Int
    /// ISO 8601, UTC.
    public var created: String
    public var tool: String

    public init(
        model: String, config: String, weights: Weights, preprocessing: Preprocessing, sampling: Sampling,
        dimension: Int,
        count: Int, rgb: RGBConversion, created: Date = Date()
    ) {
        self.model = model
        self.config = config
        self.weights = weights
        self.preprocessing = preprocessing
        self.rgb = rgb
        resize = "Pillow Image.resize BILINEAR (antialiased, fixed point), reproduced exactly"
        self.sampling = sampling
        self.dimension = dimension
        self.count = count
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        self.created = f.string(from: created)
        tool = "decouple embed"
    }

    /// Why rows described by `other` cannot join rows described by this manifest, as one
    /// phrase ("model r3d-26, not r2p1d-26"), or nil when they can: same model and config,
    /// same weights, preprocessing, sampling and dimension. `count`, `created` and the weights
    /// file's location do not matter.
    public func mismatch(with other: EmbeddingManifest) -> String? {
        if model != other.model { return "model \(other.model), not \(model)" }
        if config != other.config { return "configuration \"\(other.config)\", not \"\(config)\"" }
        if !weights.sameWeights(as: other.weights) { return "weights \(other.weights.label), not \(weights.label)" }
        if rgbConversion != other.rgbConversion {
            return
                "frames converted to RGB the \(other.rgbConversion.rawValue) way, not the \(rgbConversion.rawValue) way"
        }
        if preprocessing != other.preprocessing {
            return
                "different preprocessing (short side \(other.preprocessing.shortSide), crop \(other.preprocessing.crop))"
        }
        if sampling != other.sampling {
            return "different clip sampling (\(other.sampling.rule), \(other.sampling.pooling) pooling)"
        }
        if dimension != other.dimension { return "dimension \(other.dimension), not \(dimension)" }
        return nil
    }
}

extension EmbeddingManifest {
    /// `rgb`, with stores from before it was recorded read as `accurate`.
    public var rgbConversion: RGBConversion { rgb ?? .accurate }
}

extension EmbeddingManifest.Weights {
    /// `random (seed 3)` or `sha256 1a2b3c4d…`, for messages.
    public var label: String {
        random ? "random (seed \(seed ?? 0))" : "sha256 \((sha256 ?? "unknown").prefix(12))"
    }
}
