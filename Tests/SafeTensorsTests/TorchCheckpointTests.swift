import Foundation
import SafeTensors
import TestSupport
import Testing

@Suite("PyTorch checkpoints: torch.save zip archives read without Python")
struct TorchCheckpointTests {
    static let directory = Paths.asset("fixtures/checkpoints")
    static func fixture(_ name: String) -> String { directory + "/" + name }

    @Test("a torch.save state dict reads whole: every key in order, num_batches_tracked as a value")
    func plainStateDict() throws {
        let manifest = try FixtureFiles.verifiedManifest(Self.directory)
        let checkpoint = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow.pt"))
        #expect(checkpoint.tensors.count == manifest["state_dict_keys"] as? Int)
        #expect(checkpoint.names.count == checkpoint.tensors.count)
        #expect(checkpoint.names.first == "conv1_s.weight")
        #expect(checkpoint.container == "" && checkpoint.strippedPrefix == "")
        let conv = try #require(checkpoint.tensors["conv1_s.weight"])
        #expect(conv.shape == [24, 3, 1, 7, 7])  // stem 10: (3 * 10 * 147) // (147 + 30) = 24
        #expect(conv.values.contains { $0 != 0 })
        #expect(checkpoint.sourceTypes["conv1_s.weight"] == "float32")
        #expect(checkpoint.sourceTypes["bn1_s.num_batches_tracked"] == "int64")
        #expect(checkpoint.tensors["bn1_s.num_batches_tracked"]?.shape == [])
    }

    @Test("a training checkpoint (state_dict under a key, module. prefix, optimizer state) gives the same tensors")
    func wrappedCheckpoint() throws {
        let plain = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow.pt"))
        let wrapped = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow_wrapped.pt"))
        #expect(wrapped.container == "state_dict")
        #expect(wrapped.strippedPrefix == "module.")
        #expect(wrapped.names == plain.names)
        #expect(wrapped.tensors == plain.tensors)
    }

    @Test("the legacy format (PyTorch before 1.6: pickles, then raw storages) gives the same tensors")
    func legacyFormat() throws {
        let plain = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow.pt"))
        let legacy = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow_legacy.pt"))
        #expect(legacy.names == plain.names)
        #expect(legacy.tensors == plain.tensors)
        #expect(legacy.sourceTypes == plain.sourceTypes)
        // Cut short inside the storages: named as truncated, no crash.
        let full = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("r2p1d_narrow_legacy.pt")))
        let cut = Paths.temporaryDirectory("legacy") + "/cut.pt"
        try full.prefix(full.count - 1000).write(to: URL(fileURLWithPath: cut))
        let error = try #require(throws: TorchCheckpointError.self) { try TorchCheckpoint(path: cut) }
        #expect(error.description.contains("is truncated"), "\(error)")
        // Cut inside the pickles.
        try full.prefix(200).write(to: URL(fileURLWithPath: cut))
        let early = try #require(throws: TorchCheckpointError.self) { try TorchCheckpoint(path: cut) }
        #expect(early.description.contains("truncated"), "\(early)")
    }

    @Test("a prefix selects one sub-network of a pretraining checkpoint")
    func prefixSelectsSubNetwork() throws {
        let plain = try TorchCheckpoint(path: Self.fixture("r2p1d_narrow.pt"))
        let rgb = try TorchCheckpoint(path: Self.fixture("cmd_pretrain_narrow.pt"), prefix: "rgb_backbone.")
        #expect(rgb.container == "model")
        #expect(rgb.tensors == plain.tensors)
        let all = try TorchCheckpoint(path: Self.fixture("cmd_pretrain_narrow.pt"))
        #expect(all.tensors.count == plain.tensors.count + 3)
        #expect(all.tensors["fc.weight"]?.shape == [8, 64])
        #expect(throws: TorchCheckpointError.self) {
            try TorchCheckpoint(path: Self.fixture("r2p1d_narrow.pt"), prefix: "rgb_backbone.")
        }
        let error = try #require(throws: TorchCheckpointError.self) {
            try TorchCheckpoint(path: Self.fixture("cmd_pretrain_narrow.pt"), prefix: "i_backbone.")
        }
        #expect(error.description.contains("no key starting with \"i_backbone.\""))
    }

    @Test("views (transposed, sliced, strided, offset) and every storage type equal PyTorch's values")
    func viewsAndTypes() throws {
        let checkpoint = try TorchCheckpoint(path: Self.fixture("views.pt"))
        let expected = try SafeTensorsReader(path: Self.fixture("views_expected.safetensors"))
        #expect(Set(checkpoint.names) == Set(expected.names))
        for name in expected.names {
            let want = try #require(expected.tensor(name))
            #expect(
                checkpoint.tensors[name] == want,
                "\(name): \(checkpoint.tensors[name].map { "\($0.shape) \($0.values.prefix(6))" } ?? "missing") vs \(want.shape) \(want.values.prefix(6))"
            )
        }
        #expect(checkpoint.sourceTypes["float16"] == "float16" && checkpoint.sourceTypes["bfloat16"] == "bfloat16")
        #expect(checkpoint.tensors["int64"]?.values == [-5, 0, 7, Float(1 << 40)])
    }

    @Test("bad files get one sentence naming the file and the problem")
    func badFiles() throws {
        let scratch = Paths.temporaryDirectory("torch-bad")
        func problem(_ path: String, prefix: String? = nil) -> String {
            do {
                _ = try TorchCheckpoint(path: path, prefix: prefix)
                return "no error"
            } catch let e as TorchCheckpointError {
                #expect(e.description.hasPrefix(path), "error does not start with the path: \(e)")
                #expect(!e.description.contains("\n"))
                return e.description
            } catch {
                return "unexpected error \(error)"
            }
        }
        #expect(problem(scratch + "/absent.pt").contains("does not exist"))
        #expect(problem(scratch).contains("is a directory"))
        #expect(FileManager.default.createFile(atPath: scratch + "/empty.pt", contents: Data()))
        #expect(problem(scratch + "/empty.pt").contains("is empty"))
        #expect(problem(Paths.asset("photos/gravel.jpg")).contains("is not a PyTorch checkpoint"))
        #expect(problem(Self.fixture("views_expected.safetensors")).contains("is not a PyTorch checkpoint"))

        // Cut in half: the directory at the end is gone.
        let full = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("r2p1d_narrow.pt")))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: scratch + "/half.pt"))
        #expect(problem(scratch + "/half.pt").contains("is truncated"))

        // One byte of a storage flipped: the CRC-32 check names the entry.
        var damaged = full
        let at = full.count / 3
        damaged[at] ^= 0x5A
        try damaged.write(to: URL(fileURLWithPath: scratch + "/damaged.pt"))
        let message = problem(scratch + "/damaged.pt")
        #expect(message.contains("CRC-32") || message.contains("data.pkl"), "\(message)")

        // A whole module pickled instead of its state dict.
        let module = problem(Self.fixture("whole_module.pt"))
        #expect(module.contains("torch.nn.modules.linear.Linear") && module.contains("state_dict()"), "\(module)")
    }
}
