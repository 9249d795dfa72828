/// Pillow's `Image.resize(size, Image.BILINEAR)` on 8-bit RGB, reproduced bit for bit.
///
/// Pillow (`src/libImaging/Resample.c`) resamples separably, one axis after the other, with a
/// triangle filter whose support is widened by the downscale factor (so downscaling
/// antialiases, unlike a plain 2x2 bilinear lookup). Weights are computed in double, normalised
/// per output pixel, then rounded to fixed point with 22 fractional bits; sums start at one half
/// and are shifted and clamped to 0...255 after each pass. Every one of those steps is mirrored
/// here, in the same order, so the output equals Pillow's, not merely approximates it
/// (assets/fixtures/preprocess holds Pillow's own output; see PreprocessTests).
public enum PILResize {
    /// Fixed-point fraction bits of the weights (`PRECISION_BITS = 32 - 8 - 2`).
    static let precisionBits = 22

    /// Output pixels `xx` of one axis: the first input index, the number of taps, and the
    /// fixed-point weights (`taps` of them used, `ksize` stored per output pixel).
    struct Coefficients {
        var first: [Int]
        var count: [Int]
        var weights: [Int32]
        var ksize: Int
    }

    /// `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter (support 1) over
    /// the box 0..<inSize mapped onto `outSize` pixels, for output pixels `range` only.
    static func coefficients(inSize: Int, outSize: Int, range: Range<Int>) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        let ss = 1.0 / filterScale
        var first: [Int] = []
        var count: [Int] = []
        var weights = [Int32](repeating: 0, count: range.count * ksize)
        var k = [Double](repeating: 0, count: ksize)
        for (slot, xx) in range.enumerated() {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) conversion truncates toward zero; the clamps follow, as in Pillow.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0..<xmax {
                var t = (Double(x + xmin) - center + 0.5) * ss
                if t < 0 { t = -t }
                let w = t < 1.0 ? 1.0 - t : 0.0
                k[x] = w
                ww += w
            }
            for x in 0..<xmax where ww != 0 { k[x] /= ww }
            for x in 0..<xmax {
                let scaled = k[x] * Double(1 << precisionBits)
                weights[slot * ksize + x] = Int32(k[x] < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
            first.append(xmin)
            count.append(xmax)
        }
        return Coefficients(first: first, count: count, weights: weights, ksize: ksize)
    }

    /// `clip8`: shift out the fraction bits and clamp to a byte.
    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> Int32(precisionBits)
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
    }

    /// The whole image resized to `width x height`.
    public static func bilinear(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        bilinear(image, width: width, height: height, cropX: 0, cropY: 0, cropWidth: width, cropHeight: height)
    }

    /// The window `cropX ..< cropX + cropWidth`, `cropY ..< cropY + cropHeight` of the image
    /// resized to `width x height`. Only the window is computed; the pixels equal those of a
    /// full resize followed by a crop, because every output pixel depends only on its own
    /// coefficients and on the first pass's values at the pixels those coefficients touch.
    public static func bilinear(
        _ image: RGBImage, width: Int, height: Int, cropX: Int, cropY: Int, cropWidth: Int, cropHeight: Int
    ) -> RGBImage {
        precondition(width > 0 && height > 0, "PILResize needs a positive output size")
        precondition(
            cropX >= 0 && cropY >= 0 && cropWidth > 0 && cropHeight > 0 && cropX + cropWidth <= width
                && cropY + cropHeight <= height, "PILResize crop window outside the output")
        let columns = coefficients(inSize: image.width, outSize: width, range: cropX..<(cropX + cropWidth))
        let rows = coefficients(inSize: image.height, outSize: height, range: cropY..<(cropY + cropHeight))
        // Pillow 13 runs the vertical pass first when the height shrinks by more than twice as
        // many pixels as the width (`ImagingResampleInner`); older Pillow always went
        // horizontal first. The two orders round differently, so the choice must match. For the
        // pipeline's proportional downscale it only matters for frames taller than 2:1.
        let shrinkY = image.height - height
        let shrinkX = image.width - width
        let horizontalFirst = !(shrinkY > 0 && shrinkY > shrinkX * 2)
        let pixels = image.pixels.withUnsafeBufferPointer { src -> [UInt8] in
            if horizontalFirst {
                // Only the source rows the vertical pass reads (Pillow's ybox_first ..< ybox_last).
                let first = rows.first[0]
                let last = rows.first[cropHeight - 1] + rows.count[cropHeight - 1]
                let temp = horizontalPass(
                    src, rowBytes: image.width * 3, firstRow: first, rowCount: last - first, columnShift: 0, columns)
                return temp.withUnsafeBufferPointer {
                    verticalPass(
                        $0, rowBytes: cropWidth * 3, firstColumn: 0, columnCount: cropWidth, rowShift: first, rows)
                }
            } else {
                // Only the source columns the horizontal pass reads.
                let first = columns.first[0]
                let last = columns.first[cropWidth - 1] + columns.count[cropWidth - 1]
                let temp = verticalPass(
                    src, rowBytes: image.width * 3, firstColumn: first, columnCount: last - first, rowShift: 0, rows)
                return temp.withUnsafeBufferPointer {
                    horizontalPass(
                        $0, rowBytes: (last - first) * 3, firstRow: 0, rowCount: cropHeight, columnShift: first, columns
                    )
                }
            }
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: pixels)
    }

    /// Pillow's horizontal 8-bit pass: rows `firstRow ..< firstRow + rowCount` of `src` (packed
    /// RGB, `rowBytes` per row, whose column 0 is source column `columnShift`) resampled to the
    /// output columns of `c`. Returns `rowCount` rows of `c.first.count` pixels.
    static func horizontalPass(
        _ src: UnsafeBufferPointer<UInt8>, rowBytes: Int, firstRow: Int, rowCount: Int, columnShift: Int,
        _ c: Coefficients
    ) -> [UInt8] {
        let outColumns = c.first.count
        let outRowBytes = outColumns * 3
        let half = Int32(1 << (precisionBits - 1))
        var out = [UInt8](repeating: 0, count: rowCount * outRowBytes)
        c.weights.withUnsafeBufferPointer { kk in
            out.withUnsafeMutableBufferPointer { out in
                for r in 0..<rowCount {
                    let row = (firstRow + r) * rowBytes
                    for j in 0..<outColumns {
                        let k = j * c.ksize
                        var p = row + (c.first[j] - columnShift) * 3
                        var s0 = half
                        var s1 = half
                        var s2 = half
                        for x in 0..<c.count[j] {
                            let w = kk[k + x]
                            s0 &+= Int32(src[p]) &* w
                            s1 &+= Int32(src[p + 1]) &* w
                            s2 &+= Int32(src[p + 2]) &* w
                            p += 3
                        }
                        let o = r * outRowBytes + j * 3
                        out[o] = clip8(s0)
                        out[o + 1] = clip8(s1)
                        out[o + 2] = clip8(s2)
                    }
                }
            }
        }
        return out
    }

    /// Pillow's vertical 8-bit pass: columns `firstColumn ..< firstColumn + columnCount` of `src`
    /// (packed RGB, `rowBytes` per row, whose row 0 is source row `rowShift`) resampled to the
    /// output rows of `c`. Returns `c.first.count` rows of `columnCount` pixels.
    static func verticalPass(
        _ src: UnsafeBufferPointer<UInt8>, rowBytes: Int, firstColumn: Int, columnCount: Int, rowShift: Int,
        _ c: Coefficients
    ) -> [UInt8] {
        let outRows = c.first.count
        let n = columnCount * 3
        let half = Int32(1 << (precisionBits - 1))
        var out = [UInt8](repeating: 0, count: outRows * n)
        var acc = [Int32](repeating: 0, count: n)
        c.weights.withUnsafeBufferPointer { kk in
            out.withUnsafeMutableBufferPointer { out in
                acc.withUnsafeMutableBufferPointer { acc in
                    // Row by row so the inner loop runs over contiguous bytes (it vectorises).
                    for r in 0..<outRows {
                        for j in 0..<n { acc[j] = half }
                        let k = r * c.ksize
                        for y in 0..<c.count[r] {
                            let w = kk[k + y]
                            let row = (c.first[r] - rowShift + y) * rowBytes + firstColumn * 3
                            for j in 0..<n { acc[j] &+= Int32(src[row + j]) &* w }
                        }
                        for j in 0..<n { out[r * n + j] = clip8(acc[j]) }
                    }
                }
            }
        }
        return out
    }
}

/// The ModelScope preprocessing of a clip (docs/method.md §8): resize each frame so its short side
/// is `shortSide` with Pillow's bilinear filter, centre-crop `crop x crop`, scale to [0, 1],
/// subtract `mean` and divide by `std` per channel, lay out as planar `[3, T, crop, crop]`.
public struct Preprocessing: Equatable, Sendable, Codable {
    public var shortSide: Int
    public var crop: Int
    public var mean: [Float]
    public var std: [Float]

    public init(
        shortSide: Int = 128, crop: Int = 112, mean: [Float] = [0.485, 0.456, 0.406],
        std: [Float] = [0.229, 0.224, 0.225]
    ) {
        precondition(crop > 0 && shortSide >= crop, "Preprocessing needs 0 < crop <= shortSide")
        precondition(mean.count == 3 && std.count == 3, "Preprocessing needs three means and three stds")
        self.shortSide = shortSide
        self.crop = crop
        self.mean = mean
        self.std = std
    }

    /// The pipeline's defaults: short side 128, crop 112, ImageNet mean and std.
    public static let modelScope = Preprocessing()

    enum CodingKeys: String, CodingKey {
        case shortSide = "short_side"
        case crop, mean, std
    }

    /// The resized size of a `width x height` frame: `round(w * scale)`, `round(h * scale)` with
    /// `scale = shortSide / min(w, h)`, rounding halves to even as Python's `round` does
    /// (320x240 -> 171x128, 1280x720 -> 228x128).
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let scale = Double(shortSide) / Double(min(width, height))
        return (
            Int((Double(width) * scale).rounded(.toNearestOrEven)),
            Int((Double(height) * scale).rounded(.toNearestOrEven))
        )
    }

    /// Top-left corner of the centre crop in the resized frame: `(w - crop) // 2`, `(h - crop) // 2`.
    public func cropOrigin(resizedWidth: Int, resizedHeight: Int) -> (x: Int, y: Int) {
        ((resizedWidth - crop) / 2, (resizedHeight - crop) / 2)
    }

    /// One frame resized and centre-cropped: a `crop x crop` image equal to Pillow's
    /// `resize(..., BILINEAR)` followed by `crop(...)`. Only the cropped pixels are computed.
    public func resizeAndCrop(_ image: RGBImage) -> RGBImage {
        let size = resizedSize(width: image.width, height: image.height)
        let origin = cropOrigin(resizedWidth: size.width, resizedHeight: size.height)
        return PILResize.bilinear(
            image, width: size.width, height: size.height, cropX: origin.x, cropY: origin.y, cropWidth: crop,
            cropHeight: crop)
    }

    /// The normalised value of each byte per channel, computed as torchvision and the pipeline
    /// do in float32: `(v / 255 - mean) / std`.
    public func lookupTable() -> [[Float]] {
        (0..<3).map { c in (0..<256).map { (Float($0) / 255 - mean[c]) / std[c] } }
    }

    /// Writes `frames` (each `crop x crop`, already resized and cropped) as normalised planar
    /// float32 `[3, T, crop, crop]` into `out`, which must hold `3 * T * crop * crop` values.
    public func normalise(_ frames: [RGBImage], into out: UnsafeMutableBufferPointer<Float>) {
        let plane = crop * crop
        let t = frames.count
        precondition(out.count >= 3 * t * plane, "normalise: output buffer too small")
        let table = lookupTable()
        for (f, frame) in frames.enumerated() {
            precondition(frame.width == crop && frame.height == crop, "normalise expects \(crop)x\(crop) frames")
            frame.pixels.withUnsafeBufferPointer { px in
                for c in 0..<3 {
                    let lut = table[c]
                    let base = (c * t + f) * plane
                    for i in 0..<plane { out[base + i] = lut[Int(px[i * 3 + c])] }
                }
            }
        }
    }

    /// `frames` (full size, in clip order) preprocessed into planar `[3, T, crop, crop]` values.
    public func clipData(_ frames: [RGBImage]) -> [Float] {
        let cropped = frames.map(resizeAndCrop)
        var out = [Float](repeating: 0, count: 3 * frames.count * crop * crop)
        out.withUnsafeMutableBufferPointer { normalise(cropped, into: $0) }
        return out
    }
}
