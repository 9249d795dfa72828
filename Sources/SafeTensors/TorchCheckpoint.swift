import Foundation

/// A PyTorch checkpoint that cannot be converted. `description` is one sentence naming the file.
public struct TorchCheckpointError: Error, CustomStringConvertible, Equatable {
    public var path: String
    /// What is wrong, as a clause following the file name.
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path) \(problem)" + (problem.hasSuffix(".") ? "" : ".") }
}

/// The state dict of a `torch.save` checkpoint, read without Python: the zip archive, its
/// `data.pkl` run through a non-executing pickle machine, and the tensor storages it names.
/// The legacy format of PyTorch before 1.6 (consecutive pickles, then raw storages) is read too.
///
/// ```swift
/// let checkpoint = try TorchCheckpoint(path: "pytorch_model.pt")      // strips "module." itself
/// try SafeTensorsWriter.write(checkpoint.tensors, to: "r2p1d.safetensors")
/// ```
///
/// Accepted: a state dict (a dict or `OrderedDict` of tensors) at the top level, or a dict
/// holding one under `state_dict`, `model` or `model_state_dict` (other entries such as
/// `epoch` or `optimizer` are ignored). Tensors of every floating-point and integer storage
/// type become float32 (`num_batches_tracked` included); views (offsets, strides) are resolved.
public struct TorchCheckpoint: Sendable {
    /// The file read.
    public let path: String
    /// The state dict, keys with the prefix removed, values as float32.
    public let tensors: [String: FloatTensor]
    /// Keys in the order the checkpoint lists them (after the prefix is removed).
    public let names: [String]
    /// The stored element type of each key (`float32`, `int64`, ...).
    public let sourceTypes: [String: String]
    /// Where the state dict was found: `""` for the top level, else the wrapping key.
    public let container: String
    /// The prefix removed from every key (`""` when none).
    public let strippedPrefix: String

    /// Reads `path`.
    /// - Parameter prefix: keep only keys starting with this prefix and remove it (for example
    ///   `"rgb_backbone."` in a CMD pretraining checkpoint). When nil, a `module.` prefix shared
    ///   by every key (`nn.DataParallel`) is removed and nothing else.
    /// - Throws: `TorchCheckpointError` for a missing file, a file that is not a `torch.save`
    ///   zip archive, a truncated or damaged one, pickle content that is not a state dict, or a
    ///   prefix that no key has.
    public init(path: String, prefix: String? = nil) throws {
        func fail(_ problem: String) -> TorchCheckpointError { TorchCheckpointError(path: path, problem: problem) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fail("does not exist")
        }
        guard !isDirectory.boolValue else { throw fail("is a directory, not a PyTorch checkpoint") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw fail("cannot be read (\((error as NSError).localizedDescription))")
        }
        guard data.count > 0 else { throw fail("is empty (0 bytes)") }
        // The object and a way to get each storage's bytes, from either file format.
        let object: PickleValue
        let storageBytes: (String) throws -> Data
        if TorchLegacyFile.matches(data) {
            let legacy = try TorchLegacyFile(path: path, data: data)
            object = legacy.object
            storageBytes = { key in
                guard let bytes = legacy.storages[key] else { throw fail("is missing the data of storage \(key)") }
                return bytes
            }
        } else {
            guard data.count >= 4, data.prefix(4).elementsEqual([0x50, 0x4B, 0x03, 0x04]) else {
                throw fail(
                    "is not a PyTorch checkpoint (torch.save writes a zip archive; this file does not start like one)")
            }
            let archive = try TorchZipArchive(path: path, data: data)
            guard
                let pickleEntry = archive.entries.first(where: {
                    $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl")
                })
            else {
                throw fail("is a zip archive but not a PyTorch checkpoint (it has no data.pkl)")
            }
            let root = String(pickleEntry.name.dropLast("data.pkl".count))
            if let order = archive.entry(root + "byteorder") {
                let text = String(decoding: try archive.contents(of: order), as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                guard text == "little" else {
                    throw fail("stores its tensors \(text)-endian, which cannot be converted")
                }
            }
            var machine = PickleMachine(bytes: [UInt8](try archive.contents(of: pickleEntry)), path: path)
            object = try machine.run()
            storageBytes = { key in
                guard let entry = archive.entry(root + "data/" + key) else {
                    throw fail("is missing the storage data/\(key)")
                }
                return try archive.contents(of: entry)
            }
        }

        let (dict, container) = try Self.findStateDict(object, fail: fail)
        var refs: [(String, TorchTensorRef)] = []
        var problems: [String] = []
        for (key, value) in dict.items {
            guard case .string(let name) = key else {
                problems.append("a key that is \(key.kind), not a string")
                continue
            }
            switch value {
            case .tensor(let t): refs.append((name, t))
            default: problems.append("\(name) is \(value.kind)")
            }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(5).joined(separator: "; ")
            throw fail(
                "has a state dict\(container.isEmpty ? "" : " under \"\(container)\"") with entries that are not tensors: \(shown)\(problems.count > 5 ? " (and \(problems.count - 5) more)" : "")"
            )
        }
        guard !refs.isEmpty else { throw fail("has an empty state dict") }

        // The prefix: asked for, or `module.` when every key has it.
        var strip = prefix ?? ""
        if prefix == nil, refs.allSatisfy({ $0.0.hasPrefix("module.") }) { strip = "module." }
        if !strip.isEmpty {
            let kept = refs.filter { $0.0.hasPrefix(strip) }
            guard !kept.isEmpty else {
                let examples = refs.prefix(3).map(\.0).joined(separator: ", ")
                throw fail("has no key starting with \"\(strip)\" (keys look like \(examples))")
            }
            refs = kept.map { (String($0.0.dropFirst(strip.count)), $0.1) }
        }

        var tensors: [String: FloatTensor] = [:]
        var types: [String: String] = [:]
        var storages: [String: Data] = [:]
        for (name, ref) in refs {
            if storages[ref.storage.key] == nil { storages[ref.storage.key] = try storageBytes(ref.storage.key) }
            tensors[name] = try Self.materialise(ref, storage: storages[ref.storage.key]!, name: name, fail: fail)
            types[name] = ref.storage.dtype.rawValue
        }
        self.path = path
        self.tensors = tensors
        self.names = refs.map(\.0)
        self.sourceTypes = types
        self.container = container
        self.strippedPrefix = strip
    }

    /// The dict of tensors: the object itself when it holds tensors, else the first of
    /// `state_dict`, `model`, `model_state_dict` that is a dict.
    static func findStateDict(_ object: PickleValue, fail: (String) -> TorchCheckpointError) throws -> (
        PickleDict, String
    ) {
        guard case .dict(let top) = object else {
            throw fail("holds \(object.kind), not a state dict (save model.state_dict() rather than the model)")
        }
        let hasTensor = top.items.contains { if case .tensor = $0.value { return true } else { return false } }
        if hasTensor { return (top, "") }
        for key in ["state_dict", "model", "model_state_dict"] {
            if case .dict(let inner)? = top.value(forKey: key) { return (inner, key) }
        }
        for key in ["state_dict", "model", "model_state_dict"] {
            if let v = top.value(forKey: key) {
                throw fail(
                    "holds \(v.kind) under \"\(key)\", not a state dict (save model.state_dict() rather than the model)"
                )
            }
        }
        let keys = top.items.prefix(8).map { item -> String in
            if case .string(let s) = item.key { return s }
            return item.key.kind
        }
        throw fail(
            "holds a dict without tensors (keys: \(keys.joined(separator: ", "))) and no state dict under state_dict, model or model_state_dict"
        )
    }

    /// The values of a tensor view (offset and strides into its storage) as float32, row-major.
    static func materialise(_ ref: TorchTensorRef, storage: Data, name: String, fail: (String) -> TorchCheckpointError)
        throws -> FloatTensor
    {
        let dtype = ref.storage.dtype
        guard storage.count >= ref.storage.count * dtype.size else {
            throw fail(
                "is damaged: the storage of \(name) holds \(storage.count) bytes, fewer than its \(ref.storage.count) \(dtype.rawValue) values"
            )
        }
        guard ref.shape.allSatisfy({ $0 >= 0 }), ref.offset >= 0 else {
            throw fail("has tensor \(name) with a negative size or offset")
        }
        let count = ref.shape.reduce(1, *)
        if count > 0 {
            var last = ref.offset
            for (d, s) in zip(ref.shape, ref.strides) {
                guard s >= 0 else { throw fail("has tensor \(name) with a negative stride") }
                last += (d - 1) * s
            }
            guard last < ref.storage.count else {
                throw fail(
                    "has tensor \(name) of shape \(ref.shape) reaching past the end of its storage (\(ref.storage.count) values)"
                )
            }
        }
        let values = storage.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let base = raw.baseAddress!
            // Row-major walk of the view: the storage index of each element in turn.
            var out = [Float](repeating: 0, count: count)
            let rank = ref.shape.count
            var index = [Int](repeating: 0, count: rank)
            var at = ref.offset
            for i in 0..<count {
                out[i] = element(dtype, base, at)
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    at += ref.strides[d]
                    if index[d] < ref.shape[d] { break }
                    at -= ref.strides[d] * ref.shape[d]
                    index[d] = 0
                    d -= 1
                }
            }
            return out
        }
        return FloatTensor(shape: ref.shape, values: values)
    }

    /// Element `i` of a little-endian storage as float32.
    @inline(__always)
    static func element(_ dtype: TorchDType, _ base: UnsafeRawPointer, _ i: Int) -> Float {
        switch dtype {
        case .float32:
            return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .float64:
            return Float(
                Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case .float16:
            return halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .bfloat16:
            return bfloat16ToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .int64: return Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .int32: return Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .int16: return Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
        case .int8: return Float(base.load(fromByteOffset: i, as: Int8.self))
        case .uint8: return Float(base.load(fromByteOffset: i, as: UInt8.self))
        case .bool: return base.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
        }
    }
}
