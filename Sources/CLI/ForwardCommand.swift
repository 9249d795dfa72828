import ArgumentParser
import Foundation
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

    @Option(help: "Model id: r2p1d-26, r3d-26 or c3d.")
    var model: String

    @Option(help: "Overrides of the configuration, e.g. \"planes=16,32,64,128 stem=16\" (channels=... for c3d).")
    var config: String = ""

    @Option(help: "Weights (.safetensors, PyTorch state-dict names).")
    var weights: String?

    @Option(help: "Key prefix of the backbone inside the weights file (e.g. rgb_backbone.).")
    var prefix: String = ""

    @Option(help: "Random reference init with this seed instead of --weights.")
    var seed: UInt64?

    @Option(help: "Input tensor, float32 .npy of shape [N, 3, T, H, W].")
    var input: String

    @Option(name: .shortAndLong, help: "Output .npy, float32 [N, D].")
    var output: String

    @Option(help: "Also write every stage's output to this .safetensors file.")
    var stages: String?

    @Option(help: "Threads (OpenBLAS and the glue code).")
    var threads: Int = 2

    func validate() throws {
        guard (weights == nil) != (seed == nil) else { throw ValidationError("give either --weights or --seed") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let cfg: BackboneConfig
        do { cfg = try BackboneConfig(modelID: model).applying(overrides: config) } catch {
            throw ValidationError("\(error)")
        }
        do {
            let backbone = try weights.map { try Backbone(config: cfg, weightsAt: $0, prefix: prefix) } ?? Backbone(config: cfg, seed: seed!)
            let x = try NPYFile.readFloat32(input)
            do { try backbone.validate(inputShape: x.shape) } catch {
                throw CLIFileError(path: input, problem: "\(error)")
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

/// A file the command cannot use: one sentence naming it.
struct CLIFileError: Error, CustomStringConvertible {
    var path: String
    var problem: String
    var description: String { "\(path): \(problem)" }
}

/// Float32 `.npy` files as tensors (VideoData.NPY does the header).
enum NPYFile {
    static func readFloat32(_ path: String) throws -> Tensor {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIFileError(path: path, problem: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.readToEnd()) ?? Data())
        guard let header = NPY.parseHeader(bytes) else { throw CLIFileError(path: path, problem: "is not a .npy file (or uses Fortran order)") }
        guard header.dtype == "<f4" else { throw CLIFileError(path: path, problem: "holds \(header.dtype), not float32 (<f4)") }
        let count = header.shape.reduce(1, *)
        guard bytes.count - header.dataOffset == 4 * count else {
            throw CLIFileError(path: path, problem: "is truncated or padded: shape \(header.shape) needs \(4 * count) data bytes, the file has \(bytes.count - header.dataOffset)")
        }
        return Tensor(shape: header.shape) { out in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: raw.baseAddress! + header.dataOffset, byteCount: 4 * count)
            }
        }
    }

    /// Writes atomically (temporary file, then rename).
    static func writeFloat32(_ t: Tensor, to path: String) throws {
        var data = Data(NPY.header(dtype: .float32, shape: t.shape))
        t.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: 4 * $0.count)) }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else { throw CLIFileError(path: path, problem: "cannot be written (\(String(cString: strerror(errno))))") }
        } catch let e as CLIFileError {
            try? FileManager.default.removeItem(at: temporary)
            throw e
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw CLIFileError(path: path, problem: "cannot be written (\((error as NSError).localizedDescription))")
        }
    }
}
