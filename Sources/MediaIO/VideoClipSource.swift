import VideoData

/// Decoded RGB frames of a video file by display index, for clip preprocessing (the
/// `ClipSource` that `Embed` and the explorer use without importing FFmpeg).
///
/// Built on a single-threaded `VideoReader` without motion vectors. A request decodes each
/// distinct frame once, in display order; it moves forward by decoding, and seeks only when
/// that pays: to go backwards, or when a key frame lies ahead of the decoder and at or before
/// the next wanted frame (seeking there skips the frames in between). Frames are converted to
/// RGB only when asked for, and only the frames of one request are held, so memory is bounded
/// by the caller's request size. Not thread-safe: one source per thread.
public final class VideoClipSource: ClipSource {
    public let info: VideoInfo
    private let reader: VideoReader
    /// Display index of the frame the reader returned last (-1 before the first).
    private var position = -1
    /// Seeks made so far (for tests and benchmarks: a forward pass over clips should need few).
    public private(set) var seeks = 0
    /// Frames decoded so far, wanted or not.
    public private(set) var decodedFrames = 0

    /// Opens `path`, converting frames to RGB as `rgb` says. Throws a `MediaError` naming the
    /// file when it is not a readable video.
    public init(path: String, rgb: RGBConversion = .accurate) throws(MediaError) {
        reader = try VideoReader(
            path: path,
            options: ReaderOptions(frames: .all, motionVectors: false, images: .none, frameThreads: 1, rgb: rgb))
        info = reader.info
    }

    public var frameCount: Int { info.frameCount }
    public var width: Int { info.width }
    public var height: Int { info.height }
    public var fps: Double { info.fps }

    public func frames(at indices: [Int]) throws -> [RGBImage] {
        for i in indices where i < 0 || i >= frameCount {
            throw MediaError(path: info.path, problem: "has no frame \(i) (it has \(frameCount) frames)")
        }
        var images: [Int: RGBImage] = [:]
        for target in Set(indices).sorted() {
            if target <= position || reader.seekPays(from: position, to: target) {
                try reader.seek(toFrame: target)
                seeks += 1
                position = target - 1
            }
            while position < target {
                guard let frame = try reader.next() else {
                    throw MediaError(
                        path: info.path,
                        problem:
                            "ends after frame \(position), before frame \(target) (\(reader.readError ?? "no more frames could be decoded"))"
                    )
                }
                position = frame.info.index
                decodedFrames += 1
            }
            guard position == target else {
                throw MediaError(
                    path: info.path,
                    problem:
                        "could not decode frame \(target) (the decoder skipped it, returning frame \(position) next)")
            }
            images[target] = try reader.currentImage()
        }
        return indices.map { images[$0]! }
    }
}
