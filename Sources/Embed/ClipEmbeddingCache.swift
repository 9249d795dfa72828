import Common
import Foundation
import Models
import VideoData

/// Clip embeddings kept on disk, so reopening a video in the explorer shows its embeddings at
/// once: one small file per clip, named after a hash of everything that produced it.
///
/// File format: the key as a line, then a little-endian Int32 count and that many Float32
/// values for the clip, and the same for the still clip (count 0 when there is none). A file
/// whose key line differs (a hash collision, an older format) or that is cut short is a miss.
public struct ClipEmbeddingCache: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `$XDG_CACHE_HOME/decouple/explore`, or `~/.cache/decouple/explore`.
    public static var defaultDirectory: String { Resources.cacheDirectory("explore") }

    /// What identifies one cached result: model, view, weights, RGB conversion, preprocessing, the file's
    /// identity (real path, size, modification time), the window and the still frame; nil when
    /// the file cannot be stat'ed (nothing is cached then).
    public static func key(
        config: BackboneConfig, view: String, weights: String, rgb: RGBConversion, path: String, window: ClipWindow,
        still: Int?
    ) -> String? {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attrs[.size] as? Int, let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970
        else { return nil }
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let preprocessing = DefaultModel.preprocessing(for: config)
        let clip = "\(window.start),\(window.frames),\(window.stride)"
        return
            "v4|\(config)|\(view)|\(weights)|\(rgb.rawValue)|\(preprocessing)|\(real)|\(size)|\(mtime)|\(clip)|\(still.map(String.init) ?? "-")"
    }

    /// The cached clip and still vectors for `key`, or nil.
    public func read(_ key: String) -> (clip: [Float], still: [Float]?)? {
        guard let data = FileManager.default.contents(atPath: file(for: key)),
            let newline = data.firstIndex(of: 10), String(decoding: data[..<newline], as: UTF8.self) == key
        else { return nil }
        var offset = newline + 1
        func vector() -> [Float]? {
            guard offset + 4 <= data.count else { return nil }
            let n = Int(data[offset..<(offset + 4)].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
            offset += 4
            guard n >= 0, offset + 4 * n <= data.count else { return nil }
            let v = data[offset..<(offset + 4 * n)].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            offset += 4 * n
            return v
        }
        guard let clip = vector(), !clip.isEmpty, let still = vector() else { return nil }
        return (clip, still.isEmpty ? nil : still)
    }

    /// Stores a result; a cache that cannot be written is skipped silently (it only saves time).
    public func write(_ key: String, clip: [Float], still: [Float]?) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var data = Data((key + "\n").utf8)
        for v in [clip, still ?? []] {
            withUnsafeBytes(of: Int32(v.count)) { data.append(contentsOf: $0) }
            v.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try? AtomicFile.write(data, to: file(for: key))
    }

    func file(for key: String) -> String {
        var h = SHA256()
        h.update(Data(key.utf8))
        return directory + "/" + h.hexDigest() + ".clip"
    }
}
