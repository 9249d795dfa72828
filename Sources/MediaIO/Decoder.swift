import CFFmpeg
import VideoData

/// Owns one `AVCodecContext` and the `AVFrame` it decodes into.
final class Decoder {
    let path: String
    let context: UnsafeMutablePointer<AVCodecContext>
    /// The most recently received frame; valid until the next `receive`.
    let frame: UnsafeMutablePointer<AVFrame>
    let threads: Int

    /// - Parameters:
    ///   - exportMotionVectors: sets `flags2=+export_mvs`; it must be set before
    ///     `avcodec_open2`, which is why it is an init parameter.
    ///   - skip: `AVDISCARD_NONINTRA` for the I-frames-only path, `AVDISCARD_NONKEY` for IDR only.
    ///   - skipLoopFilter: `AVDISCARD_NONINTRA` when only vectors and I-frames matter.
    ///   - frameThreads: > 1 only for streams without B-frames: frame threading makes the
    ///     exported B-frame vectors non-deterministic (docs/ffmpeg.md §6).
    init(
        parameters: UnsafeMutablePointer<AVCodecParameters>, path: String, exportMotionVectors: Bool,
        skip: AVDiscard, skipLoopFilter: AVDiscard = AVDISCARD_DEFAULT, frameThreads: Int
    ) throws(MediaError) {
        self.path = path
        let codecID = parameters.pointee.codec_id
        guard let codec = avcodec_find_decoder(codecID) else {
            let name = String(cString: avcodec_get_name(codecID))
            throw MediaError(path: path, problem: "uses codec \(name), which this FFmpeg build cannot decode")
        }
        var allocated = avcodec_alloc_context3(codec)
        guard let ctx = allocated, let frame = av_frame_alloc() else {
            avcodec_free_context(&allocated)
            throw MediaError(path: path, problem: "could not be decoded: out of memory")
        }
        context = ctx
        self.frame = frame
        threads = max(1, frameThreads)
        // Every stored property is set from here on, so a throw below runs deinit, which frees
        // the context and the frame. (Freeing them here as well was a double free, found by the
        // video fuzz harness on an AVI whose decoder would not open.)
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        try check(avcodec_parameters_to_context(ctx, parameters), path: path, "has codec parameters FFmpeg rejects")
        if exportMotionVectors { av_dict_set(&opts, "flags2", "+export_mvs", 0) }
        // libavcodec's default is 1 thread; say so explicitly, since the vectors depend on it.
        ctx.pointee.thread_count = Int32(threads)
        ctx.pointee.thread_type = threads > 1 ? FF_THREAD_FRAME : 0
        ctx.pointee.skip_frame = skip
        ctx.pointee.skip_loop_filter = skipLoopFilter
        try check(avcodec_open2(ctx, codec, &opts), path: path, "could not open its video decoder")
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
    }

    enum Receive { case frame, needInput, end }

    /// Receives the next decoded frame into `frame`.
    func receive() throws(MediaError) -> Receive {
        av_frame_unref(frame)
        let r = avcodec_receive_frame(context, frame)
        if r == 0 { return .frame }
        if r == AVCode.eagain { return .needInput }
        if r == AVCode.eof { return .end }
        throw MediaError(path: path, problem: "could not be decoded (\(ffmpegMessage(r)))")
    }

    /// Sends a packet (nil flushes). Returns false when the decoder rejected this packet as
    /// damaged: decoding goes on with the next one, as FFmpeg's own tools do.
    func send(_ packet: UnsafeMutablePointer<AVPacket>?) throws(MediaError) -> Bool {
        let r = avcodec_send_packet(context, packet)
        if r >= 0 || r == AVCode.eof { return true }
        if r == AVCode.eagain {
            // Cannot happen with the receive-until-EAGAIN loop; treat it as a logic error.
            throw MediaError(path: path, problem: "could not be decoded (decoder refused input while holding output)")
        }
        return false
    }

    func flushBuffers() { avcodec_flush_buffers(context) }

    /// The exported vectors of the current frame, copied into Swift values (the side-data
    /// buffer belongs to the frame). Frames without inter blocks carry no side data.
    func motionVectors() -> [MotionVector] {
        guard let sd = av_frame_get_side_data(frame, AV_FRAME_DATA_MOTION_VECTORS) else { return [] }
        let n = Int(sd.pointee.size) / MemoryLayout<AVMotionVector>.stride
        guard n > 0, let data = sd.pointee.data else { return [] }
        return UnsafeRawPointer(data).withMemoryRebound(to: AVMotionVector.self, capacity: n) { p in
            // Fields, not raw bytes: each record has 8 uninitialised padding bytes.
            (0..<n).map { i in
                let v = p[i]
                return MotionVector(
                    source: v.source, w: v.w, h: v.h, srcX: v.src_x, srcY: v.src_y, dstX: v.dst_x,
                    dstY: v.dst_y, flags: v.flags, motionX: v.motion_x, motionY: v.motion_y,
                    motionScale: v.motion_scale)
            }
        }
    }
}
