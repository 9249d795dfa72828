import Embed
import Foundation
import Index
import Models
import TestSupport
import Testing

@Suite("The scene-bias protocol's pieces: the models of the table, the view weights choose picks, the labels it needs")
struct SceneBiasEvaluationTests {
    static func row(_ method: String, out: Double, inside: Double) -> SceneBiasRow {
        let recall = { (r: Double) in [RetrievalReport.Recall(k: 1, recall: r)] }
        return SceneBiasRow(
            method: method, outOfContext: recall(out), inContext: recall(inside), sceneReliance: inside - out,
            queries: 9, gallery: 9, classes: 9)
    }

    @Test("the random baseline in two views, then every weights file in every view, in order")
    func models() {
        let cfg = BackboneConfig(.r2plus1d)
        let models = SceneBiasEvaluation.models(
            config: cfg, weights: ["/w/a.safetensors", "b.safetensors"], views: ["video:pooled", "motion"],
            randomBaseline: true)
        #expect(
            models.map(\.name) == [
                "\(cfg), random weights, video:pooled view", "\(cfg), random weights, video:residual view",
                "a.safetensors, video:pooled view", "a.safetensors, motion view", "b.safetensors, video:pooled view",
                "b.safetensors, motion view",
            ])
        #expect(models[2].choice == .file("/w/a.safetensors", prefix: nil) && models[0].choice == .random(seed: 0))
        #expect(SceneBiasEvaluation.models(config: cfg, weights: [], views: ["pooled"], randomBaseline: false).isEmpty)
    }

    @Test(
        "weights choose: the best out-of-context video variant that keeps in-context R@1 at 0.5, else the best of all; never scene or motion"
    )
    func bestView() {
        let rows = [
            Self.row("w.safetensors, pooled view", out: 0.2, inside: 0.8),  // a name from before the three views
            Self.row("w.safetensors, video:projected view", out: 0.6, inside: 0.4),
            Self.row("w.safetensors, motion view", out: 0.95, inside: 0.95),
            Self.row("w.safetensors, scene view", out: 0.99, inside: 0.99),
            Self.row("w.safetensors, predicted view", out: 0.5, inside: 0.7),
            Self.row("other.safetensors, fused view", out: 0.9, inside: 0.9),
        ]
        #expect(DefaultModel.bestView(of: "w.safetensors", in: rows)?.view == "predicted")
        let weak = rows.map { r in
            var r = r
            r.inContext = [RetrievalReport.Recall(k: 1, recall: 0.1)]
            return r
        }
        #expect(DefaultModel.bestView(of: "w.safetensors", in: weak)?.view == "projected")
        #expect(DefaultModel.bestView(of: "none.safetensors", in: rows) == nil)
    }

    @Test("a folder without labels.csv, or labels without both splits, is one sentence naming the file")
    func labels() throws {
        let dir = Paths.temporaryDirectory("scene-bias-labels")
        #expect(throws: (any Error).self) { try SceneBiasEvaluation(synthDirectory: dir, jobs: 1) }
        try "path,class,split\na.mp4,wave,train\n".write(toFile: dir + "/labels.csv", atomically: true, encoding: .utf8)
        do {
            _ = try SceneBiasEvaluation(synthDirectory: dir, jobs: 1)
            Issue.record("labels without in-context and out-of-context videos were accepted")
        } catch {
            #expect("\(error)".contains("labels.csv") && "\(error)".contains("no in-context and out-of-context videos"))
        }
    }
}

@Suite("View names")
struct ViewNameTests {
    @Test("scene, motion, video and video variants parse; names from before the three views read as video variants")
    func names() throws {
        #expect(try ViewName(parsing: "scene") == .scene)
        #expect(try ViewName(parsing: "motion") == .motion)
        #expect(try ViewName(parsing: "video") == .video(nil))
        #expect(try ViewName(parsing: "video:predicted") == .video("predicted"))
        #expect(try ViewName(parsing: "pooled") == .video("pooled"))
        #expect(try ViewName(parsing: "motion-residual") == .video("projected-residual"))
        #expect(try ViewName.list("video,scene,motion").map(\.description) == ["video", "scene", "motion"])
        #expect(ViewName.video(nil).resolved(defaultVariant: "predicted") == .video("predicted"))
        #expect(ViewName.scene.resolved(defaultVariant: "predicted") == .scene)
        #expect(ViewName.video("predicted").folder == "video-predicted")
        for bad in ["sideways", "video:sideways", ""] {
            #expect(throws: (any Error).self) { try ViewName.list(bad) }
        }
    }
}
