import Foundation
import FuzzTargets
import Index
import Models
import SafeTensors
import TestSupport
import Testing
import VideoData

/// The inputs that trapped before their fix (each in Fuzz/corpus/<harness>/regression-*), now
/// refused with one sentence.
@Suite("Fuzz regressions: hostile sizes are refused, not trapped on")
struct FuzzRegressionTests {
    static func input(_ harness: String, _ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: Paths.root + "/Fuzz/corpus/\(harness)/\(name)"))
    }

    static func write(_ data: Data, _ name: String) -> String {
        let path = Paths.temporaryDirectory("fuzz-regression") + "/" + name
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    @Test("safetensors: a shape whose byte count overflows Int (shape [2^62] of F32)")
    func safetensorsByteCount() throws {
        let path = Self.write(try Self.input("safetensors", "regression-byte-count-overflow"), "a.safetensors")
        let text = Self.message { _ = try SafeTensorsReader(path: path) }
        #expect(text?.contains("does not match shape [4611686018427387904] of F32") == true, "\(text ?? "no error")")
    }

    @Test("torch: a ZIP64 locator pointing at offset 2^64-1")
    func zip64RecordOffset() throws {
        let path = Self.write(try Self.input("torch", "regression-zip64-record-offset"), "a.pt")
        let text = Self.message { _ = try TorchCheckpoint(path: path) }
        #expect(text?.contains("no ZIP64 end-of-central-directory record") == true, "\(text ?? "no error")")
    }

    @Test("torch: a ZIP64 extra field giving data.pkl a local header at 2^64-1")
    func zip64LocalOffset() throws {
        let path = Self.write(try Self.input("torch", "regression-zip64-local-offset"), "a.pt")
        let text = Self.message { _ = try TorchCheckpoint(path: path) }
        #expect(text?.contains("no local header for archive/data.pkl") == true, "\(text ?? "no error")")
    }

    @Test("pickle: BINBYTES8 with a length above Int.max (found by the pickle harness)")
    func pickleBinBytes8Length() throws {
        let pickle = try Self.input("pickle", "regression-binbytes8-length")
        let path = Self.write(FuzzTargets.pickleArchive(pickle), "a.pt")
        let text = Self.message { _ = try TorchCheckpoint(path: path) }
        #expect(text?.contains("has a truncated data.pkl (it ends inside a value)") == true, "\(text ?? "no error")")
    }

    @Test(".npy: a shape whose element count overflows Int, and a negative shape")
    func npyShapes() throws {
        let huge = Self.write(try Self.input("npy", "regression-shape-overflow"), "huge.npy")
        let hugeText = Self.message { _ = try NPYFile.readFloat32(huge) }
        #expect(hugeText?.contains("too large to hold in memory") == true, "\(hugeText ?? "no error")")
        let negative = try Self.input("npy", "regression-negative-shape")
        #expect(NPY.parseHeader([UInt8](negative)) == nil)
        let path = Self.write(negative, "negative.npy")
        let negativeText = Self.message { _ = try NPYFile.readFloat32(path) }
        #expect(negativeText?.contains("is not a .npy file") == true, "\(negativeText ?? "no error")")
    }

    @Test("--config: a value so large that the preprocessing size overflows")
    func configHugeSize() throws {
        let text = String(decoding: try Self.input("config", "regression-huge-size"), as: UTF8.self)
        let message = Self.message { _ = try BackboneConfig(.r2plus1d).applying(overrides: text) }
        #expect(message == "config item \"size=9223372036854775807\" has a value above 1000000")
        #expect(try BackboneConfig(.c3d).applying(overrides: "size=1000000").size == 1_000_000)
    }

    @Test("store: a dimension of 2^62 in both the manifest and the matrix header")
    func storeHugeDimension() throws {
        let directory = Paths.temporaryDirectory("fuzz-store") + "/store"
        let d = 1 << 62
        let manifest = EmbeddingManifest(
            model: "r2p1d-26", config: "r2p1d-26", weights: .init(file: nil, sha256: nil, random: true, seed: 0),
            preprocessing: .modelScope,
            sampling: .init(rule: "modelscope", clips: 10, frames: 16, stride: 4, hop: nil, pooling: "mean"),
            dimension: 4, count: 0, rgb: .modelscope)
        try EmbeddingStore.write(to: directory, matrix: [], items: [], manifest: manifest)
        let manifestPath = directory + "/" + EmbeddingStore.manifestFile
        let json = try String(contentsOfFile: manifestPath, encoding: .utf8)
            .replacingOccurrences(of: "\"dimension\" : 4", with: "\"dimension\" : \(d)")
        try json.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let npy = Data(NPY.header(dtype: .float32, shape: [0, d]))
        try npy.write(to: URL(fileURLWithPath: directory + "/" + EmbeddingStore.matrixFile))
        let text = Self.message { _ = try EmbeddingStore(opening: directory) }
        #expect(text?.contains("has rows of \(d) values, more than a file can hold") == true, "\(text ?? "no error")")
    }
}
