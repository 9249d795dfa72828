/// Decoded frames of one video, by display index, for clip preprocessing. Lets the embedder,
/// the explorer and pretraining get pixels without importing FFmpeg: `MediaIO.VideoClipSource`
/// is the decoding implementation, `ImageClipSource` an in-memory one.
///
/// One source belongs to one thread at a time.
public protocol ClipSource {
    /// Frames in the video (counted from packets for decoded sources).
    var frameCount: Int { get }
    var width: Int { get }
    var height: Int { get }
    /// Frames per second, for time ranges (0 when unknown).
    var fps: Double { get }
    /// The frames at `indices` (display order, each in 0..<frameCount), returned in the order
    /// asked, repeats included. A decoding source decodes each distinct frame once, in display
    /// order, seeking forward only when that skips decoding; callers keep memory bounded by
    /// asking for a few dozen frames at a time.
    func frames(at indices: [Int]) throws -> [RGBImage]
}

/// A problem with a clip request: an index outside the video.
public struct ClipSourceError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Frames held in memory: tests, stills, and frames that were decoded elsewhere.
public struct ImageClipSource: ClipSource, Sendable {
    public let images: [RGBImage]
    public let fps: Double

    /// `images` must be non-empty and all of one size.
    public init(images: [RGBImage], fps: Double = 25) {
        precondition(!images.isEmpty, "ImageClipSource needs at least one image")
        precondition(
            images.allSatisfy { $0.width == images[0].width && $0.height == images[0].height },
            "ImageClipSource images differ in size")
        self.images = images
        self.fps = fps
    }

    public var frameCount: Int { images.count }
    public var width: Int { images[0].width }
    public var height: Int { images[0].height }

    public func frames(at indices: [Int]) throws -> [RGBImage] {
        try indices.map { i in
            guard i >= 0 && i < images.count else {
                throw ClipSourceError("frame \(i) is outside the \(images.count) frames held")
            }
            return images[i]
        }
    }
}
