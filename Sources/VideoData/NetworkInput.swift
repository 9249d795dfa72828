/// How frames and motion fields become network input, shared by pretraining (with random boxes
/// and colour changes, `Pretrain.Augment`) and the scene and motion views (the centre box), so
/// both feed the networks exactly alike (docs/method.md §3). Fixes the official code's quirks
/// (said in the model card): I-frames are RGB (not BGR), a horizontal flip negates dx, and
/// motion vectors are scaled with the resize.
public enum NetworkInput {
    /// The motion clamp for motion clips of `size` pixels: CMD clamps to ±10 px of a 112-pixel
    /// crop; vectors are in the crop's pixels here, so the clamp scales with the crop to keep
    /// the same range.
    public static func motionClamp(size: Int) -> Float { Float(10 * size) / 112 }

    /// Crops `box` out of `image` and resizes it to `size x size` with Pillow's bilinear filter.
    public static func crop(_ image: RGBImage, _ box: CropBox, size: Int) -> RGBImage {
        var px = [UInt8](repeating: 0, count: box.width * box.height * 3)
        for y in 0..<box.height {
            let src = ((box.y + y) * image.width + box.x) * 3
            for k in 0..<(box.width * 3) { px[y * box.width * 3 + k] = image.pixels[src + k] }
        }
        var out = PILResize.bilinear(
            RGBImage(width: box.width, height: box.height, pixels: px), width: size, height: size)
        if box.flip { out = mirrored(out) }
        if box.flipVertical { out = upsideDown(out) }
        return out
    }

    static func upsideDown(_ image: RGBImage) -> RGBImage {
        let row = image.width * 3
        var px: [UInt8] = []
        px.reserveCapacity(image.pixels.count)
        for y in (0..<image.height).reversed() { px += image.pixels[(y * row)..<((y + 1) * row)] }
        return RGBImage(width: image.width, height: image.height, pixels: px)
    }

    static func mirrored(_ image: RGBImage) -> RGBImage {
        var px = image.pixels
        for y in 0..<image.height {
            for x in 0..<image.width {
                let a = (y * image.width + x) * 3
                let b = (y * image.width + image.width - 1 - x) * 3
                px[a] = image.pixels[b]
                px[a + 1] = image.pixels[b + 1]
                px[a + 2] = image.pixels[b + 2]
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: px)
    }

    /// The motion field inside `box`, resampled bilinearly to `size x size` (OpenCV's linear
    /// resize) with the vectors scaled by the same factor as the pixels, mirrored with dx negated
    /// when the box flips (upside down with dy negated when it flips vertically), clamped to
    /// ±`clamp` pixels and divided by `clamp`: `[2, size, size]`.
    ///
    /// `shift` (source pixels) is subtracted from every vector first, in proportion to how much
    /// of the sample its cells cover: the field seen through a box that moved by `shift` since
    /// the reference frame (a camera move made in the loader, `Pretrain.MovingCrop`). Cells
    /// without a vector (intra blocks, I-frames) stay zero, as they would in a real pan.
    /// `growth` (a share of the box's sides) adds a zoom: a box that grew by it since the
    /// reference frame makes a still picture seem to move by minus `growth` times each
    /// point's distance from the box's centre, which is subtracted the same way.
    public static func crop(
        _ field: MotionField, _ box: CropBox, size: Int, clamp: Float = 10, shift: (dx: Float, dy: Float) = (0, 0),
        growth: (x: Float, y: Float) = (0, 0)
    ) -> [Float] {
        let c = Double(field.cellSize)
        let covered = shift == (0, 0) && growth == (0, 0) ? nil : field.mask.map { Float($0 == 0 ? 0 : 1) }
        // The box's centre in the pixel-centre coordinates of `px` and `py` below.
        let cx = Float(box.x) + Float(box.width) / 2 - 0.5
        let cy = Float(box.y) + Float(box.height) / 2 - 0.5
        let sx = Float(size) / Float(box.width)
        let sy = Float(size) / Float(box.height)
        var out = [Float](repeating: 0, count: 2 * size * size)
        for j in 0..<size {
            let py = Double(box.y) + (Double(j) + 0.5) * Double(box.height) / Double(size) - 0.5
            let fy = min(max((py + 0.5) / c - 0.5, 0), Double(field.rows - 1))
            let y0 = Int(fy)
            let y1 = min(y0 + 1, field.rows - 1)
            let wy = Float(fy - Double(y0))
            for i in 0..<size {
                let px = Double(box.x) + (Double(i) + 0.5) * Double(box.width) / Double(size) - 0.5
                let fx = min(max((px + 0.5) / c - 0.5, 0), Double(field.columns - 1))
                let x0 = Int(fx)
                let x1 = min(x0 + 1, field.columns - 1)
                let wx = Float(fx - Double(x0))
                func lerp(_ v: [Float]) -> Float {
                    let top = v[y0 * field.columns + x0] * (1 - wx) + v[y0 * field.columns + x1] * wx
                    let bottom = v[y1 * field.columns + x0] * (1 - wx) + v[y1 * field.columns + x1] * wx
                    return top * (1 - wy) + bottom * wy
                }
                var dx = lerp(field.dx)
                var dy = lerp(field.dy)
                if let covered {
                    let k = lerp(covered)
                    dx -= (shift.dx + growth.x * (Float(px) - cx)) * k
                    dy -= (shift.dy + growth.y * (Float(py) - cy)) * k
                }
                dx *= sx
                dy *= sy
                let col = box.flip ? size - 1 - i : i
                let row = box.flipVertical ? size - 1 - j : j
                if box.flip { dx = -dx }
                if box.flipVertical { dy = -dy }
                dx = min(max(dx, -clamp), clamp) / clamp
                dy = min(max(dy, -clamp), clamp) / clamp
                out[row * size + col] = dx
                out[size * size + row * size + col] = dy
            }
        }
        return out
    }

    /// RGB image to planar float [3, H, W] in 0-255.
    public static func planes(_ image: RGBImage) -> [Float] {
        let n = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n {
            out[i] = Float(image.pixels[3 * i])
            out[n + i] = Float(image.pixels[3 * i + 1])
            out[2 * n + i] = Float(image.pixels[3 * i + 2])
        }
        return out
    }

    /// 0-255 to [0, 1], then (x - mean) / std per channel (ImageNet statistics).
    public static func normalise(
        _ planes: inout [Float], mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
    ) {
        let n = planes.count / 3
        for ch in 0..<3 {
            for i in 0..<n { planes[ch * n + i] = (min(max(planes[ch * n + i] / 255, 0), 1) - mean[ch]) / std[ch] }
        }
    }
}
