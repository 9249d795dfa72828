/// Where `decouple export` writes a model card: `NAME.json` beside `NAME.safetensors`. Export
/// (which writes it) and the weights policy (which reads how frames were converted to RGB) both
/// ask here.
public enum ModelCardFile {
    public static func path(for weights: String) -> String {
        let suffix = ".safetensors"
        return (weights.hasSuffix(suffix) ? String(weights.dropLast(suffix.count)) : weights) + ".json"
    }
}
