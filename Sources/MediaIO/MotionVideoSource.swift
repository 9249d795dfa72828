import Foundation
import VideoData

/// RGB frames, motion fields and I-frame positions of a video file for pretraining (the
/// `MotionClipSource` that `Pretrain` reads through).
///
/// A fetch decodes forward from the key frame before the first wanted frame to the last one,
/// jumping over every run of whole GOPs that holds no wanted frame, with one thread for streams
/// with B-frames (exact B-frame vectors), converting to RGB only the frames asked for; a fetch
/// of I-frames alone decodes I-frames only (the scene view's keyframes). Every reader shares the
/// packet index of the first, so the file is demuxed for it once.
public final class MotionVideoSource: MotionClipSource {
    public let info: VideoInfo
    private let path: String
    private let rgb: RGBConversion
    private let frameThreads: Int
    private let index: PacketIndex
    private var iFrames: [Int]?
    /// Frames decoded so far (those a seek decoded on its way to a wanted frame included), and
    /// how many of them were I-frames (the scene view decodes I-frames only: `bench views` and
    /// the tests check it).
    public private(set) var framesDecoded = 0
    public private(set) var iFramesDecoded = 0

    /// Opens `path`; RGB frames are converted as `rgb` says. `frameThreads` is the decoder's
    /// thread count for streams without B-frames: every core by default, 1 for the batch
    /// loader, whose cores the training step already keeps busy.
    public init(
        path: String, rgb: RGBConversion = .accurate,
        frameThreads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws(MediaError) {
        self.path = path
        self.rgb = rgb
        self.frameThreads = frameThreads
        let reader = try VideoReader(path: path, options: ReaderOptions(motionVectors: false))
        info = reader.info
        index = reader.index
    }

    public var frameCount: Int { info.frameCount }
    public var width: Int { info.width }
    public var height: Int { info.height }

    /// From a keyframes-only pass (`skip_frame=nonintra`), cached.
    public func iFrameIndices() throws -> [Int] {
        if let iFrames { return iFrames }
        let reader = try VideoReader(
            path: path, options: ReaderOptions(frames: .intra, motionVectors: false), index: index)
        defer { count(reader) }
        var out: [Int] = []
        while let f = try reader.next() {
            if f.info.pictureType == .i { out.append(f.info.index) }
        }
        iFrames = out
        return out
    }

    public func fetch(rgb: [Int], motion: [Int], cellSize: Int) throws -> (images: [RGBImage], fields: [MotionField]) {
        var images: [Int: RGBImage] = [:]
        var fields: [Int: MotionField] = [:]
        try decode(rgb: rgb, motion: motion, cellSize: cellSize) { i, image, field in
            if let image { images[i] = image }
            if let field { fields[i] = field }
        }
        return (rgb.map { images[$0]! }, motion.map { fields[$0]! })
    }

    public func motionFields(_ frames: [Int], cellSize: Int, _ body: (Int, MotionField) throws -> Void) throws {
        try decode(rgb: [], motion: frames, cellSize: cellSize) { i, _, field in try body(i, field!) }
    }

    /// One pass from the key frame before the first wanted frame to the last, past GOPs that
    /// hold no wanted frame: `body` gets each wanted frame's RGB image and motion field as they
    /// are decoded, in order.
    private func decode(
        rgb: [Int], motion: [Int], cellSize: Int, _ body: (Int, RGBImage?, MotionField?) throws -> Void
    ) throws {
        let wanted = Set(rgb).union(motion)
        guard let first = wanted.min(), let last = wanted.max() else { return }
        guard first >= 0, last < frameCount else {
            throw MediaError(
                path: path, problem: "has no frame \(first < 0 ? first : last) (it has \(frameCount) frames)")
        }
        let intraOnly = motion.isEmpty && iFrames.map { Set($0).isSuperset(of: rgb) } == true
        // Frame threads only help a long decode; the reader keeps one thread for streams with
        // B-frames, whose exported vectors frame threading would scramble (docs/ffmpeg.md §6).
        var options = ReaderOptions(
            frames: intraOnly ? .intra : .all, motionVectors: !motion.isEmpty,
            frameThreads: intraOnly ? 1 : frameThreads, rgb: self.rgb)
        // Without RGB frames only vectors matter: deblocking of P- and B-frames is skipped.
        options.skipInterLoopFilter = rgb.isEmpty
        let reader = try VideoReader(path: path, options: options, index: index)
        defer { count(reader) }
        if first > 0 { try reader.seek(toFrame: first) }
        let rgbSet = Set(rgb)
        let motionSet = Set(motion)
        let order = wanted.sorted()
        var pending = 0  // the next wanted frame not yet decoded, as a position in `order`
        var seen = Set<Int>()
        while let frame = try reader.next() {
            let i = frame.info.index
            if i > last { break }
            guard wanted.contains(i) else { continue }
            seen.insert(i)
            let image = rgbSet.contains(i) ? try reader.currentImage() : nil
            let field =
                motionSet.contains(i)
                ? MotionField(
                    vectors: frame.motionVectors, frameWidth: info.width, frameHeight: info.height, cellSize: cellSize)
                : nil
            try body(i, image, field)
            // Whole GOPs before the next wanted frame are needed by nothing (the clips of a long
            // video lie far apart): decoding jumps to the key frame before it, which starts
            // decoding afresh, so the frames after it come out the same.
            while pending < order.count && order[pending] <= i { pending += 1 }
            if pending < order.count, reader.seekPays(from: i, to: order[pending]) {
                try reader.seek(toFrame: order[pending])
            }
        }
        if let missing = wanted.subtracting(seen).min() {
            throw MediaError(path: path, problem: "could not decode frame \(missing)")
        }
    }

    private func count(_ reader: VideoReader) {
        framesDecoded += reader.framesDecoded
        iFramesDecoded += reader.iFramesDecoded
    }
}
