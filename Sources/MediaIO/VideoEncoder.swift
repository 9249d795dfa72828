import CFFmpeg
import Common
import Foundation
import VideoData

/// How `VideoEncoder` encodes: H.264 through libavcodec's libx264 into an MP4.
public struct EncoderOptions: Sendable {
    public var fps: Int
    /// Distance between keyframes (x264 keyint; scene cuts disabled so GOPs are regular).
    public var gop: Int
    public var bFrames: Int
    /// Reference frames; 1 makes every P-frame vector point exactly one frame back.
    public var refs: Int
    public var crf: Int
    public var preset: String

    public init(fps: Int = 25, gop: Int = 16, bFrames: Int = 0, refs: Int = 1, crf: Int = 23, preset: String = "medium")
    {
        self.fps = fps
        self.gop = gop
        self.bFrames = bFrames
        self.refs = refs
        self.crf = crf
        self.preset = preset
    }
}

/// Writes RGB frames as an H.264 MP4 (libx264, yuv420p). One encoder thread, so the output is
/// byte-identical for identical input. The file appears under its name only when `finish()`
/// succeeds (it is written to a temporary name first).
public final class VideoEncoder {
    public let path: String
    public let width: Int
    public let height: Int
    private let tmpPath: String
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private let stream: UnsafeMutablePointer<AVStream>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    private var scaler: OpaquePointer?
    private var count: Int64 = 0
    private var finished = false

    public init(path: String, width: Int, height: Int, options: EncoderOptions = EncoderOptions()) throws(MediaError) {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw MediaError(
                path: path,
                problem: "cannot be encoded at \(width)x\(height): H.264 in yuv420p needs an even, positive size")
        }
        self.path = path
        self.width = width
        self.height = height
        tmpPath = path + ".tmp-\(getpid()).mp4"
        _ = Demuxer.quietLogs
        guard let encoder = avcodec_find_encoder_by_name("libx264") else {
            throw MediaError(path: path, problem: "could not be encoded: this FFmpeg build has no libx264 encoder")
        }
        // Everything is allocated before the first stored C pointer is set, so a failure frees
        // what it got here (deinit does not run for a half-initialised object).
        var newFormat: UnsafeMutablePointer<AVFormatContext>? = nil
        _ = avformat_alloc_output_context2(&newFormat, nil, "mp4", tmpPath)
        var newFrame = av_frame_alloc()
        var newPacket = av_packet_alloc()
        var newCodec: UnsafeMutablePointer<AVCodecContext>? = avcodec_alloc_context3(encoder)
        let newStream = newFormat.flatMap { avformat_new_stream($0, nil) }
        guard let fmt = newFormat, let frame = newFrame, let packet = newPacket, let ctx = newCodec, let st = newStream
        else {
            av_frame_free(&newFrame)
            av_packet_free(&newPacket)
            avcodec_free_context(&newCodec)
            avformat_free_context(newFormat)
            throw MediaError(
                path: path,
                problem: newFormat == nil ? "could not be created: no MP4 muxer" : "could not be encoded: out of memory"
            )
        }
        self.frame = frame
        self.packet = packet
        format = fmt
        stream = st
        codec = ctx
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(options.fps))
        ctx.pointee.framerate = AVRational(num: Int32(options.fps), den: 1)
        ctx.pointee.gop_size = Int32(options.gop)
        ctx.pointee.max_b_frames = Int32(options.bFrames)
        ctx.pointee.thread_count = 1
        if fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        av_dict_set(&opts, "preset", options.preset, 0)
        av_dict_set(&opts, "crf", "\(options.crf)", 0)
        // Regular GOPs (no scene-cut keyframes), a fixed number of references.
        av_dict_set(
            &opts, "x264-params", "keyint=\(options.gop):min-keyint=\(options.gop):scenecut=0:ref=\(options.refs)", 0)
        try check(avcodec_open2(ctx, encoder, &opts), path: path, "could not be encoded: libx264 did not open")
        try check(avcodec_parameters_from_context(st.pointee.codecpar, ctx), path: path, "could not be encoded")
        st.pointee.time_base = ctx.pointee.time_base
        try check(avio_open(&fmt.pointee.pb, tmpPath, AVIO_FLAG_WRITE), path: path, "could not be created")
        try check(avformat_write_header(fmt, nil), path: path, "could not be written (MP4 header)")
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        try check(av_frame_get_buffer(frame, 0), path: path, "could not be encoded: no frame buffer")
    }

    deinit {
        if !finished {
            if let fmt = format, fmt.pointee.pb != nil { avio_closep(&fmt.pointee.pb) }
            unlink(tmpPath)
        }
        avcodec_free_context(&codec)
        avformat_free_context(format)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        sws_freeContext(scaler)
    }

    /// Appends one frame (RGB, the encoder's size).
    public func append(_ image: RGBImage) throws(MediaError) {
        guard image.width == width, image.height == height else {
            throw MediaError(
                path: path, problem: "got a \(image.width)x\(image.height) frame for a \(width)x\(height) video")
        }
        try check(av_frame_make_writable(frame), path: path, "could not be encoded")
        if scaler == nil {
            scaler = sws_getContext(
                Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height), AV_PIX_FMT_YUV420P,
                Int32(SWS_BILINEAR | SWS_ACCURATE_RND), nil, nil, nil)
            guard scaler != nil else {
                throw MediaError(path: path, problem: "could not be encoded: swscale refused RGB to YUV")
            }
        }
        image.pixels.withUnsafeBufferPointer { px in
            var src: [UnsafePointer<UInt8>?] = [px.baseAddress, nil, nil, nil]
            var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
            withUnsafeMutablePointer(to: &frame.pointee.data) { data in
                withUnsafeMutablePointer(to: &frame.pointee.linesize) { lines in
                    data.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dst in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                            _ = sws_scale(scaler, &src, &srcStride, 0, Int32(height), dst, dstStride)
                        }
                    }
                }
            }
        }
        frame.pointee.pts = count
        count += 1
        try send(frame)
    }

    /// Flushes the encoder, writes the MP4 index and moves the file into place.
    public func finish() throws(MediaError) {
        guard !finished else { return }
        try send(nil)
        guard let fmt = format else { return }
        try check(av_write_trailer(fmt), path: path, "could not be written (MP4 index)")
        avio_closep(&fmt.pointee.pb)
        do { try AtomicFile.commit(tmpPath, to: path) } catch {
            throw MediaError(
                path: path, problem: "could not be written (\((error as? FileWriteError)?.reason ?? "\(error)"))")
        }
        finished = true
    }

    private func send(_ f: UnsafeMutablePointer<AVFrame>?) throws(MediaError) {
        guard let ctx = codec, let fmt = format else { return }
        try check(avcodec_send_frame(ctx, f), path: path, "could not be encoded")
        while true {
            let r = avcodec_receive_packet(ctx, packet)
            if r == AVCode.eagain || r == AVCode.eof { return }
            try check(r, path: path, "could not be encoded")
            // Without a duration the MP4 edit list ends at the last frame's start, and readers
            // then drop that frame.
            packet.pointee.duration = 1
            av_packet_rescale_ts(packet, ctx.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            try check(av_interleaved_write_frame(fmt, packet), path: path, "could not be written")
        }
    }
}

/// Reads a still image (PNG, JPEG, anything FFmpeg decodes) as RGB.
public func loadImage(_ path: String) throws(MediaError) -> RGBImage {
    let reader = try VideoReader(path: path, options: ReaderOptions(motionVectors: false))
    guard try reader.next() != nil else { throw MediaError(path: path, problem: "holds no picture") }
    return try reader.currentImage()
}
