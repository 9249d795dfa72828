import Common
import Foundation
import VideoData

/// Re-encodes a video whose I-frames are too far apart for CMD pretraining (every clip needs
/// an I-frame within a few frames of it) with a short regular GOP, as CMD's own data
/// preparation re-encodes every video (docs/method.md §2). The result is cached by content, so
/// a later run reuses it.
public enum ShortGOP {
    /// `DIRECTORY/<first 16 hex digits of the SHA-256>-gop<N>.mp4`, `…-gop<N>-h<H>.mp4` for a
    /// copy scaled down to `maxHeight` lines.
    public static func cachedPath(for path: String, gop: Int, maxHeight: Int? = nil, in directory: String) throws
        -> String
    {
        let hash = try SHA256.hexDigest(ofFile: path)
        let height = maxHeight.map { "-h\($0)" } ?? ""
        return (directory as NSString).appendingPathComponent("\(hash.prefix(16))-gop\(gop)\(height).mp4")
    }

    /// The size of the copy: the source's, or scaled down to `maxHeight` lines (aspect kept),
    /// both cut to even.
    public static func size(width: Int, height: Int, maxHeight: Int?) -> (width: Int, height: Int) {
        guard let maxHeight, height > maxHeight else { return (width & ~1, height & ~1) }
        let w = Int((Double(width) * Double(maxHeight) / Double(height)).rounded())
        return (max(2, w & ~1), max(2, maxHeight & ~1))
    }

    /// `$XDG_CACHE_HOME/decouple/short-gop`, or `~/.cache/decouple/short-gop`.
    public static var defaultDirectory: String { Resources.cacheDirectory("short-gop") }

    /// The re-encoded copy of `path` (every frame, its size cut to even, an I-frame every `gop`
    /// frames, no B-frames, x264 at CRF 18), at most `maxHeight` lines high when given (decoding
    /// a smaller copy is what keeps the batch loader ahead of the step on large footage), made
    /// now or found in the cache: (path, made now).
    /// - Throws: `MediaError` naming the file when it cannot be read or written.
    public static func reencode(_ path: String, gop: Int, maxHeight: Int? = nil, into directory: String) throws -> (
        path: String, made: Bool
    ) {
        // Opening demuxes without decoding: cheap enough to learn the size before the cache's name.
        let probe = try VideoReader(path: path, options: ReaderOptions(motionVectors: false))
        let (w, h) = size(width: probe.info.width, height: probe.info.height, maxHeight: maxHeight)
        let scaled = w != probe.info.width & ~1 || h != probe.info.height & ~1
        // A video no taller than the limit shares its copy with runs without one.
        let out = try cachedPath(for: path, gop: gop, maxHeight: scaled ? maxHeight : nil, in: directory)
        if FileManager.default.fileExists(atPath: out) { return (out, false) }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw MediaError(path: directory, problem: "could not be created for re-encoded videos")
        }
        let reader = try VideoReader(
            path: path,
            options: ReaderOptions(
                motionVectors: false, images: .all, imageWidth: scaled ? w : nil, imageHeight: scaled ? h : nil,
                rgb: .accurate))
        let encoder = try VideoEncoder(
            path: out, width: w, height: h,
            options: EncoderOptions(fps: max(1, Int(reader.info.fps.rounded())), gop: gop, crf: 18))
        while let frame = try reader.next() {
            guard var image = frame.image else { continue }
            if image.width != w || image.height != h { image = evenCrop(image, width: w, height: h) }
            try encoder.append(image)
        }
        try encoder.finish()
        return (out, true)
    }

    static func evenCrop(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let src = y * image.width * 3
            px.replaceSubrange((y * width * 3)..<((y + 1) * width * 3), with: image.pixels[src..<(src + width * 3)])
        }
        return RGBImage(width: width, height: height, pixels: px)
    }
}
