import Foundation
import Index
import TestSupport
import Testing

@Suite("decouple search, eval retrieval and store info, end to end")
struct SearchEvalCLITests {
    static func json(_ out: ProcessOutput) throws -> Any { try JSONSerialization.jsonObject(with: out.stdout) }

    @Test("search by id and by video file, one query or a batch, with and without the query's own video")
    func search() throws {
        let videos = try ShortVideos.folder()
        let store = Paths.temporaryDirectory("search") + "/store"
        #expect(try ShortVideos.embed([videos, "-o", store]).status == 0)

        let byID = try run(Paths.decouple, ["search", store, "a/clip_2", "-k", "3", "--json"])
        #expect(byID.status == 0, "\(byID.stderr)")
        let hits = (try Self.json(byID) as! [[String: Any]])[0]["hits"] as! [[String: Any]]
        #expect(
            hits.count == 3 && hits[0]["id"] as? String == "a/clip_2" && abs((hits[0]["score"] as! Double) - 1) < 1e-5)
        #expect(hits.allSatisfy { $0["path"] is String && $0["start_frame"] is Int && $0["end_seconds"] is Double })

        // The same video as a file: embedded with the store's model, it finds its own row first.
        let file = videos + "/b/clip_3.mp4"
        let byFile = try run(Paths.decouple, ["search", store, file, "a/clip_0", "-k", "6", "--json"])
        #expect(byFile.status == 0, "\(byFile.stderr)")
        let batch = try Self.json(byFile) as! [[String: Any]]
        let fileHits = batch[0]["hits"] as! [[String: Any]]
        #expect(batch.count == 2 && batch[0]["kind"] as? String == "file")
        #expect(fileHits[0]["id"] as? String == "b/clip_3" && abs((fileHits[0]["score"] as! Double) - 1) < 1e-4)
        #expect((batch[1]["hits"] as! [[String: Any]])[0]["id"] as? String == "a/clip_0")

        let excluded = try run(Paths.decouple, ["search", store, file, "-k", "10", "--exclude-same-video", "--json"])
        let rest = (try Self.json(excluded) as! [[String: Any]])[0]["hits"] as! [[String: Any]]
        #expect(rest.count == 5 && !rest.contains { $0["id"] as? String == "b/clip_3" })

        let table = try run(Paths.decouple, ["search", store, "a/clip_2", "-k", "2"])
        #expect(
            table.status == 0 && table.text.contains("query a/clip_2 (stored item)")
                && table.text.contains(" rank   score"))

        let missing = try run(Paths.decouple, ["search", store, "no-such-id"])
        #expect(
            missing.status == 1
                && missing.stderr == "decouple: 'no-such-id' is neither an item id of '\(store)' nor a file.\n")
        let usage = try run(Paths.decouple, ["search", store, "a/clip_2", "-k", "0"])
        #expect(usage.status == 64)
        let info = try run(Paths.decouple, ["store", "info", store])
        #expect(info.status == 0 && info.text.contains("6 (6 videos) x 64 float32"))
    }

    @Test("eval retrieval prints the hand-worked recalls as a table and as JSON; bad input exits 1 with one line")
    func evalRetrieval() throws {
        let (store, labels) = try HandMadeRetrieval.make()
        let out = try run(Paths.decouple, ["eval", "retrieval", store, "--labels", labels, "--k", "1,3,5", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let report = (try Self.json(out) as! [String: Any])["report"] as! [String: Any]
        #expect((report["recalls"] as! [[String: Any]]).map { $0["recall"] as! Double } == [0.25, 0.75, 0.75])
        #expect(
            report["nn_accuracy"] as? Double == 0.25 && report["queries"] as? Int == 4
                && report["unmatched_labels"] as? Int == 1)

        let table = try run(Paths.decouple, ["eval", "retrieval", store, "--labels", labels])
        #expect(
            table.status == 0 && table.text.contains("R@1         25.0 %") && table.text.contains("R@5         75.0 %"),
            "\(table.text)")

        let wrongSplit = try run(
            Paths.decouple,
            [
                "eval", "retrieval", store, "--labels", labels, "--query-split", "out-of-context", "--gallery-split",
                "in-context",
            ])
        #expect(
            wrongSplit.status == 1 && wrongSplit.stderr.split(separator: "\n").count == 1
                && wrongSplit.stderr.contains("\"out-of-context\""))
        let noLabels = try run(Paths.decouple, ["eval", "retrieval", store, "--labels", store + "/absent.csv"])
        #expect(noLabels.status == 1 && noLabels.stderr.contains("absent.csv' could not be read"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: store + "/embeddings.npy"))
        let corrupt = try run(Paths.decouple, ["eval", "retrieval", store, "--labels", labels])
        #expect(
            corrupt.status == 1 && corrupt.stderr.contains("embeddings.npy' is not a NumPy .npy file"),
            "\(corrupt.stderr)")
        #expect(try run(Paths.decouple, ["eval", "retrieval", store, "--labels", labels, "--k", "0"]).status == 64)
    }
}
