import Foundation
import TestSupport
import Testing

/// `decouple eval scene-bias` on a small synth set, and `decouple weights choose` on its JSON.
@Suite("Scene-bias benchmark through the binary")
struct SceneBiasCLITests {
    @Test(
        "the colour histogram retrieves in context and fails out of context; the motion histogram holds out of context")
    func baselines() throws {
        let dir = Paths.temporaryDirectory("scene-bias")
        let made = try run(
            Paths.decouple,
            [
                "synth", "-o", dir + "/set", "--per-class", "2", "--frames", "24", "--size", "128x96", "--seed", "9",
                "--region", "test",
            ])
        #expect(made.status == 0, "\(made.stderr)")
        let r = try run(Paths.decouple, ["eval", "scene-bias", dir + "/set", "--no-random-model", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]])
        func recall(_ row: [String: Any], _ split: String) -> Double {
            ((row[split] as? [[String: Any]])?.first { ($0["k"] as? Int) == 1 }?["recall"] as? Double) ?? -1
        }
        let colour = try #require(rows.first { ($0["method"] as? String) == "keyframe colour histogram" })
        let motion = try #require(rows.first { ($0["method"] as? String) == "motion-vector histogram" })
        #expect(colour["queries"] as? Int == 18 && colour["gallery"] as? Int == 18 && colour["classes"] as? Int == 9)
        // Each class has its own photos in context, so the scene alone finds the class there;
        // out of context the scene points to another class.
        #expect(recall(colour, "in_context") >= 0.8, "\(colour)")
        #expect(recall(colour, "out_of_context") <= 0.2, "\(colour)")
        #expect(recall(motion, "out_of_context") >= 0.4, "\(motion)")
        #expect((motion["scene_reliance"] as? Double ?? 1) < (colour["scene_reliance"] as? Double ?? 0))
        // Two queries per class, so the per-class R@1s average to the overall one.
        let perClass = try #require(motion["out_of_context_per_class"] as? [String: Double])
        #expect(perClass.count == 9 && perClass.values.allSatisfy { [0, 0.5, 1].contains($0) }, "\(perClass)")
        #expect(abs(perClass.values.reduce(0, +) / 9 - recall(motion, "out_of_context")) < 1e-9)
        let table = try run(
            Paths.decouple,
            ["eval", "scene-bias", dir + "/set", "--no-random-model", "--json-out", dir + "/rows.json", "--per-class"])
        #expect(table.text.contains("18 out-of-context queries, 18 in-context gallery, 9 classes"))
        #expect(table.text.contains("motion-vector histogram"))
        let perClassLines = table.text.components(separatedBy: "out-of-context R@1 per class\n").last ?? ""
        #expect(perClassLines.contains("zoom-in") && perClassLines.contains("motion-vector histogram"), "\(table.text)")
        #expect(
            FileManager.default.contents(atPath: dir + "/rows.json") == r.stdout, "--json-out writes what --json prints"
        )
        let unwritable = try run(
            Paths.decouple,
            ["eval", "scene-bias", dir + "/set", "--no-random-model", "--json-out", dir + "/no/such/dir/rows.json"])
        #expect(
            unwritable.status == 1 && unwritable.stderr.contains("rows.json' could not be written"),
            "\(unwritable.stderr)")
        // A directory that is not a synth set is one sentence and exit 1.
        let bad = try run(Paths.decouple, ["eval", "scene-bias", dir])
        #expect(bad.status == 1 && bad.stderr.contains("labels.csv"), "\(bad.stderr)")
    }

    @Test("weights choose picks the view with the best out-of-context R@1 among those that retrieve in context")
    func choose() throws {
        let dir = Paths.temporaryDirectory("choose")
        func row(_ method: String, out: Double, within: Double) -> String {
            """
            {"method":"\(method)","out_of_context":[{"k":1,"recall":\(out)}],"in_context":[{"k":1,"recall":\(within)}],
             "scene_reliance":\(within - out),"queries":9,"gallery":9,"classes":9}
            """
        }
        let rows = [
            row("keyframe colour histogram", out: 0, within: 1),
            row("w.safetensors, pooled view", out: 0.2, within: 0.9),
            row("w.safetensors, video:projected view", out: 0.6, within: 0.7),
            row("w.safetensors, motion view", out: 0.95, within: 0.95),  // not a video variant: never chosen
            row("w.safetensors, residual view", out: 0.7, within: 0.3),  // best out of context, but poor in context
            row("other.safetensors, fused view", out: 0.9, within: 0.9),
        ]
        try ("[" + rows.joined(separator: ",") + "]").write(
            toFile: dir + "/eval.json", atomically: true, encoding: .utf8)
        let r = try run(
            Paths.decouple,
            [
                "weights", "choose", dir + "/eval.json", "--weights", "w.safetensors", "--config",
                "planes=16,32,64,128 stem=16 size=64", "-o", dir + "/default.json",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let card = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/default.json")))
                as? [String: Any])
        #expect(card["view"] as? String == "projected")
        #expect(card["weights"] as? String == "w.safetensors")
        // Killed at each step of writing over an older default.json: the old or the new file, whole.
        let chosen = try Data(contentsOf: URL(fileURLWithPath: dir + "/default.json"))
        let older = Data("{\"weights\": \"older.safetensors\"}\n".utf8)
        let kills = try CrashTests.killAtEveryStep(
            [
                "weights", "choose", dir + "/eval.json", "--weights", "w.safetensors", "--config",
                "planes=16,32,64,128 stem=16 size=64", "-o", dir + "/default.json",
            ],
            prepare: { try older.write(to: URL(fileURLWithPath: dir + "/default.json")) }
        ) { n in
            let left = try Data(contentsOf: URL(fileURLWithPath: dir + "/default.json"))
            #expect(left == older || left == chosen, "default.json after a kill at point \(n)")
        }
        #expect(kills == 2)
        let missing = try run(
            Paths.decouple,
            [
                "weights", "choose", dir + "/eval.json", "--weights", "none.safetensors", "--config", "x", "-o",
                dir + "/d2.json",
            ])
        #expect(missing.status == 1 && missing.stderr.contains("no rows for none.safetensors"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/d2.json"))
    }
}
