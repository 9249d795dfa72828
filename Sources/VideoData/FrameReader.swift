/// Sequential decoding with seeking, as the explorer and clip pipelines need it, without
/// importing FFmpeg: `MediaIO.VideoReader` conforms.
///
/// One reader belongs to one thread at a time.
public protocol FrameReader: AnyObject {
    var info: VideoInfo { get }
    /// The next frame in presentation order (with its motion vectors), nil at the end.
    func next() throws -> VideoFrame?
    /// Makes `next()` return frame `index`.
    func seek(toFrame index: Int) throws
    /// RGB of the frame `next()` returned last, resized when a size is given.
    func currentImage(width: Int?, height: Int?) throws -> RGBImage
}

/// Opens a video for reading; injected where a pure layer needs videos (the explorer).
public typealias FrameReaderFactory = @Sendable (_ path: String) throws -> FrameReader
