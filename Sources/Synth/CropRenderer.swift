import Foundation
import VideoData

/// Resamples a crop window of a frame to the output size. Pure: the same frame and window give
/// the same pixels.
public enum CropRenderer {
    /// The `window` of `image` at `width x height`. Each output pixel averages k x k bilinear
    /// samples, k = ceil(source pixels per output pixel), so a wide window shrunk to 160x120
    /// does not alias (a plain bilinear lookup would skip source pixels and make the footage
    /// shimmer, which the encoder would then turn into motion vectors). Edges are clamped.
    public static func render(_ image: RGBImage, window: CropWindow, width: Int, height: Int) -> RGBImage {
        let sx = window.width / Double(width)
        let sy = window.height / Double(height)
        let kx = max(1, Int(sx.rounded(.up)))
        let ky = max(1, Int(sy.rounded(.up)))
        let iw = image.width
        let ih = image.height
        let maxX = Double(iw - 1)
        let maxY = Double(ih - 1)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        // Sample positions along each axis, computed once per row and column.
        func taps(_ n: Int, _ k: Int, _ origin: Double, _ step: Double, _ limit: Double) -> [(Int, Int, Double)] {
            var t: [(Int, Int, Double)] = []
            t.reserveCapacity(n * k)
            for i in 0..<n {
                for j in 0..<k {
                    let p = min(max(origin + (Double(i) + (Double(j) + 0.5) / Double(k)) * step - 0.5, 0), limit)
                    let p0 = Int(p)
                    t.append((p0, min(p0 + 1, Int(limit)), p - Double(p0)))
                }
            }
            return t
        }
        let xs = taps(width, kx, window.x, sx, maxX)
        let ys = taps(height, ky, window.y, sy, maxY)
        let norm = 1 / Double(kx * ky)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<height {
                    for ox in 0..<width {
                        var acc = (0.0, 0.0, 0.0)
                        for j in 0..<ky {
                            let (y0, y1, fy) = ys[oy * ky + j]
                            let r0 = y0 * iw
                            let r1 = y1 * iw
                            for i in 0..<kx {
                                let (x0, x1, fx) = xs[ox * kx + i]
                                let a = (r0 + x0) * 3
                                let b = (r0 + x1) * 3
                                let c = (r1 + x0) * 3
                                let d = (r1 + x1) * 3
                                let w00 = (1 - fx) * (1 - fy)
                                let w01 = fx * (1 - fy)
                                let w10 = (1 - fx) * fy
                                let w11 = fx * fy
                                acc.0 +=
                                    Double(src[a]) * w00 + Double(src[b]) * w01 + Double(src[c]) * w10 + Double(src[d])
                                    * w11
                                acc.1 +=
                                    Double(src[a + 1]) * w00 + Double(src[b + 1]) * w01 + Double(src[c + 1]) * w10
                                    + Double(src[d + 1]) * w11
                                acc.2 +=
                                    Double(src[a + 2]) * w00 + Double(src[b + 2]) * w01 + Double(src[c + 2]) * w10
                                    + Double(src[d + 2]) * w11
                            }
                        }
                        let o = (oy * width + ox) * 3
                        dst[o] = UInt8(min(255, max(0, (acc.0 * norm).rounded())))
                        dst[o + 1] = UInt8(min(255, max(0, (acc.1 * norm).rounded())))
                        dst[o + 2] = UInt8(min(255, max(0, (acc.2 * norm).rounded())))
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
