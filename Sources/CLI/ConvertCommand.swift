import ArgumentParser
import Common
import Foundation
import Models
import SafeTensors

/// `decouple convert`: a `torch.save` checkpoint to safetensors, without Python.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch checkpoint (.pt/.pth written by torch.save) to safetensors.",
        discussion: """
            Reads the zip archive torch.save writes (data.pkl and the tensor storages) with a \
            pickle reader that runs no Python code. The state dict may be the whole file or sit \
            under "state_dict", "model" or "model_state_dict"; a "module." prefix on every key \
            (nn.DataParallel) is removed, and --prefix selects and strips another (rgb_backbone. \
            in a CMD pretraining checkpoint). Every tensor is written as float32, keys unchanged. \
            Unless --model none, the result is first checked against the model's key table: \
            every missing, unexpected or mis-shaped key is listed and nothing is written.

            Example (the ModelScope damo/cv_r2p1d_video_embedding weights):
              decouple convert pytorch_model.pt -o weights/r2p1d-26.safetensors
            """
    )

    @Argument(help: "The checkpoint written by torch.save.")
    var checkpoint: String

    @Option(name: .shortAndLong, help: "Output .safetensors file.")
    var output: String

    @Option(
        help:
            "Keep only keys with this prefix and remove it (e.g. rgb_backbone.). Default: remove module. when every key has it."
    )
    var prefix: String?

    @Option(help: "Check the keys against this model: r2p1d-26, r3d-26, c3d, or none.")
    var model = "r2p1d-26"

    @Option(help: "Overrides of the model configuration for narrow variants, e.g. \"planes=16,32,64,128 stem=16\".")
    var config = ""

    @Flag(help: "Replace an existing output file.")
    var force = false

    func validate() throws {
        if model != "none" {
            do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            Console.error("'\(output)' already exists; pass --force to replace it.")
            throw ExitCode(1)
        }
        do {
            let start = Date()
            let ckpt = try TorchCheckpoint(path: checkpoint, prefix: prefix)
            var fits = ""
            if model != "none" {
                let cfg = try BackboneConfig(modelID: model).applying(overrides: config)
                _ = try Backbone(config: cfg, tensors: ckpt.tensors, source: checkpoint)
                fits = ", fits \(cfg.description)"
            }
            var metadata = [
                "format": "pt", "source": (checkpoint as NSString).lastPathComponent,
                "converted_by": "decouple convert",
            ]
            if !ckpt.strippedPrefix.isEmpty { metadata["stripped_prefix"] = ckpt.strippedPrefix }
            try SafeTensorsWriter.write(ckpt.tensors, metadata: metadata, to: output)
            let types = Dictionary(grouping: ckpt.sourceTypes.values, by: { $0 }).mapValues(\.count)
                .sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            let values = ckpt.tensors.values.reduce(0) { $0 + $1.count }
            var notes: [String] = []
            if !ckpt.container.isEmpty { notes.append("state dict under \"\(ckpt.container)\"") }
            if !ckpt.strippedPrefix.isEmpty { notes.append("prefix \"\(ckpt.strippedPrefix)\" removed") }
            print(
                "\(checkpoint) -> \(output): \(ckpt.tensors.count) tensors (\(types); written as float32), \(String(format: "%.2f", Double(values) / 1e6)) M values\(notes.isEmpty ? "" : ", " + notes.joined(separator: ", "))\(fits), \(String(format: "%.2f", Date().timeIntervalSince(start))) s"
            )
        } catch let error as TorchCheckpointError {
            Console.error(error.description)
            throw ExitCode(1)
        } catch let error as CheckpointError {
            Console.error(error.description)
            throw ExitCode(1)
        } catch let error as SafeTensorsError {
            Console.error(error.description)
            throw ExitCode(1)
        } catch let error as ModelError {
            Console.error("\(checkpoint): \(error.description)")
            throw ExitCode(1)
        }
    }
}
