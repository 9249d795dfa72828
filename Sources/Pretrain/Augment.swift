import Foundation
import Tensor
import VideoData

/// A crop box in source pixels and whether to mirror it.
public struct CropBox: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    public var flip: Bool

    public init(x: Int, y: Int, width: Int, height: Int, flip: Bool) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.flip = flip
    }

    /// torchvision's `RandomResizedCrop` box: area a uniform fraction of the image, aspect
    /// ratio log-uniform, ten tries, then the centre crop with the ratio clamped.
    public static func random(
        width: Int, height: Int, area: ClosedRange<Double> = 0.2...1,
        ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3), flip: Bool, rng: inout SeededRandom
    ) -> CropBox {
        let total = Double(width * height)
        for _ in 0..<10 {
            let target = total * (area.lowerBound + (area.upperBound - area.lowerBound) * rng.nextDouble())
            let logRatio = log(ratio.lowerBound) + (log(ratio.upperBound) - log(ratio.lowerBound)) * rng.nextDouble()
            let r = exp(logRatio)
            let w = Int((target * r).squareRoot().rounded())
            let h = Int((target / r).squareRoot().rounded())
            if w > 0, h > 0, w <= width, h <= height {
                let x = Int.random(in: 0...(width - w), using: &rng)
                let y = Int.random(in: 0...(height - h), using: &rng)
                return CropBox(x: x, y: y, width: w, height: h, flip: flip)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width
        var h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded())
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded())
        }
        return CropBox(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h, flip: flip)
    }

    /// The validation transform: short side to `scale`, centre crop `crop`, as a box in source
    /// pixels (the same region the resize-then-crop would keep).
    public static func centre(width: Int, height: Int, scale: Int = 128, crop: Int = 112) -> CropBox {
        let f = Double(scale) / Double(min(width, height))
        let side = Int((Double(crop) / f).rounded())
        return CropBox(
            x: (width - side) / 2, y: (height - side) / 2, width: min(side, width), height: min(side, height),
            flip: false)
    }
}

/// Random photometric changes applied identically to every frame of one clip.
public struct ColorAugment: Equatable, Sendable {
    public var blurSigma: Double?
    /// Brightness, contrast, saturation factors and hue shift, in the order applied.
    public var jitter: [(kind: Int, amount: Double)]?
    public var grayscale: Bool

    public static func == (a: ColorAugment, b: ColorAugment) -> Bool {
        a.blurSigma == b.blurSigma && a.grayscale == b.grayscale
            && a.jitter?.map(\.kind) == b.jitter?.map(\.kind) && a.jitter?.map(\.amount) == b.jitter?.map(\.amount)
    }

    /// docs/method.md §3: blur p 0.5 (sigma 0.1-2), jitter p 0.5 (brightness, contrast, saturation
    /// 0.4, hue 0.1, random order), grayscale p 0.2.
    public static func random(rng: inout SeededRandom, grayscaleProbability: Double = 0.2) -> ColorAugment {
        var a = ColorAugment(blurSigma: nil, jitter: nil, grayscale: false)
        if rng.nextDouble() < 0.5 { a.blurSigma = 0.1 + 1.9 * rng.nextDouble() }
        if rng.nextDouble() < 0.5 {
            var order = [0, 1, 2, 3]
            order.shuffle(using: &rng)
            a.jitter = order.map { k in (k, k == 3 ? -0.1 + 0.2 * rng.nextDouble() : 0.6 + 0.8 * rng.nextDouble()) }
        }
        a.grayscale = rng.nextDouble() < grayscaleProbability
        return a
    }

    public static let none = ColorAugment(blurSigma: nil, jitter: nil, grayscale: false)

    public init(blurSigma: Double?, jitter: [(kind: Int, amount: Double)]?, grayscale: Bool) {
        self.blurSigma = blurSigma
        self.jitter = jitter
        self.grayscale = grayscale
    }
}

/// The augmentations of docs/method.md §3 on RGB frames and motion fields, and the conversion to
/// network input. Fixes the official code's quirks (said in the model card): I-frames are RGB
/// (not BGR), a horizontal flip negates dx, and motion vectors are scaled with the resize.
public enum Augment {
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
        return out
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
    /// when the box flips, clamped to ±`clamp` pixels and divided by `clamp`: `[2, size, size]`.
    public static func crop(_ field: MotionField, _ box: CropBox, size: Int, clamp: Float = 10) -> [Float] {
        let c = Double(field.cellSize)
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
                var dx = lerp(field.dx) * sx
                var dy = lerp(field.dy) * sy
                let col = box.flip ? size - 1 - i : i
                if box.flip { dx = -dx }
                dx = min(max(dx, -clamp), clamp) / clamp
                dy = min(max(dy, -clamp), clamp) / clamp
                out[j * size + col] = dx
                out[size * size + j * size + col] = dy
            }
        }
        return out
    }

    /// Applies `aug` to RGB pixels in place (values 0-255 as Float, planar [3, H, W]).
    public static func color(_ planes: inout [Float], width: Int, height: Int, _ aug: ColorAugment) {
        let n = width * height
        if let sigma = aug.blurSigma { blur(&planes, width: width, height: height, sigma: sigma) }
        for (kind, amount) in aug.jitter ?? [] {
            switch kind {
            case 0:  // brightness: scale
                for i in planes.indices { planes[i] = min(255, max(0, planes[i] * Float(amount))) }
            case 1:  // contrast: blend with the mean grey level
                var mean: Float = 0
                for i in 0..<n { mean += 0.299 * planes[i] + 0.587 * planes[n + i] + 0.114 * planes[2 * n + i] }
                mean /= Float(n)
                for i in planes.indices { planes[i] = min(255, max(0, mean + (planes[i] - mean) * Float(amount))) }
            case 2:  // saturation: blend with the grey image
                for i in 0..<n {
                    let g = 0.299 * planes[i] + 0.587 * planes[n + i] + 0.114 * planes[2 * n + i]
                    for ch in 0..<3 {
                        planes[ch * n + i] = min(255, max(0, g + (planes[ch * n + i] - g) * Float(amount)))
                    }
                }
            default:  // hue: rotate in HSV
                for i in 0..<n {
                    var (h, s, v) = rgbToHSV(planes[i], planes[n + i], planes[2 * n + i])
                    h = (h + Float(amount)).truncatingRemainder(dividingBy: 1)
                    if h < 0 { h += 1 }
                    let (r, g, b) = hsvToRGB(h, s, v)
                    planes[i] = r
                    planes[n + i] = g
                    planes[2 * n + i] = b
                }
            }
        }
        if aug.grayscale {
            for i in 0..<n {
                let g = 0.299 * planes[i] + 0.587 * planes[n + i] + 0.114 * planes[2 * n + i]
                planes[i] = g
                planes[n + i] = g
                planes[2 * n + i] = g
            }
        }
    }

    /// Separable Gaussian blur with edge clamping (radius 3 sigma).
    static func blur(_ planes: inout [Float], width: Int, height: Int, sigma: Double) {
        let r = max(1, Int((3 * sigma).rounded(.up)))
        var k = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let sum = k.reduce(0, +)
        k = k.map { $0 / sum }
        var tmp = planes
        let n = width * height
        for ch in 0..<3 {
            let base = ch * n
            for y in 0..<height {
                for x in 0..<width {
                    var acc: Float = 0
                    for t in -r...r { acc += k[t + r] * planes[base + y * width + min(max(x + t, 0), width - 1)] }
                    tmp[base + y * width + x] = acc
                }
            }
            for y in 0..<height {
                for x in 0..<width {
                    var acc: Float = 0
                    for t in -r...r { acc += k[t + r] * tmp[base + min(max(y + t, 0), height - 1) * width + x] }
                    planes[base + y * width + x] = acc
                }
            }
        }
    }

    static func rgbToHSV(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let mx = max(r, g, b)
        let mn = min(r, g, b)
        let d = mx - mn
        var h: Float = 0
        if d > 0 {
            if mx == r {
                h = ((g - b) / d).truncatingRemainder(dividingBy: 6)
            } else if mx == g {
                h = (b - r) / d + 2
            } else {
                h = (r - g) / d + 4
            }
            h /= 6
            if h < 0 { h += 1 }
        }
        return (h, mx > 0 ? d / mx : 0, mx)
    }

    static func hsvToRGB(_ h: Float, _ s: Float, _ v: Float) -> (Float, Float, Float) {
        let i = Int(h * 6) % 6
        let f = h * 6 - Float(Int(h * 6))
        let p = v * (1 - s)
        let q = v * (1 - f * s)
        let t = v * (1 - (1 - f) * s)
        switch i {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
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
