import ArgumentParser
import Common
import Embed
import Models
import VideoData

extension RGBConversion: ExpressibleByArgument {}

/// The model options shared by the commands that run a backbone: which network, at what
/// width, with which weights.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model id: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model = Architecture.r2plus1d.rawValue

    @Option(
        help:
            "Overrides of the model configuration for narrow variants, e.g. \"planes=16,32,64,128 stem=16\" (channels=... for c3d)."
    )
    var config = ""

    @Option(
        help:
            "Weights: .safetensors, or a torch.save checkpoint (.pt) read directly (default: the shipped weights, else weights/<model>.safetensors)."
    )
    var weights: String?

    @Option(help: "Key prefix of the backbone inside the weights file (e.g. rgb_backbone.).")
    var prefix: String?

    @Flag(help: "Use an untrained, randomly initialised model (labelled random in every output).")
    var randomWeights = false

    @Option(help: "Seed of the random weights (implies --random-weights; default 0).")
    var seed: UInt64?

    @Option(
        help: ArgumentHelp(
            "How frames become RGB: \(RGBConversion.allCases.map(\.rawValue).joined(separator: " or ")) (default: as the weights were trained, from their model card; modelscope, as the ModelScope pipeline's decord, for weights without one and for random weights).",
            valueName: "conversion"))
    var rgb: RGBConversion?

    /// Random weights were asked for, with `--random-weights` or a `--seed`.
    var isRandom: Bool { randomWeights || seed != nil }

    func validate() throws {
        if isRandom && weights != nil { throw ValidationError("give --weights or --random-weights, not both.") }
        do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The configuration, weights and default view to run (`ModelWeights.resolve`).
    func resolve() throws -> ModelWeights.Resolved {
        try ModelWeights.resolve(
            model: model, config: config, weights: weights, prefix: prefix, randomSeed: isRandom ? seed ?? 0 : nil,
            rgb: rgb)
    }

    /// Loads the backbone; a failure is one sentence on stderr and exit code 1.
    func load(_ resolved: ModelWeights.Resolved) throws -> (Backbone, EmbeddingManifest.Weights) {
        do { return try ModelWeights.load(config: resolved.config, resolved.choice) } catch let error
            as ModelWeights.MissingWeights
        {
            Console.error(
                "\(error); pass --weights FILE (.safetensors, or a torch.save .pt), or --random-weights --seed N for an untrained model."
            )
            throw ExitCode(1)
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
    }
}
