import Foundation
import Models
import SafeTensors
import TestSupport
import Testing

/// docs/correctness.md, "Durable writes": a real process killed at each step of each write,
/// then what it left reopened.
@Suite("Durable writes: pretrain and export killed at every step", .serialized)
struct DurableWritesTests {
    static let pretrain =
        ["pretrain", "--data"] + TrainerTests.videos + [
            "--config", "planes=8,8,16,32 stem=8", "--no-reencode", "--size", "32", "--motion-size", "16",
            "--helper-widths", "8,8,16,16", "--predictor-dim", "16", "--embedding", "16", "--batch", "2", "--steps",
            "2",
            "--threads", "1", "--seed", "2", "--checkpoint-every", "1",
        ]

    /// A checkpoint's tensors and the scalars that do not depend on the clock.
    static func checkpoint(_ path: String) throws -> [String: [Float]] {
        let ck = try TrainingCheckpoint.read(from: path)
        var values = ck.tensors.mapValues(\.data)
        for (k, v) in ck.scalars where k != "elapsed_s" { values["scalar " + k] = [Float(v)] }
        return values
    }

    /// The losses of `log.jsonl`, one line per step.
    static func losses(_ run: String) throws -> [Double] {
        try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8).split(separator: "\n").map {
            let line = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            return try #require(line?["loss"] as? Double)
        }
    }

    @Test("pretrain killed at every write of its run is resumed to the weights, best and log of an uninterrupted run")
    func pretrainKilled() throws {
        let base = Paths.temporaryDirectory("crash-pretrain")
        let straight = try run(Paths.decouple, Self.pretrain + ["-o", base + "/straight"])
        #expect(straight.status == 0, "\(straight.stderr)")
        let last = try Self.checkpoint(base + "/straight/checkpoints/step-000002")
        let best = try Self.checkpoint(base + "/straight/best")
        let losses = try Self.losses(base + "/straight")
        let dir = base + "/run"
        let kills = try CrashTests.killAtEveryStep(
            Self.pretrain + ["-o", dir], prepare: { try? FileManager.default.removeItem(atPath: dir) }
        ) { n in
            // A run killed before its config.json was renamed into place is no run: start it again.
            let resume = FileManager.default.fileExists(atPath: dir + "/config.json")
            let again = try run(Paths.decouple, Self.pretrain + ["-o", dir] + (resume ? ["--resume"] : []))
            #expect(again.status == 0, "killed at point \(n): \(again.stderr)")
            #expect(try Self.checkpoint(dir + "/checkpoints/step-000002") == last, "killed at point \(n)")
            #expect(try Self.checkpoint(dir + "/best") == best, "killed at point \(n)")
            #expect(try Self.losses(dir) == losses, "killed at point \(n)")
        }
        // config.json, then per step the checkpoint and best (tensors, then json), then the log
        // and the loss curve: each a synced temporary and a rename.
        #expect(kills >= 12, "\(kills) crash points")
    }

    @Test(
        "export killed at every step: each file is absent, the old one or the new one, whole; a pair from two exports is refused in one sentence; exporting again repairs it"
    )
    func exportKilled() throws {
        let base = Paths.temporaryDirectory("crash-export")
        let trained = try run(Paths.decouple, Self.pretrain + ["-o", base + "/run"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let first = ["export", base + "/run", "--checkpoint", base + "/run/checkpoints/step-000001"]
        let second = ["export", base + "/run", "--checkpoint", base + "/run/checkpoints/step-000002"]
        func exported(_ arguments: [String], to dir: String) throws -> [String: Data] {
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let r = try run(Paths.decouple, arguments + ["-o", dir + "/w.safetensors"])
            #expect(r.status == 0, "\(r.stderr)")
            return try CrashTests.files(dir)
        }
        for over in [false, true] {
            // The card names the files as given, so the whole exports are made where the test runs.
            let dir = base + (over ? "/over" : "/fresh")
            let weights = dir + "/w.safetensors"
            let old = try exported(first, to: dir)
            if !over {
                // Either file of the checkpoint names it as well as its name without extension.
                for file in ["step-000001.safetensors", "step-000001.json"] {
                    let named = try exported(
                        ["export", base + "/run", "--checkpoint", base + "/run/checkpoints/" + file],
                        to: base + "/named")
                    #expect(named["w.safetensors"] == old["w.safetensors"], "\(file)")
                }
            }
            let new = try exported(second, to: dir)
            #expect(Set(new.keys) == ["w.safetensors", "w.views.safetensors", "w.json"])
            #expect(new["w.safetensors"] != old["w.safetensors"])
            var mixed = 0
            try CrashTests.killAtEveryStep(
                second + ["-o", weights],
                prepare: {
                    try? FileManager.default.removeItem(atPath: dir)
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    if over { for (name, data) in old { try data.write(to: URL(fileURLWithPath: dir + "/" + name)) } }
                }
            ) { n in
                let left = try CrashTests.files(dir).filter { !$0.key.hasPrefix(".") }
                for (name, data) in left {
                    #expect(data == new[name] || data == old[name] && over, "\(name) after a kill at point \(n)")
                }
                // The views are read only with weights of the same export.
                if left["w.safetensors"] != nil && left["w.views.safetensors"] != nil {
                    let same =
                        left["w.safetensors"] == new["w.safetensors"]
                        ? left["w.views.safetensors"] == new["w.views.safetensors"]
                        : left["w.views.safetensors"] == old["w.views.safetensors"]
                    if same {
                        #expect(try ViewsFile.open(for: weights) != nil)
                    } else {
                        mixed += 1
                        #expect {
                            try ViewsFile.open(for: weights)
                        } throws: { "\($0)".contains("come from different exports (an export was interrupted)") }
                        let views = try run(
                            Paths.decouple,
                            [
                                "embed", TrainerTests.videos[0], "--weights", weights, "--config",
                                "planes=8,8,16,32 stem=8", "--view", "motion", "-o", base + "/store-\(n)",
                            ])
                        #expect(
                            views.status == 1 && views.stderr.contains("come from different exports"), "\(views.stderr)"
                        )
                    }
                }
                let again = try run(Paths.decouple, second + ["-o", weights])
                #expect(again.status == 0, "\(again.stderr)")
                #expect(
                    try CrashTests.files(dir).filter { !$0.key.hasPrefix(".") } == new, "export again after point \(n)")
            }
            // Over an older export, a kill between the two renames leaves a mixed pair.
            #expect(over ? mixed > 0 : mixed == 0)
        }
    }
}
