import Foundation
import Models
import SafeTensors
import Tensor
import TestSupport
import Testing

@Suite("Checkpoint key table and strict loading")
struct CheckpointTests {
    let dir = Paths.temporaryDirectory("checkpoints")

    @Test("R(2+1)D-26's key table is docs/method.md §7.1's: 190 tensors, 26,507,471 parameters")
    func r2plus1dTable() throws {
        let config = try BackboneConfig(modelID: "r2p1d-26")
        let table = CheckpointKeys.table(for: config)
        #expect(table.count == 190)
        let shapes = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0.shape) })
        #expect(shapes["conv1_s.weight"] == [83, 3, 1, 7, 7])
        #expect(shapes["conv1_t.weight"] == [64, 83, 3, 1, 1])
        #expect(shapes["layer1.0.conv2_s.weight"] == [144, 64, 1, 3, 3])
        #expect(shapes["layer1.0.downsample.0.weight"] == [256, 64, 1, 1, 1])
        #expect(shapes["layer4.1.conv2_t.weight"] == [512, 1152, 3, 1, 1])
        #expect(shapes["layer4.0.bn3.running_var"] == [2048])
        #expect(shapes["layer2.1.downsample.0.weight"] == nil)
        #expect(shapes["fc.weight"] == nil)
        #expect(CheckpointKeys.parameterCount(for: config) == 26_507_471)
        #expect(config.embeddingDimension == 2048 && config.inputShape == [3, 16, 112, 112])
    }

    @Test("R3D-26 and C3D tables have PyTorch's parameter counts (26,498,752 and 27,661,440)")
    func otherTables() throws {
        let r3d = try BackboneConfig(modelID: "r3d-26")
        #expect(CheckpointKeys.table(for: r3d).count == 145)
        #expect(CheckpointKeys.parameterCount(for: r3d) == 26_498_752)
        let c3d = try BackboneConfig(modelID: "c3d")
        let table = CheckpointKeys.table(for: c3d)
        #expect(table.count == 48)
        #expect(table.first { $0.name == "conv3b.weight" }?.shape == [256, 256, 3, 3, 3])
        #expect(table.first { $0.name == "conv5b.bias" }?.shape == [512])
        #expect(CheckpointKeys.parameterCount(for: c3d) == 27_661_440)
        #expect(c3d.embeddingDimension == 512)
    }

    @Test("the key table matches the PyTorch state dict of every fixture")
    func tableMatchesFixtures() throws {
        for fixture in try BackboneFixture.load(BackboneFixture.committedDirectory) {
            let file = try SafeTensorsReader(path: fixture.weights)
            let table = CheckpointKeys.table(for: try fixture.backboneConfig())
            let floats = file.entries.filter { !$0.name.hasSuffix("num_batches_tracked") }
            #expect(Set(floats.map(\.name)) == Set(table.map(\.name)), "\(fixture.name)")
            for key in table { #expect(file.entry(key.name)?.shape == key.shape, "\(key.name)") }
        }
    }

    /// The r2p1d fixture's state dict with some damage done.
    func damaged(_ change: (inout [String: FloatTensor]) -> Void) throws -> String {
        let fixture = try #require(BackboneFixture.committed.first { $0.model == "r2p1d-26" })
        var tensors = try SafeTensorsReader(path: fixture.weights).allTensors()
        change(&tensors)
        let path = dir + "/damaged-\(UUID().uuidString.prefix(6)).safetensors"
        try SafeTensorsWriter.write(tensors, to: path)
        return path
    }

    var narrow: BackboneConfig {
        get throws { try #require(BackboneFixture.committed.first { $0.model == "r2p1d-26" }).backboneConfig() }
    }

    @Test("a missing key, an unexpected key and a wrong shape are all listed in one error")
    func everyProblemAtOnce() throws {
        let path = try damaged { t in
            t["layer2.0.conv1.weight"] = nil
            t["bn1_t.running_var"] = nil
            t["fc.weight"] = FloatTensor(shape: [10, 64], values: [Float](repeating: 0, count: 640))
            t["layer3.1.conv2_t.weight"] = FloatTensor(
                shape: [12, 27, 1, 3, 1], values: [Float](repeating: 0, count: 972))
        }
        let error = #expect(throws: CheckpointError.self) { try Backbone(config: try narrow, weightsAt: path) }
        let e = try #require(error)
        #expect(Set(e.missing.map(\.name)) == ["layer2.0.conv1.weight", "bn1_t.running_var"])
        #expect(e.unexpected.map(\.name) == ["fc.weight"])
        #expect(
            e.misshaped == [
                .init(name: "layer3.1.conv2_t.weight", expected: [12, 27, 3, 1, 1], found: [12, 27, 1, 3, 1])
            ])
        let lines = e.description.split(separator: "\n")
        #expect(lines.first?.hasPrefix(path + " does not fit r2p1d-26") == true)
        #expect(lines.first?.contains("2 missing, 1 unexpected, 1 mis-shaped keys") == true)
        #expect(lines.count == 5)
        #expect(e.description.contains("layer3.1.conv2_t.weight: expected [12, 27, 3, 1, 1], found [12, 27, 1, 3, 1]"))
    }

    @Test("full-width weights for a narrow model are refused, key by key")
    func wrongWidth() throws {
        let fixture = try #require(BackboneFixture.committed.first { $0.model == "r2p1d-26" })
        let error = #expect(throws: CheckpointError.self) {
            try Backbone(config: try BackboneConfig(modelID: "r2p1d-26"), weightsAt: fixture.weights)
        }
        #expect(error?.misshaped.count == CheckpointKeys.table(for: try BackboneConfig(modelID: "r2p1d-26")).count)
        #expect(error?.missing.isEmpty == true)
    }

    @Test("num_batches_tracked is optional; a stray one for a layer that does not exist is not")
    func numBatchesTracked() throws {
        let without = try damaged { t in for k in t.keys where k.hasSuffix("num_batches_tracked") { t[k] = nil } }
        _ = try Backbone(config: try narrow, weightsAt: without)
        let stray = try damaged { t in t["layer9.0.bn1.num_batches_tracked"] = FloatTensor(shape: [], values: [1]) }
        let error = #expect(throws: CheckpointError.self) { try Backbone(config: try narrow, weightsAt: stray) }
        #expect(error?.unexpected.map(\.name) == ["layer9.0.bn1.num_batches_tracked"])
    }

    @Test("a truncated file and a file that is not safetensors fail with the file's name")
    func badFiles() throws {
        let fixture = try #require(BackboneFixture.committed.first { $0.model == "r2p1d-26" })
        let whole = try Data(contentsOf: URL(fileURLWithPath: fixture.weights))
        let cut = dir + "/cut.safetensors"
        try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: cut))
        let e1 = #expect(throws: SafeTensorsError.self) { try Backbone(config: try narrow, weightsAt: cut) }
        #expect(e1?.description.hasPrefix(cut + ": is truncated") == true)
        let npy = dir + "/weights.npy"
        try Data([0x93] + Array("NUMPY".utf8) + [1, 0] + [UInt8](repeating: 32, count: 200)).write(
            to: URL(fileURLWithPath: npy))
        let e2 = #expect(throws: SafeTensorsError.self) { try Backbone(config: try narrow, weightsAt: npy) }
        #expect(e2?.description.hasPrefix(npy + ": is not a safetensors file") == true)
    }

    @Test("a prefix selects a sub-module of a larger checkpoint")
    func prefixed() throws {
        let fixture = try #require(BackboneFixture.committed.first { $0.model == "r2p1d-26" })
        var tensors: [String: FloatTensor] = [:]
        for (k, v) in try SafeTensorsReader(path: fixture.weights).allTensors() { tensors["rgb_backbone." + k] = v }
        tensors["fc.weight"] = FloatTensor(shape: [1], values: [0])
        let model = try Backbone(config: try narrow, tensors: tensors, prefix: "rgb_backbone.")
        let input = try #require(try fixture.ioTensors()["input"])
        let reference = try #require(try fixture.ioTensors()["output"])
        #expect(model.forward(input).relativeError(to: reference) <= 1e-4)
        let error = #expect(throws: CheckpointError.self) {
            try Backbone(config: try narrow, tensors: tensors, prefix: "m_backbone.")
        }
        #expect(error?.missing.first?.name.hasPrefix("m_backbone.") == true)
    }
}
