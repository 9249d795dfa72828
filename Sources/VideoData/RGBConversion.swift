/// How decoded YUV frames become RGB (docs/method.md §8). A model is trained and used with one
/// of them: the two differ by about one grey level per pixel on average (up to 75 at coloured
/// edges), enough to move a clip's embedding by several percent.
///
/// - `modelscope`: swscale with its default flags, as decord converts frames for the
///   ModelScope pipeline (bit for bit). `embed` uses it with the ModelScope checkpoint, with
///   random weights, and with any weights that do not say otherwise.
/// - `accurate`: swscale with accurate rounding and full chroma interpolation. PNG keyframes
///   (`extract`), the explorer's pictures, pretraining and the weights it trains use it.
public enum RGBConversion: String, Codable, Sendable, CaseIterable {
    case modelscope
    case accurate
}
