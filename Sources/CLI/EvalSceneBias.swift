import ArgumentParser
import Common
import Embed
import Foundation
import Index
import MediaIO
import Models
import VideoData

/// `decouple eval scene-bias SYNTH_DIR`: out-of-context against in-context retrieval for
/// baselines, models and stores.
struct EvalSceneBias: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scene-bias",
        abstract:
            "Does an embedding follow the motion or the scene? Retrieval on a decouple synth set, in and out of context.",
        discussion: """
            Gallery: the in-context videos. Queries: the out-of-context videos (the same motion \
            classes over other classes' backgrounds). Control: in-context queries against the \
            other in-context videos. Scene reliance = in-context R@1 - out-of-context R@1. \
            Methods: a keyframe colour histogram (pure scene), a motion-vector histogram (pure \
            motion, no learning), the backbone with random weights (--random-model, default \
            r2p1d-26 narrow), models given with --weights (one row each), and stores given \
            with --store NAME=DIR. One vector per video: the mean over --clips clips.

            Example: decouple eval scene-bias synth --weights weights/r2p1d-compact.safetensors --config "planes=16,32,64,128 stem=16"
            """
    )

    @Argument(help: "A directory written by decouple synth (with labels.csv).")
    var synth: String

    @Option(help: "Stores to evaluate, NAME=DIR (repeatable).")
    var store: [String] = []

    @Option(help: "Trained weights to evaluate (repeatable); uses --model and --config.")
    var weights: [String] = []

    @Option(help: "Model id for --weights and the random baseline.")
    var model = "r2p1d-26"

    @Option(help: "Model overrides for --weights and the random baseline.")
    var config = "planes=16,32,64,128 stem=16"

    @Option(
        help: ArgumentHelp(
            "Views of the --weights models, comma-separated, one row each: \(ViewName.names).",
            valueName: "views"))
    var views = "video,scene,motion"

    @Flag(inversion: .prefixedNo, help: "Include the random-weights baseline.")
    var randomModel = true

    @Option(help: "Clips per video for model embeddings.")
    var clips = 3

    @Option(help: "Videos processed side by side.")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Also print each motion class's out-of-context R@1 (always in the JSON).")
    var perClass = false

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Also write the rows as JSON to this file (with the table on stdout).")
    var jsonOut: String?

    func run() throws {
        // Before the evaluation, which takes minutes: an unwritable --json-out fails now.
        if let jsonOut {
            let parent = parentDirectory(jsonOut)
            guard FileManager.default.isWritableFile(atPath: parent) else {
                Console.error("'\(jsonOut)' could not be written: '\(parent)' is not a writable directory.")
                throw ExitCode(1)
            }
        }
        do {
            let evaluation = try SceneBiasEvaluation(synthDirectory: synth, jobs: jobs)
            let config = try BackboneConfig(modelID: model).applying(overrides: config)
            var rows = try evaluation.baselines { try MotionVideoSource(path: $0) }
            let views = try ViewName.list(self.views).map(\.description)
            for model in SceneBiasEvaluation.models(
                config: config, weights: weights, views: views, randomBaseline: randomModel)
            {
                rows.append(try evaluation.evaluate(model, clips: clips, openers: .files))
            }
            for (name, directory) in stores { rows.append(try evaluation.evaluate(storeNamed: name, at: directory)) }
            var table = evaluation.table(rows, synth: synth)
            if perClass { table += "\n\n" + evaluation.perClassTable(rows) }
            try report(rows, table: table)
        } catch let error as ExitCode {
            throw error
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
    }

    /// `--store NAME=DIR` pairs.
    var stores: [(String, String)] {
        store.map { spec in
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts[1])
        }
    }

    func validate() throws {
        if let bad = store.first(where: { $0.split(separator: "=", maxSplits: 1).count != 2 }) {
            throw ValidationError("--store takes NAME=DIR (got \(bad)).")
        }
        do { _ = try ViewName.list(views) } catch { throw ValidationError("\(error).") }
        do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch {
            throw ValidationError("\(error)")
        }
    }

    func report(_ rows: [SceneBiasRow], table: String) throws {
        if let jsonOut {
            do { try AtomicFile.write(Data((Console.json(rows) + "\n").utf8), to: jsonOut) } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
        }
        if json {
            print(Console.json(rows))
            return
        }
        print(table)
    }
}
