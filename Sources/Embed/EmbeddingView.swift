import Foundation
import Models
import SafeTensors
import Tensor

/// Which vector of a backbone describes a clip.
///
/// - `pooled`: the global average of the last map (ModelScope's `video_embedding`): scene and
///   motion together.
/// - `fused`: the average of CMD's fused clip map (layer3 with time folded into channels plus
///   layer4), what the context head reads during pretraining.
/// - `motion`: that average through the predictor's input projection (`FILE.views.safetensors`
///   from `decouple export`), the side of the network trained to predict future motion.
public enum EmbeddingView: Sendable {
    case pooled
    case fused
    case motion(Tensor)
    /// `pooled` of the clip minus `pooled` of its first frame held still: what the clip adds
    /// to its scene.
    case residual

    public var name: String {
        switch self {
        case .pooled: return "pooled"
        case .fused: return "fused"
        case .motion: return "motion"
        case .residual: return "residual"
        }
    }

    /// The view named `name`; `motion` reads the projection next to `weights`.
    public static func named(_ name: String, weights: String?) throws -> EmbeddingView {
        switch name {
        case "pooled": return .pooled
        case "fused": return .fused
        case "residual": return .residual
        case "motion":
            guard let weights else { throw ModelError("the motion view needs trained weights (--weights FILE with FILE.views.safetensors beside it)") }
            let path = viewsPath(for: weights)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ModelError("the motion view needs '\(path)' (written by decouple export next to the weights)")
            }
            let reader = try SafeTensorsReader(path: path)
            guard let w = reader.allTensors()["motion.weight"], w.shape.count == 2 else {
                throw ModelError("'\(path)' has no motion.weight matrix")
            }
            return .motion(Tensor(shape: w.shape, data: w.values))
        default:
            throw ModelError("unknown view \"\(name)\"; use pooled, fused, motion or residual")
        }
    }

    public static func viewsPath(for weights: String) -> String {
        weights.hasSuffix(".safetensors") ? String(weights.dropLast(".safetensors".count)) + ".views.safetensors" : weights + ".views.safetensors"
    }

    /// Length of the view's vectors for `model`.
    public func dimension(_ model: Backbone) -> Int {
        switch self {
        case .pooled, .fused, .residual: return model.embeddingDimension
        case .motion(let w): return w.shape[0]
        }
    }

    /// `x [N, 3, T, H, W]` → `[N, dimension]`.
    public func apply(_ model: Backbone, _ x: Tensor, threads: Int) -> Tensor {
        if case .pooled = self { return model.forward(x, threads: threads, parallelism: .withinClip) }
        if case .residual = self {
            let (n, c, t) = (x.shape[0], x.shape[1], x.shape[2])
            let plane = x.shape[3] * x.shape[4]
            var still = x
            still.withUnsafeMutableBufferPointer { sp in
                for s in 0..<n {
                    for ch in 0..<c {
                        let base = (s * c + ch) * t * plane
                        for f in 1..<t { for k in 0..<plane { sp[base + f * plane + k] = sp[base + k] } }
                    }
                }
            }
            let a = model.forward(x, threads: threads, parallelism: .withinClip)
            let b = model.forward(still, threads: threads, parallelism: .withinClip)
            return Tensor(shape: a.shape, data: zip(a.data, b.data).map { $0 - $1 })
        }
        let stages = Dictionary(uniqueKeysWithValues: model.forwardStages(x, threads: threads).map { ($0.name, $0.tensor) })
        guard let l3 = stages["layer3"], let l4 = stages["layer4"] else {
            preconditionFailure("the \(name) view needs a ResNet backbone (layer3 and layer4)")
        }
        let fused = FeatureFusion.forward(layer3: l3, layer4: l4)
        let (n, c) = (fused.shape[0], fused.shape[1])
        let p = fused.count / (n * c)
        var mean = [Float](repeating: 0, count: n * c)
        fused.withUnsafeBufferPointer { fp in
            for i in 0..<(n * c) {
                var s: Float = 0
                for k in 0..<p { s += fp[i * p + k] }
                mean[i] = s / Float(p)
            }
        }
        guard case .motion(let w) = self else { return Tensor(shape: [n, c], data: mean) }
        let d = w.shape[0]
        precondition(w.shape[1] == c, "motion projection is \(w.shape), the fused map has \(c) channels")
        var out = [Float](repeating: 0, count: n * d)
        w.withUnsafeBufferPointer { wp in
            for s in 0..<n {
                for j in 0..<d {
                    var acc: Float = 0
                    for k in 0..<c { acc += wp[j * c + k] * mean[s * c + k] }
                    out[s * d + j] = acc
                }
            }
        }
        return Tensor(shape: [n, d], data: out)
    }
}
