import CFFmpeg
import VideoData

/// Owns a libavcodec PNG encoder (and the frame it encodes from); rebuilt when the size changes.
public final class PNGEncoder {
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>

    public init() {
        guard let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            fatalError("out of memory allocating a PNG encoder")
        }
        self.frame = frame
        self.packet = packet
    }

    deinit {
        var c = context
        avcodec_free_context(&c)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// The PNG file bytes of `image`. `name` is used in error messages only.
    public func encode(_ image: RGBImage, name: String) throws(MediaError) -> [UInt8] {
        let ctx = try context(width: image.width, height: image.height, name: name)
        av_frame_unref(frame)
        frame.pointee.format = AV_PIX_FMT_RGB24.rawValue
        frame.pointee.width = Int32(image.width)
        frame.pointee.height = Int32(image.height)
        try check(av_frame_get_buffer(frame, 0), path: name, "could not be encoded as PNG: no frame buffer")
        let stride = Int(frame.pointee.linesize.0)
        let rowBytes = image.width * 3
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<image.height {
                (frame.pointee.data.0! + y * stride).update(from: src.baseAddress! + y * rowBytes, count: rowBytes)
            }
        }
        try check(avcodec_send_frame(ctx, frame), path: name, "could not be encoded as PNG")
        av_packet_unref(packet)
        try check(avcodec_receive_packet(ctx, packet), path: name, "could not be encoded as PNG")
        let bytes = Array(UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
        av_packet_unref(packet)
        return bytes
    }

    private func context(width: Int, height: Int, name: String) throws(MediaError) -> UnsafeMutablePointer<
        AVCodecContext
    > {
        if let c = context, c.pointee.width == Int32(width), c.pointee.height == Int32(height) { return c }
        avcodec_free_context(&context)
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG), let c = avcodec_alloc_context3(codec) else {
            throw MediaError(path: name, problem: "could not be encoded: this FFmpeg build has no PNG encoder")
        }
        context = c
        c.pointee.width = Int32(width)
        c.pointee.height = Int32(height)
        c.pointee.pix_fmt = AV_PIX_FMT_RGB24
        c.pointee.time_base = AVRational(num: 1, den: 25)
        try check(avcodec_open2(c, codec, nil), path: name, "could not be encoded: the PNG encoder did not open")
        return c
    }
}
