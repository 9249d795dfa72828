import Common
import Foundation
import Index
import Models
import VideoData

/// The model, preprocessing and clips a store was made with, rebuilt from its manifest so a
/// query video is embedded exactly as the store's videos were.
public struct StoreModel {
    public let embedder: VideoEmbedder
    public let selection: ClipSelection
    public let description: String
    let openClips: (String, RGBConversion) throws -> ClipSource
    let rgb: RGBConversion

    /// - Parameters:
    ///   - weights: a weights file to use instead of the one the manifest names (it must have
    ///     the same SHA-256).
    ///   - openClips: opens a query video's frames (the CLI passes MediaIO's clip source).
    /// - Throws: `StoreError` (one sentence) when the weights are missing or differ.
    public init(
        manifest: EmbeddingManifest, store: String, weights: String?, prefix: String?, jobs: Int,
        openClips: @escaping (String, RGBConversion) throws -> ClipSource
    ) throws {
        self.openClips = openClips
        rgb = manifest.rgbConversion
        // "view=NAME" records the embedding view; the rest are model overrides.
        var parts = manifest.config.split(separator: " ").map(String.init)
        let viewName = parts.first { $0.hasPrefix("view=") }.map { String($0.dropFirst(5)) } ?? "pooled"
        parts.removeAll { $0.hasPrefix("view=") }
        let config: BackboneConfig
        do {
            config = try BackboneConfig(modelID: parts.first ?? manifest.model).applying(
                overrides: parts.dropFirst().joined(separator: " "))
        } catch {
            throw StoreError(
                "'\(store)' was made with the configuration \"\(manifest.config)\", which cannot be rebuilt (\(error))."
            )
        }
        let choice: ModelWeights.Choice
        if manifest.weights.random && weights == nil {
            choice = .random(seed: manifest.weights.seed ?? 0)
        } else if let file = weights ?? manifest.weights.file {
            choice = .file(file, prefix: prefix)
        } else {
            throw StoreError("'\(store)' does not name its weights file; give the weights file it was made with.")
        }
        let backbone: Backbone
        let provenance: EmbeddingManifest.Weights
        do { (backbone, provenance) = try ModelWeights.load(config: config, choice) } catch {
            throw StoreError("\(error)")
        }
        guard provenance.sameWeights(as: manifest.weights) else {
            throw StoreError(
                "'\(provenance.file ?? "the weights")' are not the weights '\(store)' was made with (\(provenance.label), the store has \(manifest.weights.label))."
            )
        }
        let view: EmbeddingView
        do {
            view = try EmbeddingView.named(viewName, weights: choice.file, model: backbone)
        } catch {
            throw StoreError("'\(store)' was made with the \(viewName) view, which cannot be rebuilt (\(error)).")
        }
        embedder = VideoEmbedder(
            model: backbone, preprocessing: manifest.preprocessing, forwardWorkers: jobs, view: view)
        let s = manifest.sampling
        selection = ClipSelection(
            rule: s.rule == "sliding" ? .sliding(hop: s.hop) : .modelScope(clips: s.clips ?? 10), frames: s.frames,
            stride: s.stride, perClip: false)
        description = "\(config.description), \(manifest.weights.label)"
    }

    /// One vector for a video: the mean over its clips (the store's sampling).
    public func embed(_ path: String) throws -> [Float] {
        let source = try openClips(path, rgb)
        let windows = selection.windows(frameCount: source.frameCount)
        return VideoEmbedder.meanOverClips(try embedder.embed(windows, from: source))
    }
}
