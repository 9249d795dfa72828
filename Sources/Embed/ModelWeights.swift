import Foundation
import Models
import SafeTensors

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
                description: "No weights for \(config.modelID): pass --weights FILE (.safetensors, or a torch.save .pt) or --random-weights --seed N for an untrained model (\(name) does not exist).")
        }
    }

    /// True when `path` starts like a zip archive (what `torch.save` writes).
    static func isTorchCheckpoint(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4)) ?? Data()
        return head.elementsEqual([0x50, 0x4B, 0x03, 0x04]) || (head.count >= 2 && head.prefix(2).elementsEqual([0x80, 0x02]))
    }
}
