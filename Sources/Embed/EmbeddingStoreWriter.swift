import Foundation
import VideoData

/// One row of an embedding store: which video, which frames, which model.
public struct EmbeddingItem: Codable, Sendable, Equatable {
    /// Unique within the store: the video's file name without extension for a whole-video row,
    /// `name@start` for a clip row (names made unique with `_2`, `_3`... across videos).
    public var id: String
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

    public init(id: String, path: String, startFrame: Int, endFrame: Int, startSeconds: Double, endSeconds: Double, model: String, clips: Int) {
        self.id = id
        self.path = path
        self.startFrame = startFrame
        self.endFrame = endFrame
        self.startSeconds = startSeconds
        self.endSeconds = endSeconds
        self.model = model
        self.clips = clips
    }

    enum CodingKeys: String, CodingKey {
        case id, path, model, clips
        case startFrame = "start_frame", endFrame = "end_frame"
        case startSeconds = "start_seconds", endSeconds = "end_seconds"
    }
}

/// What produced a store: written as `manifest.json`.
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
    /// The resize filter, spelled out.
    public var resize: String
    public var sampling: Sampling
    public var dimension: Int
    public var count: Int
    /// ISO 8601, UTC.
    public var created: String
    public var tool: String

    public init(model: String, config: String, weights: Weights, preprocessing: Preprocessing, sampling: Sampling, dimension: Int, count: Int, created: Date = Date()) {
        self.model = model
        self.config = config
        self.weights = weights
        self.preprocessing = preprocessing
        resize = "Pillow Image.resize BILINEAR (antialiased, fixed point), reproduced exactly"
        self.sampling = sampling
        self.dimension = dimension
        self.count = count
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        self.created = f.string(from: created)
        tool = "decouple embed"
    }
}

/// Writes the store directory of DESIGN.md §5: `embeddings.npy` (float32 [N, D], row i is
/// line i of `items.jsonl`), `items.jsonl`, `manifest.json`. The directory is assembled under
/// a temporary name beside `directory` and renamed into place, so a failure never leaves a
/// half-written store.
public enum EmbeddingStoreWriter {
    /// A store that cannot be written; `description` is one sentence naming the directory.
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes the store. `replace` allows an existing directory to be replaced.
    public static func write(
        to directory: String, vectors: [[Float]], items: [EmbeddingItem], manifest: EmbeddingManifest, replace: Bool = false
    ) throws {
        precondition(vectors.count == items.count, "one item per vector")
        let d = manifest.dimension
        precondition(vectors.allSatisfy { $0.count == d }, "vectors of the manifest's dimension")
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        if fm.fileExists(atPath: target.path) && !replace {
            throw WriteError(description: "'\(directory)' already exists; pass --force to replace it.")
        }
        let parent = target.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(target.lastPathComponent).\(getpid()).partial")
        do {
            try? fm.removeItem(at: temporary)
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            var npy = Data(NPY.header(dtype: .float32, shape: [vectors.count, d]))
            for v in vectors { v.withUnsafeBufferPointer { npy.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) } }
            try npy.write(to: temporary.appendingPathComponent("embeddings.npy"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var lines = Data()
            for item in items {
                lines.append(try encoder.encode(item))
                lines.append(0x0A)
            }
            try lines.write(to: temporary.appendingPathComponent("items.jsonl"))
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            var json = try encoder.encode(manifest)
            json.append(0x0A)
            try json.write(to: temporary.appendingPathComponent("manifest.json"))
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            try fm.moveItem(at: temporary, to: target)
        } catch let error as WriteError {
            throw error
        } catch {
            try? fm.removeItem(at: temporary)
            throw WriteError(description: "'\(directory)' could not be written (\((error as NSError).localizedDescription)).")
        }
    }
}
