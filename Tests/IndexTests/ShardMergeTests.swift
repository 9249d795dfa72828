import Foundation
import Index
import TestSupport
import Testing
import VideoData

@Suite("Shards and merging")
struct ShardMergeTests {
    @Test("shards of any count are disjoint and complete, and do not depend on input order", arguments: [1, 2, 3, 7])
    func partitions(count: Int) {
        let keys = (0..<500).map { "class\($0 % 9)/video_\($0).mp4" }
        let shards = (0..<count).map { Shard(index: $0, count: count) }
        var seen: [String: Int] = [:]
        for shard in shards {
            for key in keys where shard.contains(key) { seen[key, default: 0] += 1 }
        }
        #expect(seen.count == keys.count && seen.values.allSatisfy { $0 == 1 })
        let forward = keys.filter { shards[0].contains($0) }
        let backward = keys.reversed().filter { shards[0].contains($0) }
        #expect(forward == backward.reversed())
        if count > 1 {
            // Roughly balanced: every shard gets at least half its share of 500 keys.
            for shard in shards { #expect(keys.filter { shard.contains($0) }.count > 500 / count / 2) }
        }
    }

    @Test("--shard parsing accepts i/n with 0 <= i < n only")
    func parsing() {
        #expect(Shard(parsing: "0/1") == Shard(index: 0, count: 1))
        #expect(Shard(parsing: "3/4") == Shard(index: 3, count: 4))
        for bad in ["4/4", "-1/3", "1/0", "1", "a/b", "1/2/3", ""] { #expect(Shard(parsing: bad) == nil, "\(bad)") }
        // FNV-1a is fixed: the same key goes to the same shard on every machine and run.
        #expect(Shard.shard(of: "a", count: 1 << 20) == Int(0xAF63_DC4C_8601_EC8C % UInt64(1 << 20)))
    }

    @Test(
        "merge refuses stores whose frames were converted to RGB differently; a store from before the field reads as accurate"
    )
    func mixedConversions() throws {
        let a = StoreFixtures.directory("rgb-a")
        let b = StoreFixtures.directory("rgb-b")
        try EmbeddingStore.write(
            to: a, matrix: StoreFixtures.vector(0), items: [StoreFixtures.item(0)],
            manifest: StoreFixtures.manifest(rgb: .modelscope))
        try EmbeddingStore.write(
            to: b, matrix: StoreFixtures.vector(1), items: [StoreFixtures.item(1)],
            manifest: StoreFixtures.manifest(rgb: .accurate))
        let out = StoreFixtures.directory("rgb-out")
        try? FileManager.default.removeItem(atPath: out)
        let refused = #expect(throws: StoreError.self) { try StoreMerge.merge([a, b], into: out) }
        #expect(refused?.description.contains("converted to RGB the accurate way, not the modelscope way") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
        // An old manifest without "rgb" is an accurate store.
        var old = StoreFixtures.manifest(rgb: .accurate)
        old.rgb = nil
        #expect(old.rgbConversion == .accurate && old.mismatch(with: StoreFixtures.manifest(rgb: .accurate)) == nil)
        #expect(old.mismatch(with: StoreFixtures.manifest(rgb: .modelscope)) != nil)
    }

    @Test("merge joins stores in order, drops rows already merged, renames repeated ids")
    func merge() throws {
        let a = StoreFixtures.directory("merge-a")
        let b = StoreFixtures.directory("merge-b")
        try EmbeddingStore.write(
            to: a, matrix: [0, 1].flatMap { StoreFixtures.vector($0) }, items: [0, 1].map { StoreFixtures.item($0) },
            manifest: StoreFixtures.manifest())
        // b holds v1 again (same content and frames: a duplicate) and v2, and an item named v0
        // with other content (kept, renamed).
        var other = StoreFixtures.item(7)
        other.id = "v0"
        try EmbeddingStore.write(
            to: b, matrix: [1, 2, 7].flatMap { StoreFixtures.vector($0) },
            items: [StoreFixtures.item(1), StoreFixtures.item(2), other],
            manifest: StoreFixtures.manifest())
        let out = Paths.temporaryDirectory("merged") + "/store"
        let summary = try StoreMerge.merge([a, b], into: out)
        #expect(summary == StoreMerge.Summary(rows: 4, duplicates: 1, renamed: 1))
        let merged = try EmbeddingStore(opening: out)
        #expect(merged.items.map(\.id) == ["v0", "v1", "v2", "v0_2"])
        #expect(try merged.readMatrix() == [0, 1, 2, 7].flatMap { StoreFixtures.vector($0) })
        #expect(merged.manifest.tool == "decouple store merge")
        #expect(throws: StoreError.self) { try StoreMerge.merge([a], into: out) }
        #expect(try StoreMerge.merge([a], into: out, replace: true).rows == 2)
    }

    @Test("merge refuses stores of different models, weights or dimensions, naming both, and writes nothing")
    func mergeRefuses() throws {
        let a = StoreFixtures.directory("refuse-a")
        try EmbeddingStore.write(
            to: a, matrix: StoreFixtures.vector(0), items: [StoreFixtures.item(0)], manifest: StoreFixtures.manifest())
        let cases: [(EmbeddingManifest, EmbeddingItem, String)] = [
            (
                StoreFixtures.manifest(model: "r3d-26"), StoreFixtures.item(1, model: "r3d-26"),
                "model r3d-26, not r2p1d-26"
            ),
            (StoreFixtures.manifest(seed: 9), StoreFixtures.item(1), "weights random (seed 9), not random (seed 0)"),
        ]
        for (manifest, item, phrase) in cases {
            let b = StoreFixtures.directory("refuse-b")
            try EmbeddingStore.write(to: b, matrix: StoreFixtures.vector(1), items: [item], manifest: manifest)
            let out = Paths.temporaryDirectory("refused")
            let error = #expect(throws: StoreError.self) { try StoreMerge.merge([a, b], into: out + "/store") }
            #expect(
                error?.description.contains(phrase) == true
                    && error?.description.contains("cannot be merged with '\(a)'") == true,
                "\(String(describing: error))")
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
        }
        let wide = StoreFixtures.directory("refuse-wide")
        try EmbeddingStore.write(
            to: wide, matrix: StoreFixtures.vector(1, dimension: 8), items: [StoreFixtures.item(1)],
            manifest: StoreFixtures.manifest(dimension: 8))
        #expect(throws: StoreError.self) {
            try StoreMerge.merge([a, wide], into: Paths.temporaryDirectory("refused") + "/store")
        }
    }
}
