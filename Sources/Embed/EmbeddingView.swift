import Foundation
import Models
import NN
import SafeTensors
import Tensor

/// Which vector of the video backbone describes a clip: the variants of the `video` view
/// (`video:pooled`, `video:predicted`, ...; `ViewName` has the three views a user compares).
///
/// - `pooled`: the global average of the last map (ModelScope's `video_embedding`): scene and
///   motion together.
/// - `fused`: the average of CMD's clip map (for the ResNets layer3 with time folded into
///   channels plus layer4; for C3D conv5b, so there it equals `pooled`), what the context head
///   reads during pretraining.
/// - `projected`: that average through the predictor's input projection (`FILE.views.safetensors`
///   from `decouple export`), the side of the network trained to predict future motion.
/// - `residual` and `projectedResidual`: `pooled` and `projected` of the clip minus the same of its
///   first frame held still: what the clip adds to its scene.
/// - `predicted`: the motion the predictor foresees after the clip, in the embedding space of
///   the motion-vector network (`MotionForecast`, also from `FILE.views.safetensors`).
/// - `predictedResidual`: `predicted` of the clip minus `predicted` of its first frame held
///   still: the forecast less what the scene alone makes the predictor expect.
public enum EmbeddingView: Sendable {
    case pooled
    case fused
    case projected(Tensor)
    case residual
    case projectedResidual(Tensor)
    case predicted(MotionForecast)
    case predictedResidual(MotionForecast)

    /// Every view's name and what it is, in the order help texts list them.
    public static let catalogue: [(name: String, about: String)] = [
        ("pooled", "the backbone's pooled output, as ModelScope's pipeline"),
        ("fused", "CMD's fused layer3 + layer4 clip map, pooled"),
        ("projected", "fused through the CMD predictor's input projection; needs FILE.views.safetensors"),
        ("residual", "fused, minus that of the clip's first frame held still"),
        ("projected-residual", "projected, minus that of the first frame held still"),
        ("predicted", "the future motion the CMD predictor foresees; needs FILE.views.safetensors"),
        ("predicted-residual", "predicted, minus that of the first frame held still"),
    ]

    public static var names: [String] { catalogue.map(\.name) }

    /// `name (what it is), ...` for a help text.
    public static var help: String { catalogue.map { "\($0.name) (\($0.about))" }.joined(separator: ", ") }

    public var name: String {
        switch self {
        case .pooled: return "pooled"
        case .fused: return "fused"
        case .projected: return "projected"
        case .residual: return "residual"
        case .projectedResidual: return "projected-residual"
        case .predicted: return "predicted"
        case .predictedResidual: return "predicted-residual"
        }
    }

    /// The view named `name`; all but `pooled`, `fused` and `residual` read the file next to
    /// `weights`, and the predicted views check that `model` gives the clip map they were trained on.
    public static func named(_ name: String, weights: String?, model: Backbone? = nil) throws -> EmbeddingView {
        switch name {
        case "pooled": return .pooled
        case "fused": return .fused
        case "residual": return .residual
        case "projected": return .projected(try projection(name, weights: weights))
        case "projected-residual": return .projectedResidual(try projection(name, weights: weights))
        case "predicted": return .predicted(try forecast(name, weights: weights, model: model))
        case "predicted-residual": return .predictedResidual(try forecast(name, weights: weights, model: model))
        default:
            throw ModelError("unknown video view \"\(name)\"; use \(names.joined(separator: ", "))")
        }
    }

    static func viewsFile(_ name: String, weights: String?) throws -> (SafeTensorsReader, String) {
        guard let weights else {
            throw ModelError(
                "the video:\(name) view needs trained weights (--weights FILE with FILE.views.safetensors beside it)")
        }
        let path = ViewsFile.path(for: weights)
        guard let reader = try ViewsFile.open(for: weights) else {
            throw ModelError("the video:\(name) view needs '\(path)' (written by decouple export next to the weights)")
        }
        return (reader, path)
    }

    static func projection(_ name: String, weights: String?) throws -> Tensor {
        let (reader, path) = try viewsFile(name, weights: weights)
        guard let w = reader.allTensors()["motion.weight"], w.shape.count == 2 else {
            throw ModelError("'\(path)' has no motion.weight matrix")
        }
        return Tensor(shape: w.shape, data: w.values)
    }

    static func forecast(_ name: String, weights: String?, model: Backbone?) throws -> MotionForecast {
        let (reader, path) = try viewsFile(name, weights: weights)
        let forecast = try MotionForecast(tensors: reader.allTensors(), metadata: reader.metadata, path: path)
        if let model { try forecast.check(model, path: path) }
        return forecast
    }

    /// True for the views that subtract the clip's first frame held still: a still clip is
    /// exactly zero in them, so comparing a clip with its still says nothing.
    public var subtractsStill: Bool {
        switch self {
        case .residual, .projectedResidual, .predictedResidual: return true
        case .pooled, .fused, .projected, .predicted: return false
        }
    }

    /// Length of the view's vectors for `model`.
    public func dimension(_ model: Backbone) -> Int {
        switch self {
        case .pooled, .fused, .residual: return model.embeddingDimension
        case .projected(let w), .projectedResidual(let w): return w.shape[0]
        case .predicted(let f), .predictedResidual(let f): return f.dimension
        }
    }

    /// `x [N, 3, T, H, W]` → `[N, dimension]`.
    public func apply(_ model: Backbone, _ x: Tensor, threads: Int) -> Tensor {
        switch self {
        case .pooled: return Self.pooled(model, x, threads: threads)
        case .residual:
            return Self.difference(
                Self.pooled(model, x, threads: threads), Self.pooled(model, Self.still(x), threads: threads))
        case .fused: return Self.fusedMean(model, x, threads: threads)
        case .projected(let w): return Self.project(w, Self.fusedMean(model, x, threads: threads))
        case .projectedResidual(let w):
            // The projection is linear: project the difference of the fused averages.
            return Self.project(
                w,
                Self.difference(
                    Self.fusedMean(model, x, threads: threads), Self.fusedMean(model, Self.still(x), threads: threads)))
        case .predicted(let f): return f.apply(fused: Self.fusedMap(model, x, threads: threads), threads: threads)
        case .predictedResidual(let f):
            return Self.difference(
                f.apply(fused: Self.fusedMap(model, x, threads: threads), threads: threads),
                f.apply(fused: Self.fusedMap(model, Self.still(x), threads: threads), threads: threads))
        }
    }

    static func pooled(_ model: Backbone, _ x: Tensor, threads: Int) -> Tensor {
        model.forward(x, threads: threads, parallelism: .withinClip)
    }

    /// Every frame of each clip replaced by its first frame.
    public static func still(_ x: Tensor) -> Tensor {
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
        return still
    }

    static func difference(_ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor(shape: a.shape, data: zip(a.data, b.data).map { $0 - $1 })
    }

    /// The average of CMD's clip map (the ResNets' fused layer3 + layer4, C3D's conv5b), `[N, C]`.
    static func fusedMean(_ model: Backbone, _ x: Tensor, threads: Int) -> Tensor {
        GlobalAveragePool3d.forward(fusedMap(model, x, threads: threads))
    }

    static func fusedMap(_ model: Backbone, _ x: Tensor, threads: Int) -> Tensor {
        let stages = Dictionary(
            uniqueKeysWithValues: model.forwardStages(x, threads: threads).map { ($0.name, $0.tensor) })
        return FeatureFusion.clipMap(stages)
    }

    /// `w [D, C]` times each row of `x [N, C]`: `x · wᵀ`, `[N, D]`.
    static func project(_ w: Tensor, _ x: Tensor) -> Tensor {
        let (n, c, d) = (x.shape[0], x.shape[1], w.shape[0])
        precondition(w.shape[1] == c, "motion projection is \(w.shape), the fused map has \(c) channels")
        return Tensor(shape: [n, d]) { out in
            w.withUnsafeBufferPointer { wp in
                x.withUnsafeBufferPointer { xp in
                    gemm(
                        .none, .transposed, m: n, n: d, k: c, a: xp.baseAddress!, lda: c, b: wp.baseAddress!, ldb: c,
                        c: out.baseAddress!, ldc: d)
                }
            }
        }
    }
}
