import Foundation
import Models
import SafeTensors
import Tensor
import TestSupport
import Testing

/// torch.save checkpoints through the reader and the strict loader, run against PyTorch's
/// own output (fixtures from scripts/make_checkpoint_fixtures.py).
@Suite("PyTorch checkpoints load strictly and run like PyTorch")
struct CheckpointImportTests {
    static let directory = Paths.asset("fixtures/checkpoints")
    static func fixture(_ name: String) -> String { directory + "/" + name }

    static func config() throws -> BackboneConfig {
        let manifest = try FixtureFiles.verifiedManifest(directory)
        return try BackboneConfig(modelID: manifest["model"] as! String).applying(
            overrides: manifest["config"] as! String)
    }

    @Test(
        "every layout of the same weights (plain, DataParallel-wrapped, pretraining sub-network) gives PyTorch's output"
    )
    func outputsMatchPyTorch() throws {
        let cfg = try Self.config()
        let io = try SafeTensorsReader(path: Self.fixture("r2p1d_narrow_io.safetensors"))
        let input = try #require(io.tensor("input"))
        let expected = try #require(io.tensor("output_fp64"))
        for (file, prefix) in [
            ("r2p1d_narrow.pt", nil), ("r2p1d_narrow_wrapped.pt", nil), ("cmd_pretrain_narrow.pt", "rgb_backbone."),
        ] {
            let checkpoint = try TorchCheckpoint(path: Self.fixture(file), prefix: prefix)
            let model = try Backbone(config: cfg, tensors: checkpoint.tensors, source: file)
            let out = model.forward(Tensor(shape: input.shape, data: input.values), threads: 2)
            #expect(out.shape == expected.shape)
            let scale = expected.values.map { abs($0) }.max()!
            let worst = zip(out.data, expected.values).map { abs($0 - $1) }.max()!
            #expect(worst / scale <= 1e-4, "\(file): max |swift - torch fp64| / max |torch| = \(worst / scale)")
        }
    }

    @Test("converted safetensors round-trip: the file holds the checkpoint's tensors and loads")
    func convertedFileLoads() throws {
        let cfg = try Self.config()
        let checkpoint = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow_wrapped.pt"))
        let path = Paths.temporaryDirectory("convert") + "/narrow.safetensors"
        try SafeTensorsWriter.write(checkpoint.tensors, to: path)
        let reader = try SafeTensorsReader(path: path)
        #expect(reader.allTensors() == checkpoint.tensors)
        _ = try Backbone(config: cfg, weightsAt: path)
    }

    @Test("a wrong shape or a missing key is reported key by key")
    func brokenStateDicts() throws {
        let cfg = try Self.config()
        let wrong = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow_wrong_shape.pt"))
        let e1 = try #require(throws: CheckpointError.self) {
            try Backbone(config: cfg, tensors: wrong.tensors, source: "wrong.pt")
        }
        #expect(Set(e1.misshaped.map(\.name)) == ["layer2.0.conv2_s.weight", "bn1_s.running_var"])
        #expect(e1.missing.isEmpty && e1.unexpected.isEmpty)
        #expect(e1.description.contains("expected [18, 8, 1, 3, 3], found [19, 8, 1, 3, 3]"))
        let missing = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow_missing_key.pt"))
        let e2 = try #require(throws: CheckpointError.self) {
            try Backbone(config: cfg, tensors: missing.tensors, source: "missing.pt")
        }
        #expect(Set(e2.missing.map(\.name)) == ["conv1_t.weight", "layer3.1.bn2_t.running_mean"])
        // The whole pretraining checkpoint without a prefix has the other sub-networks' keys.
        let all = try TorchCheckpoint(path: Self.fixture("cmd_pretrain_narrow.pt"))
        let e3 = try #require(throws: CheckpointError.self) {
            try Backbone(config: cfg, tensors: all.tensors, source: "pretrain.pt")
        }
        #expect(e3.missing.count == 190 && e3.unexpected.contains { $0.name == "fc.weight" })
    }
}
