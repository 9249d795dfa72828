import Foundation
import Models
import NN
import SafeTensors
import Tensor
import TestSupport
import Testing

/// One training step against PyTorch (float64, stored as float32): scripts/make_training_fixtures.py.
/// Every compared tensor within 1e-4 relative error (max |ours - torch| / max |torch|).
/// A gradient that is zero in exact arithmetic (the first decoder layer's query and key
/// projections: its input is zeros, so its attention averages identical values) holds only
/// rounding noise, so gradients are measured against at least 1e-3 of the model's largest.
@Suite("Training steps match PyTorch")
struct TrainingFixtureTests {
    static let tolerance: Float = 1e-4
    static let directory = Paths.asset("fixtures/training")

    static func load(_ file: String) throws -> [String: Tensor] {
        _ = try FixtureFiles.verifiedManifest(directory)
        return try SafeTensorsReader(path: directory + "/" + file).allTensors().mapValues {
            Tensor(shape: $0.shape, data: $0.values)
        }
    }

    /// Compares and prints (the worst error is what docs/correctness.md quotes).
    static func compare(
        _ ours: Tensor, _ reference: Tensor?, _ label: String, floor: Float = 0, into worst: inout (Float, String)
    ) {
        guard let reference else {
            Issue.record("fixture has no \(label)")
            return
        }
        #expect(
            ours.shape == reference.shape || ours.count == reference.count,
            "\(label): \(ours.shape) vs \(reference.shape)")
        let e =
            Tensor(shape: reference.shape, data: ours.data).maxAbsDifference(reference) / max(reference.maxAbs(), floor)
        if e > worst.0 { worst = (e, label) }
        #expect(e <= tolerance, "\(label): relative error \(e)")
    }

    @Test(
        "narrow R(2+1)D + linear head + InfoNCE: loss, every gradient, parameters and BN statistics after SGD-Nesterov")
    func r2p1dStep() throws {
        let t = try Self.load("r2p1d_step.safetensors")
        let config = try BackboneConfig(modelID: "r2p1d-26").applying(
            overrides: "planes=6,8,12,16 stem=10 frames=8 size=48")
        var state: [String: FloatTensor] = [:]
        for (k, v) in t where k.hasPrefix("param.") && !k.hasPrefix("param.fc.") {
            state[String(k.dropFirst(6))] = FloatTensor(shape: v.shape, values: v.data)
        }
        let net = try TrainableBackbone(config: config, tensors: state)
        let head = LinearLayer(
            name: "fc", weight: try #require(t["param.fc.weight"]), bias: try #require(t["param.fc.bias"]))
        let input = try #require(t["input"])
        let keys = try #require(t["keys"])
        let out = net.forward(input, threads: 2)
        let (z, headCache) = head.forward(out.pooled)
        let (q, normCache) = L2Normalize.forward(z)
        let (loss, lossCache) = InfoNCE.forward(queries: q, keys: keys, targets: [0, 1, 2, 3], temperature: 0.1)
        let reference = Double(try #require(t["loss"]).data[0])
        #expect(abs(loss - reference) <= 1e-5 * abs(reference), "loss \(loss) vs \(reference)")
        let (dq, _) = InfoNCE.backward(cache: lossCache)
        let dPooled = head.backward(L2Normalize.backward(dq, cache: normCache), cache: headCache)
        net.backward(out.cache, gradients: ["pooled": dPooled], threads: 2)
        let parameters = net.parameters + head.parameters
        var worst: (Float, String) = (0, "")
        for p in parameters { Self.compare(p.grad, t["grad." + p.name], "grad \(p.name)", into: &worst) }
        print(
            "fixture r2p1d_step: loss \(loss) vs \(reference); worst gradient error \(worst.0) (\(worst.1)) over \(parameters.count) tensors"
        )
        let sgd = SGD(
            groups: [ParameterGroup(parameters: parameters, weightDecay: 1e-3)], learningRate: 0.05, momentum: 0.9,
            nesterov: true)
        sgd.step()
        worst = (0, "")
        for p in parameters { Self.compare(p.value, t["after." + p.name], "after \(p.name)", into: &worst) }
        for b in net.buffers { Self.compare(b.value, t["after." + b.name], "after \(b.name)", into: &worst) }
        print(
            "fixture r2p1d_step: worst error after the step \(worst.0) (\(worst.1)), \(net.buffers.count) running statistics included"
        )
    }

    @Test(
        "DETR-style predictor + pointwise InfoNCE: loss, output, every gradient, the tokens' gradient, parameters after SGD"
    )
    func predictorStep() throws {
        let t = try Self.load("predictor_step.safetensors")
        var c = PredictorConfig()
        (
            c.inputChannels, c.dim, c.heads, c.encoderLayers, c.decoderLayers, c.feedForward, c.sourceTokens,
            c.targetTokens, c.dropout
        ) = (12, 8, 2, 2, 2, 10, 6, 4, 0)
        let predictor = Predictor(config: c, seed: 0)
        for p in predictor.parameters {
            let v = try #require(t["param." + p.name], "fixture lacks \(p.name)")
            #expect(v.shape == p.shape, "\(p.name)")
            p.value = v
        }
        #expect(
            Set(predictor.parameters.map(\.name))
                == Set(t.keys.filter { $0.hasPrefix("param.") }.map { String($0.dropFirst(6)) }))
        let tokens = try #require(t["tokens"])
        let keys = try #require(t["keys"])
        let targets = try #require(t["targets"]).data.map { Int($0) }
        let (y, cache) = predictor.forward(tokens, threads: 2)
        var worst: (Float, String) = (0, "")
        Self.compare(y, t["output"], "output", into: &worst)
        let (q, normCache) = L2Normalize.forward(y.reshaped([y.count / c.dim, c.dim]))
        let (loss, lossCache) = InfoNCE.forward(queries: q, keys: keys, targets: targets)
        let reference = Double(try #require(t["loss"]).data[0])
        #expect(abs(loss - reference) <= 1e-5 * abs(reference), "loss \(loss) vs \(reference)")
        let dq = InfoNCE.backward(cache: lossCache).dq
        let dTokens = predictor.backward(
            L2Normalize.backward(dq, cache: normCache).reshaped(y.shape), cache: cache, threads: 2)
        Self.compare(dTokens, t["grad.tokens"], "grad tokens", into: &worst)
        let largest = predictor.parameters.map { t["grad." + $0.name]?.maxAbs() ?? 0 }.max() ?? 0
        for p in predictor.parameters {
            Self.compare(p.grad, t["grad." + p.name], "grad \(p.name)", floor: 1e-3 * largest, into: &worst)
        }
        print(
            "fixture predictor_step: loss \(loss) vs \(reference); worst output/gradient error \(worst.0) (\(worst.1))")
        SGD(
            groups: [ParameterGroup(parameters: predictor.parameters, weightDecay: 1e-3)], learningRate: 0.05,
            momentum: 0.9, nesterov: true
        ).step()
        worst = (0, "")
        for p in predictor.parameters { Self.compare(p.value, t["after." + p.name], "after \(p.name)", into: &worst) }
        print("fixture predictor_step: worst error after the step \(worst.0) (\(worst.1))")
    }

    @Test("SGD (groups, Nesterov, clipping) and AdamW over five scheduled steps")
    func optimizers() throws {
        let t = try Self.load("optimizers.safetensors")
        let schedule = WarmupCosineSchedule(base: 0.1, warmupStart: 0.01, warmupSteps: 2, totalSteps: 5, final: 0.001)
        for name in ["sgd", "adamw"] {
            let params = (0..<3).map {
                Parameter(name: "p\($0)", value: t["param.\($0)"]!, kind: $0 == 2 ? .bias : .weight)
            }
            let optimizer: Optimizer =
                name == "sgd"
                ? SGD(
                    groups: ParameterGroup.split(params, weightDecay: 1e-3, exemptNormAndBias: true), learningRate: 0.1,
                    momentum: 0.9, nesterov: true)
                : AdamW(groups: [ParameterGroup(parameters: params, weightDecay: 0.05)], learningRate: 0.1)
            var worst: (Float, String) = (0, "")
            for k in 0..<5 {
                let lr = schedule.learningRate(at: k)
                #expect(abs(Float(lr) - t["\(name).lr"]!.data[k]) <= 1e-7)
                optimizer.learningRate = Float(lr)
                for (i, p) in params.enumerated() { p.grad = t["grad.step\(k).\(i)"]! }
                if name == "sgd" {
                    let norm = clipGradientNorm(params, maxNorm: 1)
                    #expect(abs(norm - t["sgd.norm"]!.data[k]) <= 1e-5 * norm)
                }
                optimizer.step()
                for (i, p) in params.enumerated() {
                    Self.compare(p.value, t["\(name).step\(k).\(i)"], "\(name) step \(k) tensor \(i)", into: &worst)
                }
            }
            print("fixture optimizers \(name): worst error over 5 steps \(worst.0) (\(worst.1))")
        }
    }
}
