import Foundation
import Index
import TestSupport
import Testing

/// A gallery and queries in 2-D whose neighbours can be worked out by hand.
///
/// gallery (train): g0 (1, 0) A · g1 (0, 1) B · g2 (-1, 0) C · g3 (0.8, 0.6) B
/// queries (test):
/// - q0 (1, 0.1) A: cosines g0 .995, g3 .856, g1 .100, g2 -.995 → A first: hit at every k.
/// - q1 mean of two clips (1.2, 0.8) and (0, 0.8) = (0.6, 0.8) A: g3 .96, g1 .8, g0 .6 → A third.
/// - q2 (-0.1, 1) C: g1 .995, g3 .517, g2 .100, g0 -.100 → C third.
/// - q3 (0, -1) D: no gallery video of class D, never a hit.
///
/// Recall at 1 and 2: 1/4 (q0); at 3 and beyond: 3/4. 1-NN accuracy 1/4; per class A 1/2, C 0,
/// D 0, so class-balanced 1/6.
enum HandMadeRetrieval {
    static let rows: [(id: String, file: String, vector: [Float])] = [
        ("g0", "videos/g0.mp4", [1, 0]), ("g1", "videos/g1.mp4", [0, 1]), ("g2", "videos/g2.mp4", [-1, 0]),
        ("g3", "videos/g3.mp4", [0.8, 0.6]), ("q0", "videos/q0.mp4", [1, 0.1]), ("q1@0", "videos/q1.mp4", [1.2, 0.8]),
        ("q1@16", "videos/q1.mp4", [0, 0.8]), ("q2", "videos/q2.mp4", [-0.1, 1]), ("q3", "videos/q3.mp4", [0, -1]),
        ("extra", "videos/extra.mp4", [5, 5]),
    ]
    // q3 is labelled by id (the fallback); one line names a file the store does not hold.
    static let csv = """
        path,class,split
        videos/g0.mp4,A,train
        videos/g1.mp4,B,train
        "videos/g2.mp4",C,train
        videos/g3.mp4,B,train
        videos/q0.mp4,A,test
        ./videos/q1.mp4,A,test
        videos/sub/../q2.mp4,C,test
        q3,D,test
        videos/missing.mp4,A,test

        """

    /// Writes the store and labels under a fresh directory; returns (store, labels file).
    static func make() throws -> (store: String, labels: String) {
        let dir = Paths.temporaryDirectory("retrieval")
        var manifest = StoreFixtures.manifest(dimension: 2)
        manifest.sampling.pooling = "none"
        let items = rows.map {
            EmbeddingItem(
                id: $0.id, path: dir + "/" + $0.file, startFrame: 0, endFrame: 16, startSeconds: 0, endSeconds: 1,
                model: "r2p1d-26", clips: 1)
        }
        try EmbeddingStore.write(to: dir + "/store", matrix: rows.flatMap(\.vector), items: items, manifest: manifest)
        try csv.write(toFile: dir + "/labels.csv", atomically: true, encoding: .utf8)
        return (dir + "/store", dir + "/labels.csv")
    }
}

@Suite("Retrieval evaluation: the CMD protocol on a hand-made example")
struct RetrievalEvaluationTests {
    @Test("recall at k, NN accuracy and class-balanced accuracy equal the values worked out by hand")
    func handMade() throws {
        let (storePath, labelsPath) = try HandMadeRetrieval.make()
        let report = try RetrievalEvaluation.evaluate(
            store: try EmbeddingStore(opening: storePath), labels: try RetrievalLabels(contentsOf: labelsPath),
            ks: [1, 2, 3, 5, 10, 20, 50])
        #expect(report.queries == 4 && report.gallery == 4 && report.classes == 3)
        #expect(report.recalls.map(\.recall) == [0.25, 0.25, 0.75, 0.75, 0.75, 0.75, 0.75])
        #expect(report.recall(at: 1) == 0.25 && report.recall(at: 3) == 0.75)
        #expect(report.nearestNeighbourAccuracy == 0.25)
        #expect(abs(report.classBalancedAccuracy - 1.0 / 6) < 1e-12)
        #expect(report.unmatchedLabels == 1 && report.unlabelledVideos == 1)
        #expect(report.querySplit == "test" && report.gallerySplit == "train")

        // Swapping the roles: the gallery videos become queries.
        let swapped = try RetrievalEvaluation.evaluate(
            store: try EmbeddingStore(opening: storePath), labels: try RetrievalLabels(contentsOf: labelsPath),
            querySplit: "train", gallerySplit: "test", ks: [1])
        // g0 → q0 (A) hit; g1 → q2 (C, .995) miss; g2 → q2 (C, .100) hit; g3 → q1 (A, .96) miss.
        #expect(swapped.recall(at: 1) == 0.5)
    }

    @Test("a split with no labelled video in the store is one sentence naming the splits present")
    func missingSplit() throws {
        let (storePath, labelsPath) = try HandMadeRetrieval.make()
        let error = #expect(throws: StoreError.self) {
            try RetrievalEvaluation.evaluate(
                store: try EmbeddingStore(opening: storePath), labels: try RetrievalLabels(contentsOf: labelsPath),
                querySplit: "out-of-context", gallerySplit: "in-context")
        }
        #expect(error?.description.contains("\"out-of-context\"") == true)
        #expect(error?.description.contains("splits in the file: train, test") == true)
    }

    @Test("labels: quoted fields, any column order, an id column; bad files are one sentence with the line")
    func labelsParsing() throws {
        let labels = try RetrievalLabels(
            parsing: "split,class,path\ntrain,\"a, b\",\"x\"\"y.mp4\"\n", file: "l.csv", baseDirectory: "/data")
        #expect(
            labels.entries == [.init(key: "x\"y.mp4", path: "/data/x\"y.mp4", label: "a, b", split: "train", line: 2)])
        let ids = try RetrievalLabels(
            parsing: "id,class,split\nclip1,run,test\n", file: "l.csv", baseDirectory: "/data")
        #expect(ids.entries[0].path == nil && ids.entries[0].key == "clip1")
        for (text, message) in [
            ("file,label\na,b\n", "needs the columns path (or id), class and split"),
            ("path,class,split\na.mp4,x\n", "line 2 has 2 fields"),
            ("path,class,split\n\"a.mp4,x,train\n", "line 2 has an unclosed quote"),
            ("", "is empty"),
        ] {
            #expect(throws: StoreError.self) { try RetrievalLabels(parsing: text, file: "l.csv", baseDirectory: "/") }
            do { _ = try RetrievalLabels(parsing: text, file: "l.csv", baseDirectory: "/") } catch let e as StoreError {
                #expect(e.description.contains(message) && e.description.contains("'l.csv'"), "\(e)")
            }
        }
    }
}
