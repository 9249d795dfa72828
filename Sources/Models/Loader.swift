import SafeTensors

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
        var lines = ["\(source) does not fit \(model): \(counts.joined(separator: ", ")) key\(missing.count + unexpected.count + misshaped.count == 1 ? "" : "s")."]
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
    static func check(_ tensors: [String: FloatTensor], config: BackboneConfig, prefix: String, source: String) throws -> [String: FloatTensor] {
        var mine: [String: FloatTensor] = [:]
        for (name, t) in tensors {
            if prefix.isEmpty {
                mine[name] = t
            } else if name.hasPrefix(prefix) {
                mine[String(name.dropFirst(prefix.count))] = t
            }
        }
        let table = CheckpointKeys.table(for: config)
        let ignored = Set(CheckpointKeys.batchNormPrefixes(for: config).map { $0 + ".num_batches_tracked" })
        let known = Set(table.map(\.name))
        var error = CheckpointError(source: source, model: config.description, missing: [], unexpected: [], misshaped: [])
        for key in table {
            guard let t = mine[key.name] else {
                error.missing.append(key)
                continue
            }
            if t.shape != key.shape { error.misshaped.append(.init(name: prefix + key.name, expected: key.shape, found: t.shape)) }
        }
        for name in mine.keys.sorted() where !known.contains(name) && !ignored.contains(name) {
            error.unexpected.append(CheckpointKey(name: prefix + name, shape: mine[name]!.shape, role: .convWeight))
        }
        error.missing = error.missing.map { CheckpointKey(name: prefix + $0.name, shape: $0.shape, role: $0.role) }
        if !error.missing.isEmpty || !error.unexpected.isEmpty || !error.misshaped.isEmpty { throw error }
        for name in ignored { mine[name] = nil }
        return mine
    }
}
