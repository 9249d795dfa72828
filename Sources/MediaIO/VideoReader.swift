import CFFmpeg
import Foundation
import VideoData

/// Codecs whose FFmpeg software decoders export `AV_FRAME_DATA_MOTION_VECTORS`; HEVC, VP9 and
/// AV1 accept the flag and export nothing (docs/ffmpeg.md §4, measured).
let motionVectorCodecs: Set<String> = ["h264", "mpeg4", "mpeg2video", "mpeg1video", "h263", "h263p"]

/// What a `VideoReader` decodes and returns.
public struct ReaderOptions: Sendable {
    /// Which pictures to decode.
    public enum Frames: Sendable {
        /// Every frame (needed for motion vectors).
        case all
        /// I-frames only, including non-IDR ones (`skip_frame=nonintra`): the fast keyframe path.
        case intra
        /// IDR / recovery-point frames only (`skip_frame=nonkey`).
        case key
    }

    /// Which decoded frames come back with RGB pixels.
    public enum Images: Sendable {
        case none
        case intra
        case all
    }

    public var frames: Frames
    public var motionVectors: Bool
    public var images: Images
    /// Output size of the RGB images; nil keeps the frame size.
    public var imageWidth: Int?
    public var imageHeight: Int?
    /// Frame threads, used only when the stream has no B-frames (otherwise 1): frame threading
    /// scrambles exported B-frame vectors. Parallelise across videos or segments instead.
    public var frameThreads: Int
    /// How frames become RGB (`RGBConversion`).
    public var rgb: RGBConversion
    /// Skips deblocking of P- and B-frames (`skip_loop_filter=nonintra`): about 13 % faster,
    /// vectors and I-frames unchanged, other frames' pixels not (docs/ffmpeg.md §5). For
    /// readers that want vectors and keyframes only.
    public var skipInterLoopFilter = false

    public init(
        frames: Frames = .all, motionVectors: Bool = true, images: Images = .none,
        imageWidth: Int? = nil, imageHeight: Int? = nil, frameThreads: Int = 1, rgb: RGBConversion = .accurate
    ) {
        self.rgb = rgb
        self.frames = frames
        self.motionVectors = motionVectors
        self.images = images
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.frameThreads = frameThreads
    }
}

/// Streams the frames of one video in presentation order, with their motion vectors.
///
/// Opening demuxes the file once (no decoding) to count frames and find key frames; decoding
/// then streams, holding one frame at a time, so memory stays bounded for any length. One
/// reader decodes single-threaded; run several readers (videos, or segments that start at key
/// frames) side by side for speed. Not thread-safe: use one reader per thread.
public final class VideoReader: FrameReader {
    public let info: VideoInfo
    public let options: ReaderOptions
    /// The decoder's thread count actually used (see `ReaderOptions.frameThreads`).
    public var decoderThreads: Int { decoder.threads }
    /// Packets the decoder rejected as damaged so far.
    public private(set) var damagedPackets = 0
    /// Frames the decoder produced so far, those a seek decoded on its way to its target
    /// included, and how many of them were I-frames.
    public private(set) var framesDecoded = 0
    public private(set) var iFramesDecoded = 0
    /// Why reading stopped early (a truncated or damaged file), if it did.
    public var readError: String? { demuxer.readError ?? index.readError }

    public let index: PacketIndex
    private var demuxer: Demuxer
    private let decoder: Decoder
    private let converter: ImageConverter
    private let firstKey: Int64
    private let timeBase: Double
    private var lastIndex = -1
    private var flushed = false
    private var hasCurrentFrame = false
    /// After a seek: frames before this index are decoded but not returned.
    private var seekTarget: Int?
    private var seekAttempt = 0

    /// Opens `path`. Throws a `MediaError` naming the file for anything that is not a readable
    /// video with at least one frame. `index` lets several readers of one file share one
    /// demux pass.
    public init(path: String, options: ReaderOptions = ReaderOptions(), index sharedIndex: PacketIndex? = nil)
        throws(MediaError)
    {
        self.options = options
        converter = ImageConverter(conversion: options.rgb)
        let demuxer = try Demuxer(path: path)
        self.demuxer = demuxer
        let index: PacketIndex
        if let sharedIndex {
            index = sharedIndex
        } else {
            index = PacketIndex(demuxer: try Demuxer(path: path, knownStream: demuxer.streamIndex))
        }
        guard index.count > 0 else {
            if let err = index.readError {
                throw MediaError(path: path, problem: "has a video stream but no frame could be read (\(err))")
            }
            throw MediaError(path: path, problem: "has a video stream but no frames")
        }
        self.index = index
        let par = demuxer.parameters
        let st = demuxer.stream
        let codecName = String(cString: avcodec_get_name(par.pointee.codec_id))
        let tb = st.pointee.time_base
        timeBase = av_q2d(tb)
        firstKey = index.keys[0]
        let skip: AVDiscard
        switch options.frames {
        case .all: skip = AVDISCARD_DEFAULT
        case .intra: skip = AVDISCARD_NONINTRA
        case .key: skip = AVDISCARD_NONKEY
        }
        decoder = try Decoder(
            parameters: par, path: path, exportMotionVectors: options.motionVectors, skip: skip,
            skipLoopFilter: options.skipInterLoopFilter ? AVDISCARD_NONINTRA : AVDISCARD_DEFAULT,
            frameThreads: index.hasReordering ? 1 : options.frameThreads)
        info = Self.describe(path: path, demuxer: demuxer, index: index, codecName: codecName, timeBase: timeBase)
        // Damaged headers can leave the size unknown; everything downstream sizes buffers by it.
        guard info.width > 0 && info.height > 0 else {
            throw MediaError(
                path: path,
                problem:
                    "has a video stream without a picture size (\(info.width)x\(info.height)): its headers are damaged")
        }
    }

    /// The next frame in presentation order, or nil at the end of the stream.
    public func next() throws(MediaError) -> VideoFrame? {
        while true {
            switch try decoder.receive() {
            case .frame:
                let frame = decoder.frame
                framesDecoded += 1
                if frame.pointee.pict_type == AV_PICTURE_TYPE_I { iFramesDecoded += 1 }
                var key = frame.pointee.pts
                if key == cff_nopts_value() { key = frame.pointee.best_effort_timestamp }
                let idx = index.index(ofKey: key) ?? (lastIndex + 1)
                if let target = seekTarget {
                    if idx > target && seekAttempt < 3 && target > 0 {
                        // The container landed after the target: go back one more key frame.
                        try restartDecoding(from: target, attempt: seekAttempt + 1)
                        continue
                    }
                    if idx < target {
                        lastIndex = idx
                        continue
                    }
                    seekTarget = nil
                }
                lastIndex = idx
                hasCurrentFrame = true
                // A raw stream's frames come without timestamps: their time follows from their
                // order. In Double, as timestamps from a damaged file can be any Int64 and their
                // difference would overflow.
                let noPTS = key == cff_nopts_value()
                let time =
                    noPTS
                    ? (self.info.fps > 0 ? Double(idx) / self.info.fps : 0)
                    : (Double(key) - Double(firstKey)) * timeBase
                let info = FrameInfo(
                    index: idx, pts: noPTS ? nil : key, time: time,
                    pictureType: Self.pictureType(frame.pointee.pict_type),
                    isKey: frame.pointee.key_frame != 0,
                    packetSize: idx < index.count ? Int(index.sizes[idx]) : Int(frame.pointee.pkt_size))
                let mvs = options.motionVectors ? decoder.motionVectors() : []
                var image: RGBImage? = nil
                switch options.images {
                case .all: image = try currentImage()
                case .intra where info.pictureType == .i: image = try currentImage()
                default: break
                }
                return VideoFrame(info: info, motionVectors: mvs, image: image)
            case .needInput:
                if flushed { return nil }
                if let packet = demuxer.nextPacket() {
                    if try !decoder.send(packet) { damagedPackets += 1 }
                } else {
                    _ = try decoder.send(nil)
                    flushed = true
                }
            case .end:
                return nil
            }
        }
    }

    /// RGB of the frame `next()` returned last, at `width x height` or the reader's image size.
    public func currentImage(width: Int? = nil, height: Int? = nil) throws(MediaError) -> RGBImage {
        guard hasCurrentFrame else {
            throw MediaError(path: info.path, problem: "has no current frame to convert (call next() first)")
        }
        return try converter.rgb(
            of: decoder.frame, width: width ?? options.imageWidth, height: height ?? options.imageHeight,
            path: info.path)
    }

    /// Whether going from frame `position` (the one `next()` returned last) to frame `target`
    /// ahead of it should seek: a key frame after the next frame and at or before `target`
    /// lets decoding start there, skipping the frames in between.
    public func seekPays(from position: Int, to target: Int) -> Bool {
        index.keyFrame(atOrBefore: target) > position + 1
    }

    /// Positions the reader so that `next()` returns frame `index` (or, with an I-frames-only
    /// reader, the first decoded frame at or after it). Seeks to the nearest preceding key
    /// frame and decodes forward; this is how the explorer steps backwards.
    public func seek(toFrame target: Int) throws(MediaError) {
        guard target >= 0 && target < index.count else {
            throw MediaError(path: info.path, problem: "has no frame \(target) (it has \(index.count) frames)")
        }
        try restartDecoding(from: target, attempt: 0)
    }

    private func restartDecoding(from target: Int, attempt: Int) throws(MediaError) {
        seekAttempt = attempt
        // Each retry starts one key frame earlier; the last resort reopens the file.
        var key = index.keyFrame(atOrBefore: target)
        for _ in 0..<attempt { key = index.keyFrame(atOrBefore: max(0, key - 1)) }
        decoder.flushBuffers()
        flushed = false
        hasCurrentFrame = false
        seekTarget = target
        if key == 0 || attempt >= 3 || !demuxer.seek(to: index.seekTimestamp(key)) {
            demuxer = try Demuxer(path: info.path)
            seekAttempt = 3
        }
        lastIndex = key - 1
    }

    static func pictureType(_ t: AVPictureType) -> PictureType {
        switch t {
        case AV_PICTURE_TYPE_I: return .i
        case AV_PICTURE_TYPE_P: return .p
        case AV_PICTURE_TYPE_B: return .b
        default: return .other
        }
    }

    static func describe(path: String, demuxer: Demuxer, index: PacketIndex, codecName: String, timeBase: Double)
        -> VideoInfo
    {
        let fmt = demuxer.context.pointee.iformat.pointee
        let par = demuxer.parameters.pointee
        let st = demuxer.stream.pointee
        let codecDesc = avcodec_descriptor_get(par.codec_id)
        let rate = st.avg_frame_rate.num > 0 && st.avg_frame_rate.den > 0 ? st.avg_frame_rate : st.r_frame_rate
        let fps = rate.den > 0 ? Double(rate.num) / Double(rate.den) : 0
        let span = (Double(index.keys[index.count - 1]) - Double(index.keys[0])) * timeBase
        let frameDuration = fps > 0 ? 1 / fps : 0
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return VideoInfo(
            path: path, fileSize: size,
            container: String(cString: fmt.name), containerLongName: fmt.long_name.map { String(cString: $0) } ?? "",
            codec: codecName, codecLongName: codecDesc?.pointee.long_name.map { String(cString: $0) } ?? codecName,
            profile: avcodec_profile_name(par.codec_id, par.profile).map { String(cString: $0) },
            width: Int(par.width), height: Int(par.height),
            pixelFormat: av_get_pix_fmt_name(AVPixelFormat(par.format)).map { String(cString: $0) } ?? "unknown",
            fps: fps, timeBase: .init(num: Int(st.time_base.num), den: Int(st.time_base.den)),
            duration: span + frameDuration, frameCount: index.count, declaredFrameCount: Int(st.nb_frames),
            bitRate: Int(par.bit_rate), hasReordering: index.hasReordering,
            keyFrameIndices: index.keyFrameIndices, exportsMotionVectors: motionVectorCodecs.contains(codecName))
    }
}
