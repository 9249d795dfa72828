/// Where `decouple export` writes the tensors of the motion and predicted views: beside the
/// backbone weights, `NAME.views.safetensors` for `NAME.safetensors`. Export (which writes it)
/// and the embedding views (which read it) both ask here.
public enum ViewsFile {
    public static func path(for weights: String) -> String {
        let suffix = ".safetensors"
        return (weights.hasSuffix(suffix) ? String(weights.dropLast(suffix.count)) : weights) + ".views" + suffix
    }
}
