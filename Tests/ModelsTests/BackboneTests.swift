import Foundation
import Models
import SafeTensors
import Tensor
import TestSupport
import Testing

@Suite("Backbone configurations, random init and concurrency")
struct BackboneTests {
    @Test("model ids and overrides parse; bad ones say what is wrong")
    func configs() throws {
        let c = try BackboneConfig(modelID: "r2p1d-26").applying(
            overrides: "planes=16,32,64,128 stem=16 frames=8;size=32")
        #expect(c.widths == [16, 32, 64, 128] && c.stemChannels == 16 && c.frames == 8 && c.size == 32)
        #expect(c.embeddingDimension == 512)
        #expect(c.description == "r2p1d-26 planes=16,32,64,128 stem=16 frames=8 size=32")
        #expect(
            try BackboneConfig(modelID: "r2p1d-26").applying(
                overrides: c.description.replacingOccurrences(of: "r2p1d-26 ", with: "")) == c)
        #expect(BackboneConfig.compactR2Plus1D.embeddingDimension == 512)
        // PyTorch: sum(p.numel()) of cmd_backbones.build("r2p1d-26", "planes=16,32,64,128 stem=16")
        #expect(CheckpointKeys.parameterCount(for: .compactR2Plus1D) == 1_669_444)
        #expect(try BackboneConfig(modelID: "c3d").applying(overrides: "channels=8,8,8,8,24").embeddingDimension == 24)
        #expect(throws: ModelError("unknown model \"r2p1d-18\"; use one of r2p1d-26, r3d-26, c3d")) {
            try BackboneConfig(modelID: "r2p1d-18")
        }
        #expect(throws: ModelError.self) { try BackboneConfig(modelID: "r3d-26").applying(overrides: "planes=1,2,3") }
        #expect(throws: ModelError.self) { try BackboneConfig(modelID: "c3d").applying(overrides: "stem=3") }
        #expect(throws: ModelError.self) { try BackboneConfig(modelID: "c3d").applying(overrides: "depth=3") }
        #expect(throws: ModelError.self) { try BackboneConfig(modelID: "c3d").applying(overrides: "frames=0") }
    }

    @Test("random init is reproducible, follows the reference init and gives finite outputs")
    func randomInit() throws {
        let config = try BackboneConfig(modelID: "r2p1d-26").applying(
            overrides: "planes=8,8,8,8 stem=8 frames=4 size=16")
        let a = Backbone.randomStateDict(config: config, seed: 1)
        #expect(a == Backbone.randomStateDict(config: config, seed: 1))
        #expect(a != Backbone.randomStateDict(config: config, seed: 2))
        #expect(a["layer1.0.bn3.weight"]!.values.allSatisfy { $0 == 0 })
        #expect(a["layer1.0.bn1.weight"]!.values.allSatisfy { $0 == 1 })
        #expect(a["bn1_s.running_var"]!.values.allSatisfy { $0 == 1 })
        // Kaiming normal, fan_out: std sqrt(2 / (Cout kT kH kW)).
        let w = a["layer2.0.conv2_s.weight"]!
        let fanOut = Double(w.shape[0] * 9)
        let std = (w.values.reduce(0) { $0 + Double($1 * $1) } / Double(w.count)).squareRoot()
        #expect(abs(std / (2 / fanOut).squareRoot() - 1) < 0.2)
        var rng = SeededRandom(seed: 3)
        let x = Tensor.normal(shape: [2, 3, 4, 16, 16], using: &rng)
        let y = try Backbone(config: config, seed: 1).forward(x)
        #expect(y.shape == [2, 32] && y.isFinite && y.maxAbs() > 0)
        #expect(y == (try Backbone(config: config, seed: 1).forward(x)))
    }

    @Test("inputs that a layer cannot cover are refused before running")
    func validation() throws {
        let model = try Backbone(
            config: try BackboneConfig(modelID: "c3d").applying(overrides: "channels=4,4,4,4,4"), seed: 1)
        try model.validate(inputShape: [1, 3, 8, 16, 16])
        #expect(throws: ModelError.self) { try model.validate(inputShape: [1, 3, 4, 16, 16]) }
        #expect(throws: ModelError.self) { try model.validate(inputShape: [1, 1, 8, 16, 16]) }
        #expect(throws: ModelError.self) { try model.validate(inputShape: [3, 8, 16, 16]) }
    }

    @Test("threads running one clip each on one shared model get the sequential results")
    func concurrentCallers() throws {
        let fixture = try #require(BackboneFixture.committed.first { $0.model == "r3d-26" })
        let model = try Backbone(config: try fixture.backboneConfig(), weightsAt: fixture.weights)
        var rng = SeededRandom(seed: 8)
        let clips = (0..<6).map { _ in Tensor.normal(shape: [1, 3, 8, 28, 28], using: &rng) }
        let expected = clips.map { model.forward($0) }
        let results = UnsafeMutableBufferPointer<Tensor>.allocate(capacity: clips.count)
        results.initialize(repeating: Tensor(shape: [0]))
        defer { results.deallocate() }
        let box = UncheckedSendable(results)
        BLAS.setThreads(1)
        DispatchQueue.concurrentPerform(iterations: clips.count) { i in
            box.value[i] = model.forward(clips[i])
        }
        #expect(Array(results) == expected)
    }
}
