// The store's types and files live in Index (`EmbeddingItem`, `EmbeddingManifest`,
// `EmbeddingStore`); re-exported so code that imports Embed keeps seeing them.
@_exported import Index

/// Writes a whole store in one go through `Index.EmbeddingStore.write` (docs/commands.md, "Store format":
/// `embeddings.npy` float32 [N, D], row i is line i of `items.jsonl`, `manifest.json`). The
/// directory is assembled under a temporary name and renamed into place, so a failure never
/// leaves a half-written store. `decouple embed` appends video by video instead.
public enum EmbeddingStoreWriter {
    /// A store that cannot be written; `description` is one sentence naming the directory.
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes the store. `replace` allows an existing directory to be replaced.
    public static func write(
        to directory: String, vectors: [[Float]], items: [EmbeddingItem], manifest: EmbeddingManifest,
        replace: Bool = false
    ) throws {
        precondition(vectors.count == items.count, "one item per vector")
        precondition(vectors.allSatisfy { $0.count == manifest.dimension }, "vectors of the manifest's dimension")
        do {
            try EmbeddingStore.write(
                to: directory, matrix: vectors.flatMap { $0 }, items: items, manifest: manifest, replace: replace)
        } catch let error as StoreError {
            throw WriteError(description: error.description)
        }
    }
}
