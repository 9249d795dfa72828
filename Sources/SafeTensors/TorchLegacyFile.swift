import Foundation

/// The format `torch.save` wrote before PyTorch 1.6 (and still writes with
/// `_use_new_zipfile_serialization=False`): five pickles in a row (a magic number, the protocol
/// version 1001, a system-info dict, the object with persistent ids for storages, the sorted
/// list of storage keys), then for each key in that order an int64 element count followed by
/// the storage's raw little-endian bytes.
struct TorchLegacyFile {
    /// The pickled magic number 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes, STOP).
    static let magic: [UInt8] = [
        0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E,
    ]

    static func matches(_ data: Data) -> Bool {
        data.count >= magic.count && data.prefix(magic.count).elementsEqual(magic)
    }

    let object: PickleValue
    /// Storage key -> its bytes.
    let storages: [String: Data]

    init(path: String, data: Data) throws {
        func fail(_ problem: String) -> TorchCheckpointError { TorchCheckpointError(path: path, problem: problem) }
        let bytes = [UInt8](data)
        var machine = PickleMachine(bytes: bytes, path: path, start: Self.magic.count)
        guard case .int(1001) = try machine.runNext() else {
            throw fail("is a legacy torch.save file of an unknown protocol version")
        }
        let info = try machine.runNext()
        if case .dict(let d) = info, case .bool(false)? = d.value(forKey: "little_endian") {
            throw fail("stores its tensors big-endian, which cannot be converted")
        }
        object = try machine.runNext()
        // Element sizes come from the storage types the object names.
        var sizes: [String: Int] = [:]
        Self.collectStorages(object) { sizes[$0.key] = $0.dtype.size }
        guard case .list(let keyList) = try machine.runNext() else {
            throw fail("is a damaged legacy torch.save file (no storage key list)")
        }
        var storages: [String: Data] = [:]
        var p = machine.position
        for item in keyList.items {
            guard case .string(let key) = item else {
                throw fail("is a damaged legacy torch.save file (a storage key is not a string)")
            }
            guard p + 8 <= bytes.count else { throw fail("is truncated (it ends before storage \(key))") }
            let count = Int(
                Int64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: p, as: Int64.self) }))
            p += 8
            // A storage no tensor of the object uses would have an unknown element size; then
            // nothing after it can be located either.
            guard let size = sizes[key] else {
                throw fail("has storage \(key), which no tensor uses, so its size is unknown")
            }
            guard count >= 0, count <= (bytes.count - p) / size else {
                throw fail("is truncated (storage \(key) ends past the end of the file)")
            }
            storages[key] = data.subdata(in: p..<(p + count * size))
            p += count * size
        }
        self.storages = storages
    }

    /// Calls `body` for every storage reference inside `value`. The depth limit guards against
    /// self-referencing containers, which pickle can express and torch never writes.
    static func collectStorages(_ value: PickleValue, depth: Int = 0, _ body: (TorchStorageRef) -> Void) {
        guard depth < 64 else { return }
        switch value {
        case .storage(let s): body(s)
        case .tensor(let t): body(t.storage)
        case .tuple(let items): for i in items { collectStorages(i, depth: depth + 1, body) }
        case .list(let l): for i in l.items { collectStorages(i, depth: depth + 1, body) }
        case .dict(let d):
            for (k, v) in d.items {
                collectStorages(k, depth: depth + 1, body)
                collectStorages(v, depth: depth + 1, body)
            }
        default: break
        }
    }
}
