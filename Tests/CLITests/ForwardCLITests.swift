import Foundation
import TestSupport
import Testing
import VideoData

/// `decouple forward` on the committed PyTorch fixtures, and its refusals.
@Suite("decouple forward (the binary)")
struct ForwardCLITests {
    static let fixtures = Paths.asset("fixtures/backbones")
    static let weights = fixtures + "/r2p1d_narrow_weights.safetensors"
    static let config = "planes=6,8,12,16 stem=10 frames=8 size=28"
    let dir = Paths.temporaryDirectory("forward")

    /// A float32 tensor from a safetensors file, read here from the format's definition
    /// (u64 header length, JSON header, data) rather than through the code under test.
    static func safetensor(_ path: String, _ name: String) throws -> (shape: [Int], values: [Float]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try #require(try JSONSerialization.jsonObject(with: data[8..<(8 + n)]) as? [String: Any])
        let entry = try #require(header[name] as? [String: Any])
        let shape = try #require(entry["shape"] as? [Int])
        let offsets = try #require(entry["data_offsets"] as? [Int])
        let bytes = data[(8 + n + offsets[0])..<(8 + n + offsets[1])]
        let values = bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        }
        return (shape, values)
    }

    static func writeNPY(_ t: (shape: [Int], values: [Float]), to path: String) throws {
        var data = Data(NPY.header(dtype: .float32, shape: t.shape))
        t.values.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test("the output and every stage match PyTorch's")
    func matchesFixture() throws {
        let io = Self.fixtures + "/r2p1d_narrow_io.safetensors"
        let input = dir + "/input.npy"
        let output = dir + "/out.npy"
        let stages = dir + "/stages.safetensors"
        try Self.writeNPY(try Self.safetensor(io, "input"), to: input)
        let r = try run(
            Paths.decouple,
            [
                "forward", "--model", "r2p1d-26", "--config", Self.config, "--weights", Self.weights, "--input", input,
                "-o", output, "--stages", stages,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try FixtureFiles.readFloat32NPY(output)
        let reference = try Self.safetensor(io, "output")
        #expect(ours.shape == reference.shape)
        func relativeError(_ a: [Float], _ b: [Float]) -> Float {
            zip(a, b).map { abs($0 - $1) }.max()! / b.map(abs).max()!
        }
        #expect(relativeError(ours.values, reference.values) <= 1e-4)
        for stage in ["stem_conv", "stem", "layer1", "layer2", "layer3", "layer4"] {
            #expect(
                relativeError(try Self.safetensor(stages, stage).values, try Self.safetensor(io, stage).values) <= 1e-4,
                "\(stage)")
        }
    }

    @Test(
        "a truncated checkpoint, weights of the wrong width and a wrong input each get one sentence and exit 1, with no output"
    )
    func refusals() throws {
        let input = dir + "/x.npy"
        try Self.writeNPY(([1, 3, 8, 28, 28], [Float](repeating: 0.5, count: 3 * 8 * 28 * 28)), to: input)
        let cut = dir + "/cut.safetensors"
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.weights))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let gray = dir + "/gray.npy"
        try Self.writeNPY(([1, 1, 8, 28, 28], [Float](repeating: 0, count: 8 * 28 * 28)), to: gray)
        let cases: [([String], String)] = [
            (["--config", Self.config, "--weights", cut, "--input", input], cut + ": is truncated"),
            (["--weights", Self.weights, "--input", input], Self.weights + " does not fit r2p1d-26:"),
            (
                ["--config", Self.config, "--weights", Self.weights, "--input", gray],
                gray + ": r2p1d-26 takes input [N, 3, T, H, W]"
            ),
            (
                ["--config", Self.config, "--weights", Self.weights, "--input", dir + "/none.npy"],
                dir + "/none.npy: no such file"
            ),
        ]
        for (args, start) in cases {
            let output = dir + "/out-\(UUID().uuidString.prefix(6)).npy"
            let r = try run(Paths.decouple, ["forward", "--model", "r2p1d-26"] + args + ["-o", output])
            #expect(r.status == 1)
            #expect(r.stderr.hasPrefix("decouple: " + start), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
        // The key listing: one line per key after the sentence.
        let wide = try run(
            Paths.decouple,
            ["forward", "--model", "r2p1d-26", "--weights", Self.weights, "--input", input, "-o", dir + "/o.npy"])
        #expect(wide.stderr.split(separator: "\n").count == 1 + 190)
        let usage = try run(Paths.decouple, ["forward", "--model", "r2p1d-26", "--input", input, "-o", dir + "/o.npy"])
        #expect(usage.status == 64)
        let unknown = try run(
            Paths.decouple, ["forward", "--model", "resnet50", "--seed", "1", "--input", input, "-o", dir + "/o.npy"])
        #expect(unknown.status == 64)
    }

    @Test("--seed runs the reference random init of a narrow model")
    func randomInit() throws {
        let input = dir + "/x.npy"
        let output = dir + "/y.npy"
        try Self.writeNPY(([2, 3, 8, 24, 24], (0..<(2 * 3 * 8 * 24 * 24)).map { Float($0 % 17) / 17 }), to: input)
        let r = try run(
            Paths.decouple,
            [
                "forward", "--model", "c3d", "--config", "channels=4,4,8,8,8", "--seed", "3", "--input", input, "-o",
                output,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let y = try FixtureFiles.readFloat32NPY(output)
        #expect(y.shape == [2, 8])
        #expect(y.values.allSatisfy { $0.isFinite })
    }
}
