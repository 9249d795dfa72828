import Foundation
import Models
import NN
import SafeTensors
import Tensor
import TestSupport
import Testing

@Suite("Trainable backbones, helpers, export and resumption")
struct TrainableBackboneTests {
    static let tiny: [(String, String)] = [
        ("r2p1d-26", "planes=4,6,8,10 stem=6 frames=4 size=24"),
        ("r3d-26", "planes=4,6,8,10 stem=6 frames=4 size=24"),
        ("c3d", "channels=4,6,8,8,8 frames=8 size=16"),
    ]

    /// One SGD step on a batch of random clips (so the weights and statistics are no longer the init).
    func trainOneStep(_ net: TrainableBackbone, _ x: Tensor, rng: inout SeededRandom) {
        let out = net.forward(x, threads: 2)
        let r = Tensor.normal(shape: out.pooled.shape, using: &rng)
        net.backward(out.cache, gradients: ["pooled": r], threads: 2)
        SGD(
            groups: [ParameterGroup(parameters: net.parameters, weightDecay: 1e-3)], learningRate: 0.1, momentum: 0.9,
            nesterov: true
        ).step()
    }

    @Test(
        "train a step, export to safetensors, load with the strict inference loader: same eval-mode outputs",
        arguments: tiny.indices)
    func exportRoundTrip(_ i: Int) throws {
        let (model, overrides) = Self.tiny[i]
        let config = try BackboneConfig(modelID: model).applying(overrides: overrides)
        let net = try TrainableBackbone(config: config, seed: 3)
        #expect(
            net.parameters.map(\.name) + net.buffers.map(\.name) == net.parameters.map(\.name) + net.buffers.map(\.name)
        )
        #expect(Set(net.stateDict().keys) == Set(CheckpointKeys.table(for: config).map(\.name)))
        var rng = SeededRandom(seed: 4)
        let x = Tensor.normal(shape: [3] + config.inputShape, using: &rng)
        trainOneStep(net, x, rng: &rng)
        let path = Paths.temporaryDirectory("export") + "/trained.safetensors"
        try SafeTensorsWriter.write(net.stateDict(batchCounts: true), to: path)
        let inference = try Backbone(config: config, weightsAt: path)
        net.eval()
        let ours = net.forward(x).pooled
        let theirs = inference.forward(x)
        let error = ours.relativeError(to: theirs)
        print("export round trip \(config): eval-mode relative difference \(error)")
        #expect(error <= 1e-5)
        // And back: the trained values load into a fresh trainable backbone.
        let reloaded = try TrainableBackbone(config: config, tensors: try SafeTensorsReader(path: path).allTensors())
        reloaded.eval()
        #expect(reloaded.forward(x).pooled == ours)
    }

    /// The whole network in float32 has ReLU kinks that ±eps can cross and a loss summed over
    /// thousands of values, so these finite differences are looser (1e-2 for parameters with
    /// eps 1e-3, 2e-2 for the input with eps 1e-2) than the per-layer ones; the exact part is
    /// that gradients given together equal the sum of the gradients given one at a time.
    @Test("gradients into intermediate maps (layer3, layer4) and the pooled output add up, against finite differences")
    func intermediateGradients() throws {
        let config = try BackboneConfig(modelID: "r2p1d-26").applying(
            overrides: "planes=3,4,5,6 stem=4 frames=4 size=16")
        let net = try TrainableBackbone(config: config, seed: 5)
        var rng = SeededRandom(seed: 6)
        for b in net.parameters where b.kind == .norm {
            b.value = Tensor.uniform(shape: b.shape, low: 0.5, high: 1.5, using: &rng)
        }
        net.eval()  // batch statistics of two clips at 1x1 maps would make the loss nearly flat
        let x = Tensor.normal(shape: [2] + config.inputShape, using: &rng)
        let out = net.forward(x)
        #expect(net.stageNames == ["stem", "layer1", "layer2", "layer3", "layer4"])
        let r3 = Tensor.normal(shape: out.stages["layer3"]!.shape, using: &rng)
        let r4 = Tensor.normal(shape: out.stages["layer4"]!.shape, using: &rng)
        let rp = Tensor.normal(shape: out.pooled.shape, using: &rng)
        func loss() -> Double {
            let o = net.forward(x)
            return GradCheck.projection(o.stages["layer3"]!, r3) + GradCheck.projection(o.stages["layer4"]!, r4)
                + GradCheck.projection(o.pooled, rp)
        }
        var separate = [Tensor](repeating: Tensor(shape: [0]), count: net.parameters.count)
        for (name, r) in [("layer3", r3), ("layer4", r4), ("pooled", rp)] {
            net.zeroGrad()
            net.backward(out.cache, gradients: [name: r])
            for (i, p) in net.parameters.enumerated() {
                separate[i] = separate[i].count == 0 ? p.grad : separate[i] + p.grad
            }
        }
        net.zeroGrad()
        let dx = net.backward(out.cache, gradients: ["layer3": r3, "layer4": r4, "pooled": rp], inputGradient: true)!
        for (i, p) in net.parameters.enumerated() { #expect(p.grad.relativeError(to: separate[i]) < 1e-5, "\(p.name)") }
        var worst = 0.0
        for p in net.parameters
        where p.name.hasPrefix("layer2.0.conv") || p.name.hasPrefix("conv1_s") || p.name.hasPrefix("layer4.1.bn3") {
            let result = GradCheck.check(
                p, indices: GradCheck.sample(p.value.count, count: 6, rng: &rng), eps: 1e-3, loss: loss)
            worst = max(worst, result.relativeError)
            #expect(result.relativeError < 1e-2, "\(p.name): \(result)")
        }
        var input = x
        let rx = GradCheck.check(
            &input, analytic: dx, indices: GradCheck.sample(x.count, count: 10, rng: &rng), eps: 1e-2
        ) { xi in
            let o = net.forward(xi)
            return GradCheck.projection(o.stages["layer3"]!, r3) + GradCheck.projection(o.stages["layer4"]!, r4)
                + GradCheck.projection(o.pooled, rp)
        }
        #expect(rx.relativeError < 2e-2, "input: \(rx)")
        print(
            "gradcheck backbone with layer3/layer4/pooled gradients: worst parameter \(worst), input \(rx.relativeError)"
        )
    }

    @Test("CMD's helper ResNet-10s: I-frame 2D (one frame) and motion 3D (2 channels, stem stride 1) shapes and names")
    func resNet10() {
        var rng = SeededRandom(seed: 8)
        let frame = TrainableBackbone(resnet10: .frame(widths: [4, 8, 8, 16]), seed: 1)
        let f = frame.forward(Tensor.normal(shape: [2, 3, 1, 32, 32], using: &rng))
        #expect(f.stages["layer4"]!.shape == [2, 16, 1, 1, 1] && f.pooled.shape == [2, 16])
        #expect(
            frame.parameters.map(\.name).prefix(4) == [
                "conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight",
            ])
        #expect(frame.parameters.contains { $0.name == "layer2.0.downsample.0.weight" && $0.shape == [8, 4, 1, 1, 1] })
        #expect(!frame.parameters.contains { $0.name.hasPrefix("layer1.0.downsample") })
        let motion = TrainableBackbone(resnet10: .motion(widths: [4, 8, 8, 16]), seed: 2)
        let m = motion.forward(Tensor.normal(shape: [2, 2, 8, 32, 32], using: &rng))
        // 8x32x32 → stem (stride 1) 8x32x32 → pool 8x16x16 → 8x16x16 → 4x8x8 → 2x4x4 → 1x2x2.
        #expect(m.stages["layer4"]!.shape == [2, 16, 1, 2, 2])
        #expect(motion.parameters.first!.shape == [4, 2, 3, 7, 7])
        motion.backward(m.cache, gradients: ["layer4": Tensor(shape: [2, 16, 1, 2, 2], repeating: 1)])
        #expect(motion.parameters.allSatisfy { $0.grad.isFinite })
        #expect(motion.parameters.first!.grad.maxAbs() > 0)
        // Stopped after layer2 (what a reader of layer2 alone needs): the same layer2, bit for
        // bit, and no later map.
        motion.eval()
        let clips = Tensor.normal(shape: [3, 2, 8, 32, 32], using: &rng)
        let whole = motion.forward(clips)
        let short = motion.forward(clips, through: "layer2")
        #expect(short.stages["layer2"]!.data == whole.stages["layer2"]!.data)
        #expect(Set(short.stages.keys) == ["stem", "layer1", "layer2"] && short.pooled.shape == [3, 8])
    }

    @Test(
        "a frozen ResNet-10 (batch norms folded, engines built once, residual and ReLU fused) gives the eval-mode maps",
        arguments: [false, true])
    func frozen(motion: Bool) throws {
        var rng = SeededRandom(seed: 11)
        let net = TrainableBackbone(
            resnet10: motion ? .motion(widths: [4, 8, 8, 16]) : .frame(widths: [4, 8, 8, 16]), seed: 3)
        let shape = motion ? [3, 2, 8, 32, 32] : [3, 3, 1, 32, 32]
        // Trained a step, so the batch norms' scales and running statistics are not the init's.
        trainOneStep(net, Tensor.normal(shape: shape, using: &rng), rng: &rng)
        net.eval()
        let frozen = FrozenBackbone(net)
        let x = Tensor.normal(shape: shape, using: &rng)
        let reference = net.forward(x)
        for threads in [1, 2] {
            let out = frozen.forward(x, threads: threads)
            #expect(Set(out.stages.keys) == Set(reference.stages.keys))
            for (name, map) in reference.stages {
                #expect(out.stages[name]!.shape == map.shape)
                let error = out.stages[name]!.relativeError(to: map)
                #expect(error < 1e-5, "\(name), \(threads) threads: off by \(error)")
            }
            #expect(out.pooled.relativeError(to: reference.pooled) < 1e-5)
        }
        let short = frozen.forward(x, through: "layer2")
        #expect(Set(short.stages.keys) == ["stem", "layer1", "layer2"] && short.pooled.shape == [3, 8])
        // A copy: a later change to the trainable network does not reach it.
        let before = frozen.forward(x).pooled
        net.parameters[0].value = Tensor(shape: net.parameters[0].shape)
        #expect(frozen.forward(x).pooled.data == before.data)
    }

    @Test("a tiny model overfits a tiny batch: InfoNCE below 0.05")
    func overfit() throws {
        let config = try BackboneConfig(modelID: "r2p1d-26").applying(
            overrides: "planes=4,4,4,4 stem=4 frames=4 size=16")
        let net = try TrainableBackbone(config: config, seed: 9)
        var rng = SeededRandom(seed: 10)
        let head = LinearLayer(
            name: "fc", weight: Tensor.normal(shape: [8, 16], std: 0.25, using: &rng), bias: Tensor(shape: [8]))
        let x = Tensor.normal(shape: [4] + config.inputShape, using: &rng)
        let keys = L2Normalize.forward(Tensor.normal(shape: [4, 8], using: &rng)).0
        let optimizer = AdamW(
            groups: ParameterGroup.split(net.parameters + head.parameters, weightDecay: 1e-4, exemptNormAndBias: true),
            learningRate: 0.01)
        var losses: [Double] = []
        for _ in 0..<200 {
            optimizer.zeroGrad()
            let out = net.forward(x)
            let (z, hc) = head.forward(out.pooled)
            let (q, nc) = L2Normalize.forward(z)
            let (loss, lc) = InfoNCE.forward(queries: q, keys: keys, targets: [0, 1, 2, 3])
            losses.append(loss)
            if loss < 0.05 { break }
            let dPooled = head.backward(L2Normalize.backward(InfoNCE.backward(cache: lc).dq, cache: nc), cache: hc)
            net.backward(out.cache, gradients: ["pooled": dPooled])
            optimizer.step()
        }
        print("overfit: loss \(losses.first!) → \(losses.last!) in \(losses.count) steps")
        #expect(losses.last! < 0.05)
    }

    @Test(
        "saving and restoring model and optimiser state resumes bit for bit (SGD momentum, AdamW moments, BN counters, dropout)"
    )
    func resume() throws {
        let config = try BackboneConfig(modelID: "r2p1d-26").applying(
            overrides: "planes=3,4,5,6 stem=4 frames=4 size=16")
        var pc = PredictorConfig()
        (
            pc.inputChannels, pc.dim, pc.heads, pc.encoderLayers, pc.decoderLayers, pc.feedForward, pc.sourceTokens,
            pc.targetTokens, pc.dropout
        ) = (24, 8, 2, 1, 1, 8, 4, 2, 0.3)
        var rng = SeededRandom(seed: 12)
        let x = Tensor.normal(shape: [2] + config.inputShape, using: &rng)
        let tokens = Tensor.normal(shape: [2, 4, 24], using: &rng)
        func make() throws -> (TrainableBackbone, Predictor, SGD, AdamW) {
            let net = try TrainableBackbone(config: config, seed: 1)
            let predictor = Predictor(config: pc, seed: 2)
            return (
                net, predictor,
                SGD(
                    groups: [ParameterGroup(parameters: net.parameters, weightDecay: 1e-3)], learningRate: 0.05,
                    momentum: 0.9, nesterov: true),
                AdamW(groups: [ParameterGroup(parameters: predictor.parameters, weightDecay: 0.01)], learningRate: 0.01)
            )
        }
        func step(_ m: (TrainableBackbone, Predictor, SGD, AdamW)) {
            m.2.zeroGrad()
            m.3.zeroGrad()
            let out = m.0.forward(x)
            m.0.backward(out.cache, gradients: ["pooled": out.pooled])
            let (y, c) = m.1.forward(tokens)
            _ = m.1.backward(y, cache: c)
            m.2.step()
            m.3.step()
        }
        let a = try make()
        step(a)
        step(a)
        let path = Paths.temporaryDirectory("resume") + "/state"
        var scalars = a.0.batchCounts
        for (i, calls) in a.1.dropoutCalls.enumerated() { scalars["dropout.\(i)"] = Double(calls) }
        try TrainingCheckpoint(
            parameters: a.0.parameters + a.1.parameters, buffers: a.0.buffers, optimizer: nil, scalars: scalars
        ).write(to: path)
        try TrainingCheckpoint(parameters: [], buffers: [], optimizer: a.2).write(to: path + "-sgd")
        try TrainingCheckpoint(parameters: [], buffers: [], optimizer: a.3).write(to: path + "-adamw")
        step(a)
        step(a)
        let b = try make()
        let restored = try TrainingCheckpoint.read(from: path).restore(
            parameters: b.0.parameters + b.1.parameters, buffers: b.0.buffers, optimizer: nil)
        try TrainingCheckpoint.read(from: path + "-sgd").restore(parameters: [], buffers: [], optimizer: b.2)
        try TrainingCheckpoint.read(from: path + "-adamw").restore(parameters: [], buffers: [], optimizer: b.3)
        b.0.batchCounts = restored
        b.1.dropoutCalls = (0..<b.1.dropoutCalls.count).map { UInt64(restored["dropout.\($0)"]!) }
        step(b)
        step(b)
        for (p, q) in zip(a.0.parameters + a.1.parameters, b.0.parameters + b.1.parameters) {
            #expect(p.value == q.value, "\(p.name)")
        }
        for (p, q) in zip(a.0.buffers, b.0.buffers) { #expect(p.value == q.value, "\(p.name)") }
        #expect(a.0.batchCounts == b.0.batchCounts && a.0.batchCounts.values.allSatisfy { $0 == 4 })
        // A checkpoint that does not fit is refused with the names.
        #expect(throws: (any Error).self) {
            try TrainingCheckpoint.read(from: path).restore(
                parameters: [Parameter(name: "other", value: Tensor(shape: [1]), kind: .weight)], buffers: [],
                optimizer: nil)
        }
    }

    @Test("projection head (1x1 Conv1d, BatchNorm1d over rows, ReLU, Conv1d, BatchNorm1d): names, shapes, gradients")
    func projectionHead() {
        let head = ProjectionHead(name: "mq_head", inFeatures: 6, hidden: 10, outFeatures: 4, seed: 3)
        #expect(
            head.parameters.map(\.name) == [
                "mq_head.0.weight", "mq_head.0.bias", "mq_head.1.weight", "mq_head.1.bias", "mq_head.3.weight",
                "mq_head.4.weight", "mq_head.4.bias",
            ])
        #expect(head.parameters[0].shape == [10, 6, 1] && head.parameters[4].shape == [4, 10, 1])
        var rng = SeededRandom(seed: 4)
        for p in head.parameters where p.kind == .norm {
            p.value = Tensor.uniform(shape: p.shape, low: 0.5, high: 1.5, using: &rng)
        }
        var x = Tensor.normal(shape: [12, 6], using: &rng)
        let (y, cache) = head.forward(x)
        let r = Tensor.normal(shape: y.shape, using: &rng)
        let dx = head.backward(r, cache: cache)
        let input = GradCheck.check(&x, analytic: dx, eps: 1e-2) { GradCheck.projection(head.forward($0).0, r) }
        #expect(input.relativeError < 1e-2, "input: \(input)")
        let frozen = x
        // The first conv's bias feeds a batch norm with batch statistics, which subtracts it
        // again: its true gradient is zero, and ours is rounding noise next to the weight's.
        #expect(head.first.bias!.grad.maxAbs() < 1e-5 * head.first.weight.grad.maxAbs())
        for p in head.parameters where p !== head.first.bias! {
            let result = GradCheck.check(p, indices: GradCheck.sample(p.value.count, count: 12, rng: &rng), eps: 1e-2) {
                GradCheck.projection(head.forward(frozen).0, r)
            }
            #expect(result.relativeError < 1e-2, "\(p.name): \(result)")
        }
        print("gradcheck projection head: input \(input.relativeError)")
    }
}
