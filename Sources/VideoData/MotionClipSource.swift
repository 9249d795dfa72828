/// What CMD pretraining reads from one video, without importing FFmpeg: RGB frames, dense
/// motion fields and the positions of the I-frames. `MediaIO.MotionVideoSource` decodes them
/// from the compressed stream (one single-threaded decoder, so vectors are exact).
///
/// One source belongs to one thread at a time.
public protocol MotionClipSource {
    /// What the container and stream say (frame rate, codec, key frames, whether the codec
    /// exports motion vectors).
    var info: VideoInfo { get }
    var frameCount: Int { get }
    var width: Int { get }
    var height: Int { get }
    /// Display indices of every I-frame (IDR or not).
    func iFrameIndices() throws -> [Int]
    /// RGB of the frames at `rgb` and forward-motion fields (both reference lists, cells of
    /// `cellSize` pixels) of the frames at `motion`, in the order asked, from one pass.
    func fetch(rgb: [Int], motion: [Int], cellSize: Int) throws -> (images: [RGBImage], fields: [MotionField])
    /// The motion field of each frame of `frames` (ascending, distinct), handed to `body` as
    /// it is decoded in one pass, so memory stays bounded for any number of frames.
    func motionFields(_ frames: [Int], cellSize: Int, _ body: (Int, MotionField) throws -> Void) throws
}
