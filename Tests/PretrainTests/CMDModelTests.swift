import Foundation
import Models
import NN
import Pretrain
import Tensor
import Testing

@Suite("CMD model")
struct CMDModelTests {
    /// A very small CMD model: 8-frame 32x32 clips, width-4/8 networks.
    static func tinyConfig() -> CMDConfig {
        var c = CMDConfig.compact
        c.backbone.widths = [4, 4, 8, 16]
        c.backbone.stemChannels = 4
        c.backbone.frames = 8
        c.frameWidths = [4, 4, 8, 8]
        c.motionWidths = [4, 4, 8, 8]
        c.predictorDim = 8
        c.predictorHeads = 2
        c.encoderLayers = 1
        c.decoderLayers = 1
        c.headHidden = 16
        c.embedding = 8
        c.size = 64
        c.motionSize = 32
        c.dropout = 0
        return c
    }

    static func batch(_ c: CMDConfig, b: Int = 3, negatives: Int = 2, seed: UInt64 = 1) -> CMDBatch {
        var rng = SeededRandom(seed: seed)
        let s = c.size
        let examples = (0..<b).map { _ in
            PretextExample(
                clip: (0..<(3 * c.backbone.frames * s * s)).map { _ in rng.nextNormal() },
                iFrame: (0..<(3 * s * s)).map { _ in rng.nextNormal() },
                positive: (0..<(2 * c.futureFrames * c.motionSize * c.motionSize)).map { _ in rng.nextNormal() * 0.3 },
                negatives: (0..<negatives).map { _ in
                    (0..<(2 * c.futureFrames * c.motionSize * c.motionSize)).map { _ in rng.nextNormal() * 0.3 }
                },
                indices: PretextIndices(clip: [], iFrame: 0, positive: [], negatives: []))
        }
        return CMDBatch(
            examples, size: s, motionSize: c.motionSize, clipFrames: c.backbone.frames, futureFrames: c.futureFrames)
    }

    @Test("fusion: folded layer3 plus upsampled layer4, and its exact adjoint")
    func fusion() {
        var rng = SeededRandom(seed: 2)
        let a = Tensor.normal(shape: [2, 3, 4, 4, 4], using: &rng)
        let b = Tensor.normal(shape: [2, 6, 2, 2, 2], using: &rng)
        let y = FeatureFusion.forward(layer3: a, layer4: b)
        #expect(y.shape == [2, 6, 2, 4, 4])
        // Channel 4 = layer3 channel 1 at odd time 2·1 + 1 = 3, plus layer4 at (t 1, h 3/2, w 2/2).
        #expect(y[1, 4, 1, 3, 2] == a[1, 1, 3, 3, 2] + b[1, 4, 1, 1, 1])
        // Linear map: <dy, f(x)> = <f*(dy), x> for random dy.
        let dy = Tensor.normal(shape: y.shape, using: &rng)
        let (ga, gb) = FeatureFusion.backward(dy, layer3: a.shape, layer4: b.shape)
        let lhs = zip(dy.data, y.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs =
            zip(ga.data, a.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            + zip(gb.data, b.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        #expect(abs(lhs - rhs) < 1e-3 * max(1, abs(lhs)))
        let t = FeatureFusion.tokens(y)
        #expect(t.shape == [2, 32, 6] && FeatureFusion.untokens(t, shape: y.shape) == y)
    }

    @Test("losses start near log(keys); every network gets gradients; ablations switch networks off")
    func step() throws {
        let c = Self.tinyConfig()
        let model = try CMDModel(config: c, seed: 3)
        #expect(model.sourceTokens == 1 * 4 * 4 && model.targetTokens == 1 * 2 * 2)
        let names = model.parameters.map(\.name)
        #expect(Set(names).count == names.count, "parameter names collide")
        #expect(
            names.contains("rgb_backbone.conv1_s.weight") && names.contains("m_backbone.conv1.weight")
                && names.contains("fc.weight"))
        model.training = true
        model.zeroGrad()
        let losses = model.step(Self.batch(c), threads: 1)
        #expect(
            losses.context.isFinite && losses.context > 0 && losses.motion.isFinite && losses.motion > 0, "\(losses)")
        // Zero-initialised bn3 weights (zero_init_residual) stop the gradient inside residual
        // branches at the first step, exactly as in PyTorch; everything else must get one.
        let silent = model.parameters.filter { !$0.grad.data.contains { $0 != 0 } }.map(\.name)
        let explained = silent.filter { $0.contains(".layer") && !$0.contains("downsample") && !$0.contains(".bn3.") }
        #expect(
            Set(silent).subtracting(explained).isEmpty, "no gradient: \(Set(silent).subtracting(explained).sorted())")
        // The first decoder layer's self-attention sees only the zero decoder input (DETR):
        // its values are zero, so neither it nor the LayerNorm after it can learn.
        let heads = silent.filter {
            ($0.hasPrefix("fc.") || $0.contains("_head.") || $0.contains("transformer"))
                && !$0.contains("decoder.layers.0.self_attn") && !$0.contains("decoder.layers.0.norm1")
        }
        #expect(heads.isEmpty, "no gradient: \(heads)")
        var contextOnly = c
        contextOnly.motionWeight = 0
        let m2 = try CMDModel(config: contextOnly, seed: 3)
        m2.zeroGrad()
        let l2 = m2.step(Self.batch(c), threads: 1)
        #expect(l2.motion == 0 && l2.context > 0)
        #expect(m2.motionNet.parameters.allSatisfy { $0.grad.data.allSatisfy { $0 == 0 } })
        #expect(m2.backbone.parameters.contains { $0.grad.data.contains { $0 != 0 } })
    }

    @Test("a few SGD steps on one batch bring both losses down")
    func overfit() throws {
        let c = Self.tinyConfig()
        let model = try CMDModel(config: c, seed: 5)
        model.training = true
        let batch = Self.batch(c, b: 2, negatives: 1)
        let sgd = SGD(
            groups: ParameterGroup.split(model.parameters, weightDecay: 0, exemptNormAndBias: true), learningRate: 0.05,
            momentum: 0.9, nesterov: true)
        var totals: [Double] = []
        for _ in 0..<12 {
            model.zeroGrad()
            totals.append(model.step(batch, threads: 1).total)
            sgd.step()
        }
        #expect(totals.last! < 0.7 * totals.first!, "loss \(totals.first!) -> \(totals.last!)")
    }
}

extension CMDModelTests {
    @Test("C3D: the clip map is conv5b itself; every network gets gradients; the losses fall")
    func c3d() throws {
        var c = Self.tinyConfig()
        c.backbone = try BackboneConfig(modelID: "c3d").applying(overrides: "channels=4,4,8,8,16 frames=8")
        let model = try CMDModel(config: c, seed: 3)
        // conv5b of 8x64x64 clips: T 8/8, H and W 64/16.
        #expect(model.sourceTokens == 1 * 4 * 4)
        var rng = SeededRandom(seed: 4)
        let clips = Tensor.normal(shape: [2, 3, 8, 64, 64], using: &rng)
        let out = model.backbone.forward(clips, threads: 1)
        #expect(FeatureFusion.clipMap(out.stages) == out.stages["conv5b"]!)
        #expect(model.views(clips, threads: 1).fused == out.pooled)
        model.training = true
        model.zeroGrad()
        let batch = Self.batch(c, b: 2, negatives: 1)
        let first = model.step(batch, threads: 1)
        #expect(first.context.isFinite && first.context > 0 && first.motion.isFinite && first.motion > 0, "\(first)")
        let silentBackbone = model.backbone.parameters.filter { !$0.grad.data.contains { $0 != 0 } }.map(\.name)
        #expect(silentBackbone.isEmpty, "no gradient: \(silentBackbone)")
        // C3D has no residual path: a smaller step than the ResNet test's 0.05, which diverges here.
        let sgd = SGD(
            groups: ParameterGroup.split(model.parameters, weightDecay: 0, exemptNormAndBias: true), learningRate: 0.01,
            momentum: 0.9, nesterov: true)
        var totals = [first.total]
        sgd.step()
        for _ in 0..<11 {
            model.zeroGrad()
            totals.append(model.step(batch, threads: 1).total)
            sgd.step()
        }
        #expect(totals.last! < 0.7 * totals.first!, "loss \(totals)")
        var tooShort = c
        tooShort.backbone.frames = 4
        #expect(throws: CMDModel.ConfigurationError.self) { try CMDModel(config: tooShort, seed: 1) }
    }
}

@Suite("Backbone at small inputs")
struct SmallInputTests {
    @Test("a compact R(2+1)D runs on 8x32x32 clips")
    func small() throws {
        var c = BackboneConfig.compactR2Plus1D
        c.frames = 8
        c.size = 32
        let net = try TrainableBackbone(config: c, seed: 1)
        var rng = SeededRandom(seed: 2)
        let out = net.forward(Tensor.normal(shape: [2, 3, 8, 32, 32], using: &rng), threads: 1)
        #expect(out.stages["layer4"]!.shape == [2, 512, 1, 1, 1])
    }
}
