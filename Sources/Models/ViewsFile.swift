import Foundation
import SafeTensors

/// Where `decouple export` writes the tensors of the motion and predicted views: beside the
/// backbone weights, `NAME.views.safetensors` for `NAME.safetensors`. Export (which writes it)
/// and the embedding views (which read it) both ask here.
public enum ViewsFile {
    /// The metadata key both files carry with the same value (the SHA-256 of the checkpoint
    /// they were exported from). The two files are renamed into place one after the other; an
    /// export killed between the renames leaves a pair that disagrees here, and `open` refuses it
    /// instead of mixing two checkpoints.
    public static let exportKey = "export.checkpoint_sha256"

    public static func path(for weights: String) -> String {
        let suffix = ".safetensors"
        return (weights.hasSuffix(suffix) ? String(weights.dropLast(suffix.count)) : weights) + ".views" + suffix
    }

    /// Opens the views file of `weights`: nil when there is none; an error when it and the
    /// weights come from different exports.
    public static func open(for weights: String) throws -> SafeTensorsReader? {
        let path = path(for: weights)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let views = try SafeTensorsReader(path: path)
        // Files exported before the key existed, or a views file without its weights beside it
        // (the weights may have been given elsewhere), are not checked.
        guard let mine = views.metadata[exportKey], FileManager.default.fileExists(atPath: weights) else {
            return views
        }
        guard try SafeTensorsReader(path: weights).metadata[exportKey] == mine else {
            throw ModelError(
                "'\(path)' and '\(weights)' come from different exports (an export was interrupted): run decouple export again"
            )
        }
        return views
    }
}
