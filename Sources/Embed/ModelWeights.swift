import Common
import Foundation
import Models
import SafeTensors
import VideoData

/// Where a backbone's weights come from, and the loaded backbone with its provenance for a
/// store's manifest.
public enum ModelWeights {
    /// What to load.
    public enum Choice: Sendable, Equatable {
        /// A safetensors file, or a PyTorch checkpoint written by `torch.save` (read directly).
        case file(String, prefix: String?)
        /// Random initialisation from a seed (`Backbone.randomStateDict`): clearly not trained.
        case random(seed: UInt64)
        /// `weights/<model id>.safetensors` in one of `directories`, the first that exists.
        case defaultFile(directories: [String])

        /// The file the user named, where the views file sits beside it.
        public var file: String? {
            if case .file(let path, _) = self { return path }
            return nil
        }
    }

    /// No weights were given and there is no default file.
    public struct MissingWeights: Error, CustomStringConvertible {
        public var description: String
    }

    /// Builds the backbone. Errors are one sentence each: `MissingWeights`, `SafeTensorsError`,
    /// `TorchCheckpointError`, `CheckpointError` (every missing, unexpected and mis-shaped key).
    public static func load(config: BackboneConfig, _ choice: Choice) throws -> (Backbone, EmbeddingManifest.Weights) {
        switch choice {
        case .random(let seed):
            return (try Backbone(config: config, seed: seed), .init(file: nil, sha256: nil, random: true, seed: seed))
        case .file(let path, let prefix):
            let backbone: Backbone
            if isTorchCheckpoint(path) {
                let checkpoint = try TorchCheckpoint(path: path, prefix: prefix)
                backbone = try Backbone(config: config, tensors: checkpoint.tensors, source: path)
            } else {
                backbone = try Backbone(config: config, weightsAt: path, prefix: prefix ?? "")
            }
            let hash = try? SHA256.hexDigest(ofFile: path)
            return (backbone, .init(file: path, sha256: hash, random: false, seed: nil))
        case .defaultFile(let directories):
            let name = "weights/\(config.modelID).safetensors"
            for d in directories {
                let p = (d as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: p) { return try load(config: config, .file(p, prefix: nil)) }
            }
            throw MissingWeights(
                description:
                    "No weights for \(config.modelID): \(name) is in none of \(directories.joined(separator: ", "))")
        }
    }

    /// What a command runs when the user names a model: the configuration, the weights to load
    /// and the embedding view.
    public struct Resolved: Sendable {
        public var config: BackboneConfig
        public var choice: Choice
        /// The view to embed with when the user names none: the shipped weights' evaluated
        /// view, else `pooled`.
        public var view: String
        /// How frames become RGB for these weights (`conversion(forWeights:)`).
        public var rgb: RGBConversion

        public init(config: BackboneConfig, choice: Choice, view: String, rgb: RGBConversion) {
            self.config = config
            self.choice = choice
            self.view = view
            self.rgb = rgb
        }
    }

    /// How frames must be converted to RGB for a weights file: as its model card (`FILE.json`,
    /// written by `decouple export`) says, `accurate` for a card from before that was
    /// recorded (our pretraining used it), and `modelscope` for weights without a card (the
    /// converted ModelScope checkpoint, or anyone else's).
    public static func conversion(forWeights path: String) -> RGBConversion {
        guard let data = FileManager.default.contents(atPath: ModelCardFile.path(for: path)),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            object["setup"] != nil
        else { return .modelscope }
        return (object["rgb"] as? String).flatMap(RGBConversion.init(rawValue:)) ?? .accurate
    }

    /// The one weights policy of the tools, first match wins:
    /// 1. a file the user gives (made absolute, so a store's manifest names it from anywhere);
    /// 2. random weights from `randomSeed` (an untrained model, labelled as such);
    /// 3. the shipped default weights (`weights/default.json`), with the configuration and
    ///    view they were evaluated with, when the user asked for that model without overrides;
    /// 4. `weights/<model>.safetensors` in `Resources.searchDirectories` (e.g. the converted
    ///    ModelScope checkpoint), which `load` reports as missing when it is not there.
    /// The RGB conversion follows the weights (`conversion(forWeights:)`; random weights take
    /// ModelScope's) unless `rgb` says otherwise.
    public static func resolve(
        model: String, config overrides: String, weights: String?, prefix: String?, randomSeed: UInt64?,
        rgb: RGBConversion? = nil
    ) throws -> Resolved {
        let config = try BackboneConfig(modelID: model).applying(overrides: overrides)
        if let weights {
            let path = URL(fileURLWithPath: weights).standardizedFileURL.path
            return Resolved(
                config: config, choice: .file(path, prefix: prefix), view: "pooled",
                rgb: rgb ?? conversion(forWeights: path))
        }
        if let randomSeed {
            return Resolved(config: config, choice: .random(seed: randomSeed), view: "pooled", rgb: rgb ?? .modelscope)
        }
        if let (card, path) = DefaultModel.shipped(model: model, config: overrides) {
            return Resolved(
                config: try card.backboneConfig(), choice: .file(path, prefix: nil), view: card.view,
                rgb: rgb ?? card.rgb ?? .accurate)
        }
        let directories = Resources.searchDirectories
        let own = directories.map { ($0 as NSString).appendingPathComponent("weights/\(config.modelID).safetensors") }
            .first { FileManager.default.fileExists(atPath: $0) }
        return Resolved(
            config: config, choice: .defaultFile(directories: directories), view: "pooled",
            rgb: rgb ?? own.map(conversion(forWeights:)) ?? .modelscope)
    }

    /// True when `path` starts like a zip archive (what `torch.save` writes).
    static func isTorchCheckpoint(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4)) ?? Data()
        return head.elementsEqual([0x50, 0x4B, 0x03, 0x04])
            || (head.count >= 2 && head.prefix(2).elementsEqual([0x80, 0x02]))
    }
}
