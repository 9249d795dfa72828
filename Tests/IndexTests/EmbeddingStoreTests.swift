import Foundation
import Index
import TestSupport
import Testing

@Suite("EmbeddingStore: files, appends, checks")
struct EmbeddingStoreTests {
    @Test("create, append twice, reopen: the same rows and items; numpy's view agrees")
    func appendAndReopen() throws {
        let dir = StoreFixtures.directory("append")
        let store = try EmbeddingStore.create(at: dir, manifest: StoreFixtures.manifest())
        #expect(store.count == 0)
        try store.append(
            vectors: [StoreFixtures.vector(0), StoreFixtures.vector(1)],
            items: [StoreFixtures.item(0), StoreFixtures.item(1)])
        try store.append(vectors: [StoreFixtures.vector(2)], items: [StoreFixtures.item(2)])
        #expect(store.count == 3)

        let again = try EmbeddingStore(opening: dir)
        #expect(again.count == 3 && again.dimension == 4)
        #expect(again.items == [0, 1, 2].map { StoreFixtures.item($0) })
        #expect(try again.readMatrix() == [0, 1, 2].flatMap { StoreFixtures.vector($0) })
        #expect(try again.readRows(1..<2) == StoreFixtures.vector(1))
        // An independent .npy reader sees the same [3, 4] float32 matrix.
        let npy = try FixtureFiles.readFloat32NPY(dir + "/embeddings.npy")
        let matrix = try again.readMatrix()
        #expect(npy.shape == [3, 4] && npy.values == matrix)
        // The header stays 128 bytes, so appends rewrite it in place.
        let head = try Data(contentsOf: URL(fileURLWithPath: dir + "/embeddings.npy")).prefix(128)
        #expect(String(decoding: head.dropFirst(10), as: UTF8.self).hasSuffix("\n"))
        #expect(FileManager.default.fileExists(atPath: dir + "/manifest.json"))
    }
}

@Suite("EmbeddingStore: bad stores are one sentence naming the file")
struct EmbeddingStoreErrorTests {
    /// A store of three rows to damage.
    static func store(_ name: String) throws -> String {
        let dir = StoreFixtures.directory(name)
        try EmbeddingStore.write(
            to: dir, matrix: (0..<3).flatMap { StoreFixtures.vector($0) },
            items: (0..<3).map { StoreFixtures.item($0) },
            manifest: StoreFixtures.manifest())
        return dir
    }

    static func expectError(_ dir: String, _ fragments: [String]) {
        do {
            _ = try EmbeddingStore(opening: dir)
            Issue.record("opened a bad store")
        } catch let error as StoreError {
            for f in fragments { #expect(error.description.contains(f), "\(error.description)") }
            #expect(error.description.hasSuffix(".") && !error.description.contains("\n"))
        } catch {
            Issue.record("not a StoreError: \(error)")
        }
    }

    static func edit(_ path: String, _ change: (inout Data) -> Void) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&data)
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test("corrupt embeddings.npy: cut short, bad magic, float64, wrong dimension, missing")
    func corruptMatrix() throws {
        var dir = try Self.store("cut")
        try Self.edit(dir + "/embeddings.npy") { $0.removeLast(5) }
        Self.expectError(dir, ["embeddings.npy' is cut short", "2 complete rows", "says 3"])

        dir = try Self.store("magic")
        try Self.edit(dir + "/embeddings.npy") { $0[1] = UInt8(ascii: "X") }
        Self.expectError(dir, ["embeddings.npy' is not a NumPy .npy file"])

        dir = try Self.store("dtype")
        try Self.edit(dir + "/embeddings.npy") { d in
            let at = d.firstRange(of: Data("<f4".utf8))!
            d[at.upperBound - 1] = UInt8(ascii: "8")
        }
        Self.expectError(dir, ["holds <f8 values, not float32"])

        dir = try Self.store("dimension")
        var manifest = try String(contentsOfFile: dir + "/manifest.json", encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "\"dimension\" : 4", with: "\"dimension\" : 5")
        try manifest.write(toFile: dir + "/manifest.json", atomically: true, encoding: .utf8)
        Self.expectError(dir, ["rows of 4 values", "dimension 5"])

        dir = try Self.store("missing")
        try FileManager.default.removeItem(atPath: dir + "/embeddings.npy")
        Self.expectError(dir, ["embeddings.npy' is missing"])
    }

    @Test("corrupt items.jsonl or manifest.json: bad line, missing key, too few lines, other model, repeated id")
    func corruptItems() throws {
        var dir = try Self.store("badline")
        try Self.edit(dir + "/items.jsonl") { d in
            var lines = String(decoding: d, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            lines[1] = "{not json"
            d = Data(lines.joined(separator: "\n").utf8)
        }
        Self.expectError(dir, ["items.jsonl' line 2 is not a valid item", "not JSON"])

        dir = try Self.store("nokey")
        try Self.edit(dir + "/items.jsonl") { d in
            d = Data(
                String(decoding: d, as: UTF8.self).replacingOccurrences(of: "\"path\":\"/videos/v2.mp4\",", with: "")
                    .utf8)
        }
        Self.expectError(dir, ["line 3 is not a valid item", "missing \"path\""])

        dir = try Self.store("short")
        try Self.edit(dir + "/items.jsonl") { d in
            let text = String(decoding: d, as: UTF8.self)
            d = Data((text.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n{\"id\"").utf8)
        }
        Self.expectError(dir, ["has 2 complete lines", "says 3 rows"])

        dir = try Self.store("model")
        try Self.edit(dir + "/items.jsonl") { d in
            d = Data(
                String(decoding: d, as: UTF8.self).replacingOccurrences(
                    of: "\"id\":\"v1\",\"model\":\"r2p1d-26\"", with: "\"id\":\"v1\",\"model\":\"c3d\""
                ).utf8)
        }
        Self.expectError(dir, ["line 2 is an item of model c3d", "holds r2p1d-26"])

        dir = try Self.store("repeat")
        try Self.edit(dir + "/items.jsonl") { d in
            d = Data(
                String(decoding: d, as: UTF8.self).replacingOccurrences(of: "\"id\":\"v2\"", with: "\"id\":\"v0\"").utf8
            )
        }
        Self.expectError(dir, ["line 3 repeats the id \"v0\""])

        dir = try Self.store("manifest")
        try "{\"model\": 3}".write(toFile: dir + "/manifest.json", atomically: true, encoding: .utf8)
        Self.expectError(dir, ["manifest.json' is not a valid store manifest"])

        let notStore = Paths.temporaryDirectory("empty")
        Self.expectError(notStore, ["is not an embedding store (it has no manifest.json)"])
        Self.expectError(notStore + "/nothing", ["does not exist"])
    }

    @Test("appends: other models refused, ids made unique, one writer at a time, numpy-written headers grow")
    func appendRules() throws {
        let dir = StoreFixtures.directory("rules")
        let store = try EmbeddingStore.create(at: dir, manifest: StoreFixtures.manifest())
        #expect(throws: StoreError.self) {
            try store.append(vectors: [StoreFixtures.vector(0)], items: [StoreFixtures.item(0, model: "c3d")])
        }
        #expect(store.count == 0)
        try store.append(vectors: [StoreFixtures.vector(0)], items: [StoreFixtures.item(0)])
        let stored = try store.append(
            vectors: [StoreFixtures.vector(1), StoreFixtures.vector(2)],
            items: [StoreFixtures.item(0), StoreFixtures.item(0)])
        #expect(stored.map(\.id) == ["v0_2", "v0_3"])
        #expect(throws: StoreError.self) { try EmbeddingStore(opening: dir, forWriting: true) }
        #expect(try EmbeddingStore(opening: dir).count == 3)  // readers need no lock

        // A store numpy wrote itself (np.save pads its header to 128 bytes too) takes appends.
        let numpyStyle = StoreFixtures.directory("numpy")
        try EmbeddingStore.write(
            to: numpyStyle, matrix: StoreFixtures.vector(5), items: [StoreFixtures.item(5)],
            manifest: StoreFixtures.manifest())
        try Self.edit(numpyStyle + "/embeddings.npy") { d in
            let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }"
            let text = dict + String(repeating: " ", count: 128 - 10 - dict.utf8.count - 1) + "\n"
            d =
                Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.utf8.count), 0] + Array(text.utf8))
                + d.dropFirst(128)
        }
        let grown = try EmbeddingStore(opening: numpyStyle, forWriting: true)
        try grown.append(vectors: [StoreFixtures.vector(6)], items: [StoreFixtures.item(6)])
        let npy = try FixtureFiles.readFloat32NPY(numpyStyle + "/embeddings.npy")
        #expect(npy.shape == [2, 4] && npy.values == StoreFixtures.vector(5) + StoreFixtures.vector(6))
    }
}
