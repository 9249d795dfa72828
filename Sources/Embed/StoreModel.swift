import Common
import Foundation
import Index
import Models
import VideoData

/// The model, preprocessing and clips a store was made with, rebuilt from its manifest so a
/// query video is embedded exactly as the store's videos were.
public struct StoreModel {
    public let embedder: ViewEmbedder
    public let selection: ClipSelection
    public let description: String
    let openers: VideoOpeners

    /// - Parameters:
    ///   - weights: a weights file to use instead of the one the manifest names (it must have
    ///     the same SHA-256).
    ///   - openers: open a query video's frames or stream (the CLI passes MediaIO's sources).
    /// - Throws: `StoreError` (one sentence) when the weights are missing or differ.
    public init(
        manifest: EmbeddingManifest, store: String, weights: String?, prefix: String?, jobs: Int, openers: VideoOpeners
    ) throws {
        self.openers = openers
        // "view=NAME" records the embedding view; the rest are model overrides.
        let viewName = ViewStores.view(of: manifest)
        let parts = manifest.config.split(separator: " ").map(String.init).filter { !$0.hasPrefix("view=") }
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
        let view: ViewName
        do { view = try ViewName(parsing: viewName) } catch {
            throw StoreError("'\(store)' was made with the \(viewName) view, which this version does not know.")
        }
        let resolved = ModelWeights.Resolved(
            config: config, choice: choice, view: "pooled", rgb: manifest.rgbConversion)
        let provenance: EmbeddingManifest.Weights
        do {
            (embedder, provenance) = try ViewEmbedder.make(
                view, resolved: resolved, preprocessing: manifest.preprocessing, forwardWorkers: jobs)
        } catch let error as ModelError {
            throw StoreError("'\(store)' was made with the \(viewName) view, which cannot be rebuilt (\(error)).")
        } catch {
            throw StoreError("\(error)")
        }
        guard provenance.sameWeights(as: manifest.weights) else {
            throw StoreError(
                "'\(provenance.file ?? "the weights")' are not the weights '\(store)' was made with (\(provenance.label), the store has \(manifest.weights.label))."
            )
        }
        let s = manifest.sampling
        selection = ClipSelection(
            rule: s.rule == "sliding" ? .sliding(hop: s.hop) : .modelScope(clips: s.clips ?? 10), frames: s.frames,
            stride: s.stride, perClip: false)
        description = "\(config.description), \(manifest.weights.label)"
    }

    /// One vector for a video: the mean over its clips (the store's sampling).
    public func embed(_ path: String) throws -> [Float] {
        let video = try embedder.embed(path, openers: openers, windows: { selection.windows(frameCount: $0) })
        return VideoEmbedder.meanOverClips(video.vectors)
    }
}
