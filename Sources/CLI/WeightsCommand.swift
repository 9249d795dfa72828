import ArgumentParser
import Common
import Embed
import Foundation
import Index

/// `decouple weights choose`: writes `weights/default.json` from a scene-bias evaluation.
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Manage the default weights (weights/default.json).",
        subcommands: [Choose.self]
    )

    struct Choose: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "choose",
            abstract:
                "Pick the embedding view that follows motion best (highest out-of-context R@1, retrieving at least 0.5 in context) and write the default model card."
        )

        @Argument(help: "JSON written by decouple eval scene-bias --json.")
        var evaluation: String

        @Option(help: "Weights file name inside weights/.")
        var weights: String

        @Option(help: "Model id.")
        var model = "r2p1d-26"

        @Option(help: "Model overrides.")
        var config: String

        @Option(name: .shortAndLong, help: "Output (weights/default.json).")
        var output: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: evaluation),
                let rows = try? JSONDecoder().decode([SceneBiasRow].self, from: data)
            else {
                Console.error("'\(evaluation)' is not the JSON of decouple eval scene-bias.")
                throw ExitCode(1)
            }
            guard let (view, best) = DefaultModel.bestView(of: weights, in: rows) else {
                Console.error("'\(evaluation)' has no rows for \(weights).")
                throw ExitCode(1)
            }
            // The weights' own card says how their training frames were converted to RGB.
            let weightsPath = (parentDirectory(output) as NSString).appendingPathComponent(
                weights)
            let card = DefaultModel(
                weights: weights, model: model, config: config, view: view,
                rgb: ModelWeights.conversion(forWeights: weightsPath))
            try AtomicFile.write(Data((Console.json(card) + "\n").utf8), to: output)
            print(
                String(
                    format: "%@: %@ view (out-of-context R@1 %.3f, in-context %.3f)", output, view,
                    best.outOfContext(at: 1) ?? 0, best.inContext(at: 1) ?? 0))
        }
    }
}
