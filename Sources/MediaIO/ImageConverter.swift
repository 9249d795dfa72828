import CFFmpeg
import VideoData

/// Owns a swscale context that converts decoded frames to packed RGB24, optionally resized.
final class ImageConverter {
    let conversion: RGBConversion
    private var context: OpaquePointer?
    private var key: (w: Int32, h: Int32, fmt: Int32, ow: Int32, oh: Int32)?

    init(conversion: RGBConversion) {
        self.conversion = conversion
    }

    deinit { sws_freeContext(context) }

    /// Converts `frame` to an `RGBImage` of `width x height` (the frame's own size when nil).
    /// Bilinear when resizing; with `.accurate`, exact chroma interpolation and rounding;
    /// with `.modelscope`, swscale's default path as decord takes it (the interpolation flag
    /// does not matter at the same size).
    func rgb(of frame: UnsafeMutablePointer<AVFrame>, width: Int? = nil, height: Int? = nil, path: String)
        throws(MediaError) -> RGBImage
    {
        let w = frame.pointee.width
        let h = frame.pointee.height
        let ow = Int32(width ?? Int(w))
        let oh = Int32(height ?? Int(h))
        guard w > 0, h > 0, ow > 0, oh > 0 else {
            throw MediaError(path: path, problem: "has a frame of size \(w)x\(h) that cannot be converted to RGB")
        }
        if key == nil || key! != (w, h, frame.pointee.format, ow, oh) {
            let flags = conversion == .accurate ? SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT : SWS_BILINEAR
            context = sws_getCachedContext(
                context, w, h, AVPixelFormat(frame.pointee.format), ow, oh, AV_PIX_FMT_RGB24,
                Int32(flags), nil, nil, nil)
            guard context != nil else {
                throw MediaError(
                    path: path, problem: "has pixel format \(frame.pointee.format) that swscale cannot convert to RGB")
            }
            key = (w, h, frame.pointee.format, ow, oh)
        }
        var pixels = [UInt8](repeating: 0, count: Int(ow) * Int(oh) * 3)
        let rows = pixels.withUnsafeMutableBufferPointer { out -> Int32 in
            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var dstStride: [Int32] = [ow * 3, 0, 0, 0]
            return withUnsafePointer(to: &frame.pointee.data) { dataTuple in
                withUnsafePointer(to: &frame.pointee.linesize) { strideTuple in
                    dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                        strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            sws_scale(context, src, srcStride, 0, h, &dst, &dstStride)
                        }
                    }
                }
            }
        }
        guard rows == oh else {
            throw MediaError(path: path, problem: "could not be converted to RGB (swscale returned \(rows) rows)")
        }
        return RGBImage(width: Int(ow), height: Int(oh), pixels: pixels)
    }
}
