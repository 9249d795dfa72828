import Embed
import Explorer
import Foundation
import Index
import MediaIO
import Models
import SafeTensors
import VideoData

/// The "parse these bytes" functions behind the libFuzzer harnesses (`make fuzz`, the
/// `DecoupleFuzz` executable in `Fuzz/Harness`) and the corpus replay test
/// (`Tests/FuzzTargetsTests`). Each one hands the bytes to the real parser the way a user's file
/// reaches it (files are written to a scratch directory first, since the readers take paths),
/// then reads everything the parser accepted. A thrown Swift error is the expected outcome for
/// bad input; a trap, a crash or a hang is a bug.
public enum FuzzTargets {
    /// The harnesses by name, in the order `make fuzz` runs them.
    public static let names = ["safetensors", "torch", "pickle", "npy", "store", "card", "config", "keys", "video"]

    /// The function for harness `name`, or nil.
    public static func target(_ name: String) -> (@Sendable (Data) -> Void)? {
        switch name {
        case "safetensors": return safetensors
        case "torch": return torch
        case "pickle": return pickle
        case "npy": return npy
        case "store": return store
        case "card": return card
        case "config": return config
        case "keys": return keys
        case "video": return video
        default: return nil
        }
    }

    /// A scratch directory for this process.
    static let scratch: String = {
        let p = NSTemporaryDirectory() + "decouple-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }()

    static func file(_ name: String, _ data: Data) -> String {
        let path = scratch + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// A video file through the project's own reader (FFmpeg's demuxers and decoders underneath,
    /// which OSS-Fuzz fuzzes): the packet index, the first frames with their motion vectors and
    /// small RGB keyframes, a seek, and the I-frame and motion-field paths of the scene and
    /// motion views. Bounded (32 frames, pictures up to 1920x1088) so one input stays well under
    /// the 1 s limit on a valid stream too.
    public static func video(_ data: Data) {
        let path = file("input.video", data)
        guard
            let reader = try? VideoReader(
                path: path, options: ReaderOptions(images: .intra, imageWidth: 32, imageHeight: 24))
        else { return }
        let info = reader.info
        guard info.width * info.height <= 1920 * 1088 else { return }
        var decoded = 0
        while decoded < 32, let frame = try? reader.next() {
            _ = frame.motionVectors.count
            decoded += 1
        }
        if info.frameCount > 1 { try? reader.seek(toFrame: info.frameCount / 2) }
        guard let source = try? MotionVideoSource(path: path) else { return }
        let frames = Array(0..<min(source.frameCount, 16))
        _ = try? source.iFrameIndices()
        _ = try? source.fetch(rgb: Array(frames.prefix(1)), motion: frames, cellSize: 8)
        try? source.motionFields(frames, cellSize: 8) { _, field in _ = field.cellSize }
    }

    /// A safetensors file: header and data, then every tensor read (copied and in place).
    public static func safetensors(_ data: Data) {
        guard let reader = try? SafeTensorsReader(path: file("input.safetensors", data)) else { return }
        _ = reader.metadata
        for name in reader.names {
            _ = reader.tensor(name)
            _ = reader.withFloats(name) { $0.reduce(0, +) }
        }
    }

    /// A PyTorch checkpoint (zip with ZIP64, or the legacy format): the pickle machine, the
    /// storages and the views, with and without a prefix.
    public static func torch(_ data: Data) {
        let path = file("input.pt", data)
        if let checkpoint = try? TorchCheckpoint(path: path) {
            for name in checkpoint.names { _ = checkpoint.tensors[name]?.values.reduce(0, +) }
            _ = try? TorchCheckpoint(path: path, prefix: "rgb_backbone.")
        }
    }

    /// The pickle machine behind the zip: the input is `data.pkl` of a valid torch.save archive
    /// (CRC-32s right, `byteorder` little, storages `data/0` to `data/9` of 256 bytes each), so
    /// mutations reach the opcodes, the state-dict search and the views instead of failing the
    /// zip's checksum.
    public static func pickle(_ data: Data) {
        torch(pickleArchive(data))
    }

    /// The archive `pickle` hands to the checkpoint reader.
    public static func pickleArchive(_ data: Data) -> Data {
        var entries: [(String, Data)] = [("archive/data.pkl", data), ("archive/byteorder", Data("little".utf8))]
        for key in 0..<10 {
            entries.append(("archive/data/\(key)", Data((0..<256).map { UInt8(truncatingIfNeeded: $0 &* (key + 3)) })))
        }
        return StoredZip.archive(entries)
    }

    /// A `.npy` file: the header parser, then the float32 reader.
    public static func npy(_ data: Data) {
        _ = NPY.parseHeader([UInt8](data))
        if let tensor = try? NPYFile.readFloat32(file("input.npy", data)) {
            _ = tensor.shape
        }
    }

    /// The store's three files, in the order of the first input byte's selector.
    public static let storeFiles = [
        EmbeddingStore.manifestFile, EmbeddingStore.itemsFile, EmbeddingStore.matrixFile,
    ]

    /// A valid two-item store of dimension 4, made once per process.
    public static let storeTemplate: [String: Data] = {
        let directory = scratch + "/template-store"
        let manifest = EmbeddingManifest(
            model: "r2p1d-26", config: "r2p1d-26", weights: .init(file: nil, sha256: nil, random: true, seed: 0),
            preprocessing: .modelScope,
            sampling: .init(rule: "modelscope", clips: 10, frames: 16, stride: 4, hop: nil, pooling: "mean"),
            dimension: 4, count: 0, rgb: .modelscope)
        let items = (0..<2).map { i in
            EmbeddingItem(
                id: "v\(i)", path: "/videos/v\(i).mp4", startFrame: 0, endFrame: 61, startSeconds: 0,
                endSeconds: 2.44, model: "r2p1d-26", clips: 10, fileSize: 1000 + i,
                fileSHA256: String(repeating: String(i), count: 64))
        }
        try? EmbeddingStore.write(
            to: directory, matrix: (0..<8).map(Float.init), items: items, manifest: manifest, replace: true)
        var files: [String: Data] = [:]
        for name in storeFiles { files[name] = FileManager.default.contents(atPath: directory + "/" + name) }
        return files
    }()

    /// Store open: the first byte picks manifest.json, items.jsonl or embeddings.npy (modulo
    /// 3); the rest of the input replaces that file next to the other two, valid ones. The store
    /// is opened for reading (every row read, every id looked up) and for writing.
    public static func store(_ data: Data) {
        guard let selector = data.first else { return }
        let replaced = storeFiles[Int(selector) % storeFiles.count]
        let directory = scratch + "/store"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in storeFiles {
            let contents = name == replaced ? data.dropFirst() : storeTemplate[name] ?? Data()
            _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(contents))
        }
        if let store = try? EmbeddingStore(opening: directory) {
            _ = try? store.readMatrix()
            for item in store.items { _ = store.index(ofID: item.id) }
        }
        _ = try? EmbeddingStore(opening: directory, forWriting: true)
    }

    /// `weights/default.json` as the tools decode it, with its configuration and preprocessing;
    /// the same bytes as a weights' model card (`<weights>.json`, read for its RGB conversion).
    public static func card(_ data: Data) {
        _ = file("weights.json", data)
        _ = ModelWeights.conversion(forWeights: scratch + "/weights.safetensors")
        guard let model = try? JSONDecoder().decode(DefaultModel.self, from: data) else { return }
        if let config = try? model.backboneConfig() { use(config) }
    }

    /// A `--config` override string applied to each architecture.
    public static func config(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        for architecture in Architecture.allCases {
            if let config = try? BackboneConfig(architecture).applying(overrides: text) { use(config) }
        }
    }

    /// What the tools derive from an accepted configuration before building a model.
    static func use(_ config: BackboneConfig) {
        _ = config.description
        _ = config.isPublishedWidth
        _ = config.inputShape
        _ = config.embeddingDimension
        _ = DefaultModel.preprocessing(for: config)
    }

    /// An explorer `--keys` script.
    public static func keys(_ data: Data) {
        _ = Key.parse(script: String(decoding: data, as: UTF8.self))
    }
}

/// A zip archive of stored (uncompressed) entries, as torch.save writes it.
enum StoredZip {
    static func archive(_ entries: [(String, Data)]) -> Data {
        var out = Data()
        var directory = Data()
        func le16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]) }
        func le32(_ v: UInt32, _ d: inout Data) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        for (name, bytes) in entries {
            let offset = UInt32(out.count)
            let crc = crc32(bytes)
            let nameBytes = Data(name.utf8)
            le32(0x0403_4b50, &out)
            for v in [20, 0, 0, 0, 0] { le16(v, &out) }
            le32(crc, &out)
            le32(UInt32(bytes.count), &out)
            le32(UInt32(bytes.count), &out)
            le16(nameBytes.count, &out)
            le16(0, &out)
            out.append(nameBytes)
            out.append(bytes)
            le32(0x0201_4b50, &directory)
            for v in [20, 20, 0, 0, 0, 0] { le16(v, &directory) }
            le32(crc, &directory)
            le32(UInt32(bytes.count), &directory)
            le32(UInt32(bytes.count), &directory)
            for v in [nameBytes.count, 0, 0, 0, 0] { le16(v, &directory) }
            le32(0, &directory)
            le32(offset, &directory)
            directory.append(nameBytes)
        }
        let directoryOffset = UInt32(out.count)
        out.append(directory)
        le32(0x0605_4b50, &out)
        for v in [0, 0, entries.count, entries.count] { le16(v, &out) }
        le32(UInt32(directory.count), &out)
        le32(directoryOffset, &out)
        le16(0, &out)
        return out
    }

    static func crc32(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }
}
