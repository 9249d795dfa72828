import Embed
import Foundation
import Models
import SafeTensors
import Tensor
import Testing

@Suite("Embedding views")
struct EmbeddingViewTests {
    static func model() throws -> Backbone {
        try Backbone(
            config: try BackboneConfig(modelID: "r2p1d-26").applying(
                overrides: "planes=4,8,8,16 stem=4 frames=8 size=32"), seed: 5)
    }

    static func clips(_ n: Int, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor(shape: [n, 3, 8, 32, 32], data: (0..<(n * 3 * 8 * 32 * 32)).map { _ in rng.nextNormal() })
    }

    @Test(
        "residual views are the view of the clip minus the view of its first frame held still; a still clip gives zero")
    func residuals() throws {
        let model = try Self.model()
        let x = Self.clips(2, seed: 1)
        let c = model.embeddingDimension
        var rng = SeededRandom(seed: 2)
        let w = Tensor(shape: [6, c], data: (0..<(6 * c)).map { _ in rng.nextNormal() })
        // The first frame of each clip, repeated.
        var still = x
        let plane = 32 * 32
        still.withUnsafeMutableBufferPointer { p in
            for s in 0..<2 {
                for ch in 0..<3 {
                    let base = (s * 3 + ch) * 8 * plane
                    for f in 1..<8 { for k in 0..<plane { p[base + f * plane + k] = p[base + k] } }
                }
            }
        }
        let motion = EmbeddingView.projected(w)
        let expected = Tensor(
            shape: [2, 6],
            data: zip(motion.apply(model, x, threads: 1).data, motion.apply(model, still, threads: 1).data).map {
                $0 - $1
            })
        let got = EmbeddingView.projectedResidual(w).apply(model, x, threads: 1)
        #expect(got.shape == [2, 6])
        #expect(got.maxAbsDifference(expected) <= 1e-4 * max(1, expected.maxAbs()))
        #expect(got.maxAbs() > 0)
        #expect(EmbeddingView.projectedResidual(w).apply(model, still, threads: 1).maxAbs() == 0)
        #expect(EmbeddingView.residual.apply(model, still, threads: 1).maxAbs() == 0)
        let pooled = EmbeddingView.pooled.apply(model, x, threads: 1)
        let stillPooled = EmbeddingView.pooled.apply(model, still, threads: 1)
        #expect(
            EmbeddingView.residual.apply(model, x, threads: 1).maxAbsDifference(
                Tensor(shape: pooled.shape, data: zip(pooled.data, stillPooled.data).map { $0 - $1 })) <= 1e-5)
    }

    @Test("names round-trip; the projected and predicted variants need the views file")
    func names() throws {
        for n in ["pooled", "fused", "residual"] { #expect(try EmbeddingView.named(n, weights: nil).name == n) }
        #expect(throws: (any Error).self) { try EmbeddingView.named("projected-residual", weights: nil) }
        #expect(throws: (any Error).self) { try EmbeddingView.named("projected", weights: "/no/such.safetensors") }
        #expect(throws: (any Error).self) { try EmbeddingView.named("predicted", weights: nil) }
        #expect(throws: (any Error).self) { try EmbeddingView.named("sideways", weights: nil) }
        // A views file from before the predicted view (motion.weight alone): one sentence.
        let dir = NSTemporaryDirectory() + "views-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try SafeTensorsWriter.write(
            ["motion.weight": FloatTensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])], to: dir + "/w.views.safetensors")
        #expect(try EmbeddingView.named("projected", weights: dir + "/w.safetensors").name == "projected")
        do {
            _ = try EmbeddingView.named("predicted", weights: dir + "/w.safetensors")
            Issue.record("a views file without the predictor was accepted")
        } catch {
            #expect("\(error)".contains("export the run again"), "\(error)")
        }
    }
}
