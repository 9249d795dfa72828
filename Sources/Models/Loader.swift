import NN
import SafeTensors
import Tensor

/// A checkpoint that does not fit the model: every missing, unexpected and mis-shaped key,
/// collected before anything is built. `description` is one sentence naming the file and the
/// model, then one line per key.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var model: String
    /// Keys the model needs that the file lacks, with the shape expected.
    public var missing: [CheckpointKey]
    /// Keys in the file the model does not have, with their shape in the file.
    public var unexpected: [CheckpointKey]
    /// Keys present with the wrong shape: (name, expected, found).
    public var misshaped: [Misshaped]

    public struct Misshaped: Sendable, Equatable {
        public var name: String
        public var expected: [Int]
        public var found: [Int]

        public init(name: String, expected: [Int], found: [Int]) {
            self.name = name
            self.expected = expected
            self.found = found
        }
    }

    public var description: String {
        var counts: [String] = []
        if !missing.isEmpty { counts.append("\(missing.count) missing") }
        if !unexpected.isEmpty { counts.append("\(unexpected.count) unexpected") }
        if !misshaped.isEmpty { counts.append("\(misshaped.count) mis-shaped") }
        var lines = [
            "\(source) does not fit \(model): \(counts.joined(separator: ", ")) key\(missing.count + unexpected.count + misshaped.count == 1 ? "" : "s")."
        ]
        lines += missing.map { "  missing     \($0.name) \($0.shape)" }
        lines += unexpected.map { "  unexpected  \($0.name) \($0.shape)" }
        lines += misshaped.map { "  mis-shaped  \($0.name): expected \($0.expected), found \($0.found)" }
        return lines.joined(separator: "\n")
    }
}

/// Strict loading: the state dict must hold exactly the key table's tensors with exactly its
/// shapes. `<bn>.num_batches_tracked` is ignored for every batch norm of the model.
enum Loader {
    /// Checks `tensors` against `config`'s key table and returns them with `prefix` stripped.
    /// With a prefix, keys outside it are not the model's and are ignored.
    static func check(_ tensors: [String: FloatTensor], config: BackboneConfig, prefix: String, source: String) throws
        -> [String: FloatTensor]
    {
        try check(shapes: tensors.mapValues(\.shape), config: config, prefix: prefix, source: source)
        var mine: [String: FloatTensor] = [:]
        let ignored = Set(CheckpointKeys.batchNormPrefixes(for: config).map { $0 + ".num_batches_tracked" })
        for (name, t) in tensors where name.hasPrefix(prefix) {
            let key = String(name.dropFirst(prefix.count))
            if !ignored.contains(key) { mine[key] = t }
        }
        return mine
    }

    /// The same check on the shapes alone (names as in the file, `prefix` included), so that a
    /// mapped file is checked before any value is read.
    static func check(shapes: [String: [Int]], config: BackboneConfig, prefix: String, source: String) throws {
        var mine: [String: [Int]] = [:]
        for (name, shape) in shapes where name.hasPrefix(prefix) {
            mine[String(name.dropFirst(prefix.count))] = shape
        }
        let table = CheckpointKeys.table(for: config)
        let ignored = Set(CheckpointKeys.batchNormPrefixes(for: config).map { $0 + ".num_batches_tracked" })
        let known = Set(table.map(\.name))
        var error = CheckpointError(
            source: source, model: config.description, missing: [], unexpected: [], misshaped: [])
        for key in table {
            guard let shape = mine[key.name] else {
                error.missing.append(CheckpointKey(name: prefix + key.name, shape: key.shape, role: key.role))
                continue
            }
            if shape != key.shape {
                error.misshaped.append(.init(name: prefix + key.name, expected: key.shape, found: shape))
            }
        }
        for name in mine.keys.sorted() where !known.contains(name) && !ignored.contains(name) {
            error.unexpected.append(CheckpointKey(name: prefix + name, shape: mine[name]!, role: .convWeight))
        }
        if !error.missing.isEmpty || !error.unexpected.isEmpty || !error.misshaped.isEmpty { throw error }
    }

    /// Every conv of `specs` with its batch norm folded in, by conv name. Each conv is read,
    /// scaled and packed in one pass (`Conv3d.folding`); the convs are spread over up to
    /// `threads` threads, largest first, each taken by the next free thread. The result does
    /// not depend on `threads`.
    static func fold(_ specs: [ConvSpec], from source: TensorSource, threads: Int) -> [String: Conv3d] {
        let order = specs.indices.sorted { specs[$0].weightShape.reduce(1, *) > specs[$1].weightShape.reduce(1, *) }
        let built = UnsafeMutableBufferPointer<Conv3d?>.allocate(capacity: specs.count)
        built.initialize(repeating: nil)
        defer { built.deallocate() }
        let box = UncheckedSendable(built)
        let next = ManagedAtomicCounter()
        let workers = max(1, min(threads, specs.count))
        parallelFor(workers, threads: workers) { _ in
            while true {
                let k = next.increment()
                if k >= order.count { break }
                box.value[order[k]] = specs[order[k]].folded(source)
            }
        }
        var out: [String: Conv3d] = [:]
        for (i, spec) in specs.enumerated() { out[spec.conv] = built[i]! }
        return out
    }
}

/// Where a backbone's tensors come from, by the model's own key names: a state dict in memory,
/// or a mapped safetensors file whose F32 values are read in place (no copy of the file).
struct TensorSource: @unchecked Sendable {
    private let dictionary: [String: FloatTensor]?
    private let reader: SafeTensorsReader?
    /// Prepended to every name (the sub-module the backbone sits in).
    let prefix: String

    init(_ tensors: [String: FloatTensor], prefix: String = "") {
        dictionary = tensors
        reader = nil
        self.prefix = prefix
    }

    init(_ reader: SafeTensorsReader, prefix: String = "") {
        dictionary = nil
        self.reader = reader
        self.prefix = prefix
    }

    /// Every tensor's shape, by its name in the dict or file (prefix included).
    var shapes: [String: [Int]] {
        if let dictionary { return dictionary.mapValues(\.shape) }
        return Dictionary(reader!.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
    }

    /// Calls `body` with the values of `name` (a key the loader has checked).
    func withFloats<R>(_ name: String, _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        if let dictionary { return dictionary[prefix + name]!.values.withUnsafeBufferPointer(body) }
        return reader!.withFloats(prefix + name, body)!
    }

    /// The values of `name` as a tensor of `shape` (a copy: for the small tensors).
    func tensor(_ name: String, shape: [Int]) -> Tensor {
        if let dictionary { return Tensor(shape: shape, data: dictionary[prefix + name]!.values) }
        return withFloats(name) { Tensor(shape: shape, data: Array($0)) }
    }
}
