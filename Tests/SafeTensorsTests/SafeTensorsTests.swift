import Foundation
import TestSupport
import Testing

@testable import SafeTensors

/// Builds a safetensors file by hand (header JSON + raw bytes), independent of our writer.
func handMadeSafeTensors(
    _ entries: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])], metadata: String? = nil
) -> Data {
    var offset = 0
    var items: [String] = []
    if let metadata { items.append("\"__metadata__\":\(metadata)") }
    for e in entries {
        items.append(
            "\"\(e.name)\":{\"dtype\":\"\(e.dtype)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}"
        )
        offset += e.bytes.count
    }
    let header = Array(("{" + items.joined(separator: ",") + "}").utf8)
    var data = Data()
    var n = UInt64(header.count).littleEndian
    withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    for e in entries { data.append(contentsOf: e.bytes) }
    return data
}

func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

@Suite("safetensors")
struct SafeTensorsTests {
    let dir = Paths.temporaryDirectory("safetensors")

    @Test("write then read gives the same tensors, metadata and 8-byte aligned data")
    func roundTrip() throws {
        let path = dir + "/round.safetensors"
        let tensors = [
            "b.weight": FloatTensor(shape: [2, 3], values: [1, -2, 3.5, .pi, -0.0, 1e-30]),
            "a": FloatTensor(shape: [], values: [42]),
            "empty": FloatTensor(shape: [0, 4], values: []),
            "quote\"name": FloatTensor(shape: [1], values: [7]),
        ]
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt", "note": "line\nbreak"], to: path)
        let reader = try SafeTensorsReader(path: path)
        #expect(Set(reader.names) == Set(tensors.keys))
        #expect(reader.metadata == ["format": "pt", "note": "line\nbreak"])
        for (name, t) in tensors { #expect(reader.tensor(name) == t, "\(name)") }
        #expect(reader.tensor("missing") == nil)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(headerLength % 8 == 0)
        // No temporary file is left beside the result.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("round") } == [
                "round.safetensors"
            ])
    }

    @Test("the file PyTorch wrote reads back: F32 weights and I64 num_batches_tracked")
    func readsPyTorchFile() throws {
        let reader = try SafeTensorsReader(path: Paths.asset("fixtures/backbones/r2p1d_narrow_weights.safetensors"))
        #expect(reader.entries.count == 228)
        #expect(reader.entry("conv1_s.weight")?.dtype == .f32)
        #expect(reader.entry("conv1_s.weight")?.shape == [24, 3, 1, 7, 7])
        #expect(reader.entry("bn1_s.num_batches_tracked")?.dtype == .i64)
        // The calibration pass ran once in train mode.
        #expect(reader.tensor("bn1_s.num_batches_tracked")?.values == [1])
        #expect(reader.metadata["model"] == "r2p1d-26")
    }

    @Test("F16, BF16, F64, I64 and I32 convert to float32 exactly")
    func conversions() throws {
        let path = dir + "/dtypes.safetensors"
        // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), -0, inf.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00]
        // BF16: 1, -3, 1.5 * 2^100.
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x71C0]
        let f64: [UInt64] = [0.25, -1e10].map { ($0 as Double).bitPattern }
        let i64: [Int64] = [0, -5, 1 << 40]
        let i32: [Int32] = [7, -8]
        let data = handMadeSafeTensors([
            ("h", "F16", [2, 3], littleEndianBytes(f16)), ("bf", "BF16", [3], littleEndianBytes(bf16)),
            ("d", "F64", [2], littleEndianBytes(f64)), ("n", "I64", [3], littleEndianBytes(i64)),
            ("i", "I32", [2], littleEndianBytes(i32)),
        ])
        try data.write(to: URL(fileURLWithPath: path))
        let r = try SafeTensorsReader(path: path)
        #expect(
            r.tensor("h")
                == FloatTensor(
                    shape: [2, 3],
                    values: [1, -2, 65504, Float(sign: .plus, exponent: -24, significand: 1), -0.0, .infinity]))
        #expect(r.tensor("h")!.values[4].sign == .minus)
        #expect(r.tensor("bf")?.values == [1, -3, 1.5 * Float(sign: .plus, exponent: 100, significand: 1)])
        #expect(r.tensor("d")?.values == [0.25, -1e10])
        #expect(r.tensor("n")?.values == [0, -5, Float(1 << 40)])
        #expect(r.tensor("i")?.values == [7, -8])
    }

    @Test("every F16 bit pattern converts like the hardware conversion")
    func allHalves() {
        for bits in UInt16.min...UInt16.max {
            let ours = halfToFloat(bits)
            let reference = Float(Float16(bitPattern: bits))
            #expect(
                ours.bitPattern == reference.bitPattern || (ours.isNaN && reference.isNaN),
                "0x\(String(bits, radix: 16))")
            if ours.bitPattern != reference.bitPattern && !(ours.isNaN && reference.isNaN) { break }
        }
    }

    @Test(
        "a missing file, a directory, an empty file, random bytes and a text file each fail with one sentence naming the file"
    )
    func notSafeTensors() throws {
        let empty = dir + "/empty.safetensors"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let random = dir + "/random.safetensors"
        var rng = SystemRandomNumberGenerator()
        #expect(
            FileManager.default.createFile(
                atPath: random, contents: Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) })))
        let text = dir + "/text.safetensors"
        #expect(
            FileManager.default.createFile(
                atPath: text, contents: Data("hello, this is not a tensor file at all\n".utf8)))
        let hugeLength = dir + "/huge.safetensors"
        #expect(
            FileManager.default.createFile(
                atPath: hugeLength, contents: Data(littleEndianBytes([UInt64(1) << 40]) + Array("{}".utf8))))
        let cases: [(String, String)] = [
            (dir + "/nope.safetensors", "no such file"), (dir, "is a directory"), (empty, "is not a safetensors file"),
            (random, "not a safetensors file"), (text, "not a safetensors file"),
            (hugeLength, "not a safetensors file"),
        ]
        for (path, phrase) in cases {
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsReader(path: path) }
            #expect(error?.path == path)
            #expect(error?.description.hasPrefix(path + ": ") == true)
            #expect(error?.description.contains(phrase) == true, "\(error?.description ?? "")")
            #expect(error?.description.contains("\n") == false)
        }
    }

    @Test("a file cut short, in the header or in the data, is reported as truncated")
    func truncated() throws {
        let full = try Data(
            contentsOf: URL(fileURLWithPath: Paths.asset("fixtures/backbones/c3d_narrow_weights.safetensors")))
        for keep in [12, 200, full.count / 2, full.count - 1] {
            let path = dir + "/cut\(keep).safetensors"
            try full.prefix(keep).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsReader(path: path) }
            #expect(error?.description.contains("truncated") == true, "\(error?.description ?? "")")
        }
    }

    @Test("a header whose sizes disagree, with an unknown dtype or overlapping tensors, is refused")
    func malformedHeaders() throws {
        let bad: [(Data, String)] = [
            (handMadeSafeTensors([("x", "F32", [3], [UInt8](repeating: 0, count: 8))]), "does not match shape"),
            (handMadeSafeTensors([("x", "U8", [3], [1, 2, 3])]), "not supported"),
            (handMadeSafeTensors([("x", "F32", [-1], [])]), "malformed"),
            (handMadeSafeTensors([], metadata: "{\"k\": 3}"), "malformed"),
        ]
        for (i, (data, phrase)) in bad.enumerated() {
            let path = dir + "/bad\(i).safetensors"
            try data.write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsReader(path: path) }
            #expect(error?.description.contains(phrase) == true, "\(error?.description ?? "")")
        }
        // Two tensors claiming the same bytes.
        var header =
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"
        while header.utf8.count % 8 != 0 { header += " " }
        let overlap = Data(
            littleEndianBytes([UInt64(header.utf8.count)]) + Array(header.utf8) + [UInt8](repeating: 0, count: 8))
        let path = dir + "/overlap.safetensors"
        try overlap.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsReader(path: path) }
        #expect(error?.description.contains("overlap") == true)
    }

    @Test("writing into a missing directory fails naming the file and leaves nothing behind")
    func unwritable() throws {
        let path = dir + "/no/such/dir/out.safetensors"
        let error = #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write(["x": FloatTensor(shape: [1], values: [1])], to: path)
        }
        #expect(error?.path == path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("writing over an existing file replaces it whole")
    func replaces() throws {
        let path = dir + "/replace.safetensors"
        try SafeTensorsWriter.write(
            ["x": FloatTensor(shape: [1000], values: [Float](repeating: 1, count: 1000))], to: path)
        try SafeTensorsWriter.write(["y": FloatTensor(shape: [2], values: [3, 4])], to: path)
        let r = try SafeTensorsReader(path: path)
        #expect(r.names == ["y"])
        #expect(r.tensor("y")?.values == [3, 4])
    }
}
