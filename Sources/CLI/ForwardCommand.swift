import ArgumentParser
import Common
import Foundation
import Index
import Models
import SafeTensors
import Tensor
import VideoData

/// `decouple forward`: runs a backbone on a raw input tensor, for parity checks against other
/// implementations.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run a backbone on a float32 .npy tensor [N, 3, T, H, W] and write [N, D].",
        discussion: """
            Loads the weights strictly (every missing, unexpected or mis-shaped key is listed), \
            folds batch norm into the convs and writes the pooled output as float32 .npy. \
            --stages also writes every stage's output (names as in the PyTorch fixtures) to a \
            safetensors file. --seed instead of --weights uses the reference random init.

            Example: decouple forward --model r2p1d-26 --weights r2p1d.safetensors \
            --input clips.npy -o embeddings.npy
            Narrow variants: --config "planes=16,32,64,128 stem=16".
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Input tensor, float32 .npy of shape [N, 3, T, H, W].")
    var input: String

    @Option(name: .shortAndLong, help: "Output .npy, float32 [N, D].")
    var output: String

    @Option(help: "Also write every stage's output to this .safetensors file.")
    var stages: String?

    @Option(help: "Threads (OpenBLAS and the glue code).")
    var threads: Int = 2

    func validate() throws {
        guard modelOptions.weights != nil || modelOptions.isRandom else {
            throw ValidationError("give either --weights or --seed")
        }
        // forward reads a tensor, not a video: there is nothing to convert to RGB.
        guard modelOptions.rgb == nil else { throw ValidationError("--rgb applies to commands that read videos.") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let cfg = try BackboneConfig(modelID: modelOptions.model).applying(overrides: modelOptions.config)
        do {
            // Straight from the file (no hash, as embed's provenance needs): start-up matters here.
            let backbone =
                try modelOptions.weights.map {
                    try Backbone(config: cfg, weightsAt: $0, prefix: modelOptions.prefix ?? "")
                }
                ?? Backbone(config: cfg, seed: modelOptions.seed ?? 0)
            let x = try NPYFile.readFloat32(input)
            do { try backbone.validate(inputShape: x.shape) } catch {
                throw FileError(path: input, problem: "\(error)")
            }
            if let stages {
                let all = backbone.forwardStages(x, threads: threads)
                var dict: [String: FloatTensor] = [:]
                for (name, t) in all { dict[name] = FloatTensor(shape: t.shape, values: t.data) }
                try SafeTensorsWriter.write(dict, metadata: ["model": cfg.description], to: stages)
                try NPYFile.writeFloat32(all.last!.tensor, to: output)
            } else {
                try NPYFile.writeFloat32(backbone.forward(x, threads: threads), to: output)
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
    }
}
