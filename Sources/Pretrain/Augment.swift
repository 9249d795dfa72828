import Foundation
import Tensor
import VideoData

extension CropBox {
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
        var box = widest(width: width, height: height, ratio: ratio)
        box.flip = flip
        return box
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

/// The random photometric changes of docs/method.md §3 (the crops and conversions are
/// `NetworkInput`'s, shared with the scene and motion views).
public enum Augment {
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

    /// Separable Gaussian blur with edge clamping (radius 3 sigma). Each output sums its taps
    /// in the order -r...r, as `PretextDataTests.blur` checks against the per-pixel loop; the
    /// loops run over whole rows so that they vectorise (the blur was the loader's largest
    /// share of CPU after decoding).
    static func blur(_ planes: inout [Float], width: Int, height: Int, sigma: Double) {
        let r = max(1, Int((3 * sigma).rounded(.up)))
        let gauss = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let sum = gauss.reduce(0, +)
        let k = gauss.map { $0 / sum }
        let n = width * height
        var tmp = [Float](repeating: 0, count: n)
        var padded = [Float](repeating: 0, count: width + 2 * r)
        // One output row: out[x] = sum over t of k[t] * source(t)[x], t from 0 to 2r in turn.
        func taps(_ out: UnsafeMutablePointer<Float>, _ source: (Int) -> UnsafePointer<Float>) {
            for x in 0..<width { out[x] = 0 }
            for t in 0...(2 * r) {
                let kt = k[t]
                let src = source(t)
                for x in 0..<width { out[x] += kt * src[x] }
            }
        }
        planes.withUnsafeMutableBufferPointer { planes in
            tmp.withUnsafeMutableBufferPointer { tmp in
                padded.withUnsafeMutableBufferPointer { padded in
                    for ch in 0..<3 {
                        let plane = planes.baseAddress! + ch * n
                        // Rows: each row padded with its edge values, the taps shifted along it.
                        for y in 0..<height {
                            let row = plane + y * width
                            for i in padded.indices { padded[i] = row[min(max(i - r, 0), width - 1)] }
                            taps(tmp.baseAddress! + y * width) { UnsafePointer(padded.baseAddress! + $0) }
                        }
                        // Columns: each output row sums the clamped rows above and below it.
                        for y in 0..<height {
                            taps(plane + y * width) {
                                UnsafePointer(tmp.baseAddress! + min(max(y + $0 - r, 0), height - 1) * width)
                            }
                        }
                    }
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

}
