import Common
import Foundation
import NN
import SafeTensors
import Tensor

/// Everything needed to resume training exactly: parameter and buffer values, the
/// optimiser's state, and scalars (step, learning rate, batch-norm counters, dropout draws).
///
/// On disk: `<path>.safetensors` (float32 tensors: `model.<name>` and `optimizer.<key>`) and
/// `<path>.json` (scalars, written as exact decimal strings, so a resumed run reads back the
/// very same bits).
public struct TrainingCheckpoint: Sendable {
    public var tensors: [String: Tensor]
    public var scalars: [String: Double]

    /// Captures the values of `parameters` and `buffers`, the optimiser's state and `scalars`.
    public init(parameters: [Parameter], buffers: [Buffer], optimizer: Optimizer?, scalars: [String: Double] = [:]) {
        var t: [String: Tensor] = [:]
        for p in parameters { t["model." + p.name] = p.value }
        for b in buffers { t["model." + b.name] = b.value }
        var s = scalars
        if let optimizer {
            for (k, v) in optimizer.stateTensors { t["optimizer." + k] = v }
            for (k, v) in optimizer.stateScalars { s["optimizer." + k] = v }
            s["optimizer.learning_rate"] = Double(optimizer.learningRate)
        }
        tensors = t
        self.scalars = s
    }

    init(tensors: [String: Tensor], scalars: [String: Double]) {
        self.tensors = tensors
        self.scalars = scalars
    }

    /// Writes `<path>.safetensors` and `<path>.json` (each atomically). The scalars go into the
    /// tensors' file too, and `read` takes them from there: the two files are renamed one after
    /// the other, and a crash between the renames must not pair new tensors with old scalars.
    /// The `.json`, written last, marks the checkpoint complete and is for people to read.
    public func write(to path: String) throws {
        var metadata = ["format": "decouple-training-checkpoint"]
        for (k, v) in scalars { metadata[Self.scalarPrefix + k] = "\(v)" }
        try SafeTensorsWriter.write(
            tensors.mapValues { FloatTensor(shape: $0.shape, values: $0.data) }, metadata: metadata,
            to: path + ".safetensors")
        let text = scalars.keys.sorted().map { "  \(jsonQuoted($0)): \(jsonQuoted("\(scalars[$0]!)"))" }
        let json = "{\n" + text.joined(separator: ",\n") + "\n}\n"
        do { try AtomicFile.write(Data(json.utf8), to: path + ".json") } catch let error as FileWriteError {
            throw ModelError("cannot write \(path).json (\(error.reason))")
        }
    }

    static let scalarPrefix = "scalar."

    /// Reads what `write(to:)` wrote.
    public static func read(from path: String) throws -> TrainingCheckpoint {
        let reader = try SafeTensorsReader(path: path + ".safetensors")
        let tensors = reader.allTensors().mapValues { Tensor(shape: $0.shape, data: $0.values) }
        let stored = reader.metadata.filter { $0.key.hasPrefix(scalarPrefix) }
        if !stored.isEmpty {
            var scalars: [String: Double] = [:]
            for (k, v) in stored {
                guard let d = Double(v) else { throw ModelError("\(path).safetensors: \(k) is not a number (\(v))") }
                scalars[String(k.dropFirst(scalarPrefix.count))] = d
            }
            return TrainingCheckpoint(tensors: tensors, scalars: scalars)
        }
        // Checkpoints written before the scalars moved into the tensors' file.
        let data = try Data(contentsOf: URL(fileURLWithPath: path + ".json"))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: String] else {
            throw ModelError("\(path).json is not a training checkpoint (expected an object of strings)")
        }
        var scalars: [String: Double] = [:]
        for (k, v) in object {
            guard let d = Double(v) else { throw ModelError("\(path).json: \(k) is not a number (\(v))") }
            scalars[k] = d
        }
        return TrainingCheckpoint(tensors: tensors, scalars: scalars)
    }

    /// Sets `parameters`, `buffers` and the optimiser from the checkpoint; returns the scalars
    /// the caller stored. Every parameter and buffer must be present with its shape.
    @discardableResult
    public func restore(parameters: [Parameter], buffers: [Buffer], optimizer: Optimizer?) throws -> [String: Double] {
        var problems: [String] = []
        for p in parameters {
            guard let t = tensors["model." + p.name] else {
                problems.append("missing \(p.name)")
                continue
            }
            guard t.shape == p.shape else {
                problems.append("\(p.name) is \(t.shape), expected \(p.shape)")
                continue
            }
            p.value = t
        }
        for b in buffers {
            guard let t = tensors["model." + b.name] else {
                problems.append("missing \(b.name)")
                continue
            }
            guard t.shape == b.value.shape else {
                problems.append("\(b.name) is \(t.shape), expected \(b.value.shape)")
                continue
            }
            b.value = t
        }
        guard problems.isEmpty else {
            throw ModelError("training checkpoint does not fit: " + problems.joined(separator: "; "))
        }
        if let optimizer {
            let state = tensors.filter { $0.key.hasPrefix("optimizer.") }
            try optimizer.restore(
                tensors: Dictionary(
                    uniqueKeysWithValues: state.map { (String($0.key.dropFirst("optimizer.".count)), $0.value) }),
                scalars: Dictionary(
                    uniqueKeysWithValues: scalars.filter {
                        $0.key.hasPrefix("optimizer.") && $0.key != "optimizer.learning_rate"
                    }.map { (String($0.key.dropFirst("optimizer.".count)), $0.value) }))
            if let lr = scalars["optimizer.learning_rate"] { optimizer.learningRate = Float(lr) }
        }
        return scalars.filter { !$0.key.hasPrefix("optimizer.") }
    }
}

extension TrainableBackbone {
    /// Every batch norm's `num_batches_tracked`, by `<bn>.num_batches_tracked` (scalars for a
    /// `TrainingCheckpoint`).
    public var batchCounts: [String: Double] {
        get {
            Dictionary(
                uniqueKeysWithValues: units.map {
                    (
                        $0.bn.runningMean.name.replacingOccurrences(of: ".running_mean", with: ".num_batches_tracked"),
                        Double($0.bn.batchesTracked)
                    )
                })
        }
        set {
            for u in units {
                if let v = newValue[
                    u.bn.runningMean.name.replacingOccurrences(of: ".running_mean", with: ".num_batches_tracked")]
                {
                    u.bn.batchesTracked = Int(v)
                }
            }
        }
    }
}
