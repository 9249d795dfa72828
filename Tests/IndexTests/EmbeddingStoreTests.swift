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
        try store.append(vectors: [StoreFixtures.vector(0), StoreFixtures.vector(1)], items: [StoreFixtures.item(0), StoreFixtures.item(1)])
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
