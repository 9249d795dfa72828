import Foundation
import MediaIO
import Pretrain
import Tensor
import TestSupport
import Testing
import VideoData

@Suite("Pretext data: sampling, augmentation, compressed-domain samples")
struct PretextDataTests {
    @Test("sampling follows docs/method.md §3 and is deterministic for a seed")
    func sampling() throws {
        let sampler = PretextSampler()
        #expect(sampler.minimumFrames == 71)
        let iFrames = Array(stride(from: 0, to: 100, by: 16))
        var rng = SeededRandom(seed: 4)
        for _ in 0..<200 {
            let s = try sampler.sample(frameCount: 100, iFrames: iFrames, rng: &rng)
            let start = s.clip[0]
            let last = s.clip.last!
            #expect(s.clip == (0..<16).map { start + 4 * $0 })
            #expect(start >= 0 && start <= 100 - 71)
            #expect(s.positive == Array((last + 3)...(last + 10)))
            #expect(s.iFrame >= start - 5 && s.iFrame <= last + 5 && iFrames.contains(s.iFrame))
            #expect(s.negatives.count == 3)
            for n in s.negatives {
                #expect(n.count == 8 && n == Array(n[0]...(n[0] + 7)) && n[0] >= 0 && n.last! < 100)
                #expect(
                    n.last! < s.positive[0] || n[0] > s.positive.last!,
                    "negative \(n) overlaps the positive \(s.positive)")
            }
        }
        var a = SeededRandom(seed: 9)
        var b = SeededRandom(seed: 9)
        #expect(
            try sampler.sample(frameCount: 90, iFrames: iFrames, rng: &a)
                == sampler.sample(frameCount: 90, iFrames: iFrames, rng: &b))
        #expect(throws: PretextSampler.SamplingError.self) {
            try sampler.sample(frameCount: 70, iFrames: iFrames, rng: &a)
        }
        #expect(throws: PretextSampler.SamplingError.self) {
            try sampler.sample(frameCount: 300, iFrames: [0], rng: &a)
        }
    }

    /// A 64x64 frame's field of `block`-pixel blocks; `motion(x, y)` gives the block at (x, y)
    /// its FFmpeg motion (quarter pixels, source minus destination).
    static func field(block: Int, motion: (Int, Int) -> (Int32, Int32)) -> MotionField {
        var vs: [MotionVector] = []
        for y in stride(from: 0, to: 64, by: block) {
            for x in stride(from: 0, to: 64, by: block) {
                let (mx, my) = motion(x, y)
                vs.append(
                    MotionVector(
                        source: -1, w: UInt8(block), h: UInt8(block), srcX: 0, srcY: 0, dstX: Int16(x + block / 2),
                        dstY: Int16(y + block / 2), motionX: mx, motionY: my, motionScale: 4))
            }
        }
        return MotionField(vectors: vs, frameWidth: 64, frameHeight: 64, cellSize: 4)
    }

    @Test("motion crops scale vectors with the resize, flips negate dx, values clamp to ±10 px / 10")
    func motionCrop() {
        // 64x64 frame, one vector field moving right by 2 px and down by 1 px everywhere.
        let field = Self.field(block: 16) { _, _ in (-8, -4) }
        // A 32x32 box resized to 16x16: half the size, so the vectors halve.
        let out = NetworkInput.crop(field, CropBox(x: 16, y: 8, width: 32, height: 32, flip: false), size: 16)
        #expect(out.count == 2 * 256)
        #expect(out[0..<256].allSatisfy { abs($0 - 0.1) < 1e-6 })
        #expect(out[256..<512].allSatisfy { abs($0 - 0.05) < 1e-6 })
        let flipped = NetworkInput.crop(field, CropBox(x: 16, y: 8, width: 32, height: 32, flip: true), size: 16)
        #expect(flipped[0..<256].allSatisfy { abs($0 + 0.1) < 1e-6 })
        #expect(flipped[256..<512].allSatisfy { abs($0 - 0.05) < 1e-6 })
        // A 4x upscale makes 8 px and 4 px; a 16x one clamps at 10 px.
        let big = NetworkInput.crop(field, CropBox(x: 0, y: 0, width: 16, height: 16, flip: false), size: 64)
        #expect(abs(big[0] - 0.8) < 1e-6 && abs(big[64 * 64] - 0.4) < 1e-6)
        let huge = NetworkInput.crop(field, CropBox(x: 0, y: 0, width: 8, height: 8, flip: false), size: 64)
        #expect(huge[0] == 1 && abs(huge[64 * 64] - 0.8) < 1e-6)
    }

    @Test("upside down: a crop's rows come in reverse order and the vectors' dy is negated; RGB rows reverse too")
    func upsideDown() {
        // A field whose vectors differ from cell to cell, so a wrong row order shows.
        let field = Self.field(block: 8) { x, y in (Int32(x / 8 - 3), Int32(y / 4 - 5)) }
        for flip in [false, true] {
            let upright = NetworkInput.crop(field, CropBox(x: 8, y: 4, width: 40, height: 40, flip: flip), size: 16)
            let down = NetworkInput.crop(
                field, CropBox(x: 8, y: 4, width: 40, height: 40, flip: flip, flipVertical: true), size: 16)
            #expect(upright.contains { $0 != 0 })
            for ch in 0..<2 {
                for r in 0..<16 {
                    for c in 0..<16 {
                        let a = upright[ch * 256 + (15 - r) * 16 + c]
                        #expect(down[ch * 256 + r * 16 + c] == (ch == 1 ? -a : a), "channel \(ch) row \(r) column \(c)")
                    }
                }
            }
        }
        var px = [UInt8](repeating: 0, count: 8 * 6 * 3)
        for i in px.indices { px[i] = UInt8(i % 251) }
        let image = RGBImage(width: 8, height: 6, pixels: px)
        let box = CropBox(x: 2, y: 1, width: 4, height: 4, flip: true, flipVertical: true)
        let both = NetworkInput.crop(image, box, size: 4)
        #expect(both.pixel(x: 0, y: 0) == image.pixel(x: 5, y: 4) && both.pixel(x: 3, y: 1) == image.pixel(x: 2, y: 3))
    }

    @Test("RGB crops: an unscaled box copies pixels, a flip mirrors them; colour changes keep ranges")
    func rgbCrop() {
        var px = [UInt8](repeating: 0, count: 8 * 6 * 3)
        for i in px.indices { px[i] = UInt8(i % 251) }
        let image = RGBImage(width: 8, height: 6, pixels: px)
        let same = NetworkInput.crop(image, CropBox(x: 2, y: 1, width: 4, height: 4, flip: false), size: 4)
        #expect(same.pixel(x: 0, y: 0) == image.pixel(x: 2, y: 1) && same.pixel(x: 3, y: 3) == image.pixel(x: 5, y: 4))
        let mirror = NetworkInput.crop(image, CropBox(x: 2, y: 1, width: 4, height: 4, flip: true), size: 4)
        #expect(mirror.pixel(x: 0, y: 0) == image.pixel(x: 5, y: 1))
        var planes = NetworkInput.planes(image)
        let jitter: [(kind: Int, amount: Double)] = [(0, 1.3), (1, 0.7), (2, 1.4), (3, 0.08)]
        Augment.color(&planes, width: 8, height: 6, ColorAugment(blurSigma: 1.5, jitter: jitter, grayscale: true))
        #expect(planes.allSatisfy { $0 >= 0 && $0 <= 255 })
        let grey = (0..<48).allSatisfy { (i: Int) -> Bool in planes[i] == planes[48 + i] && planes[i] == planes[96 + i]
        }
        #expect(grey)
    }

    @Test("the blur equals the per-pixel Gaussian with clamped edges, bit for bit")
    func blur() {
        // The blur as the loader first computed it, one output pixel at a time.
        func reference(_ planes: [Float], width: Int, height: Int, sigma: Double) -> [Float] {
            let r = max(1, Int((3 * sigma).rounded(.up)))
            var k = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
            let sum = k.reduce(0, +)
            k = k.map { $0 / sum }
            var tmp = planes
            var out = planes
            let n = width * height
            for base in stride(from: 0, to: 3 * n, by: n) {
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
                        out[base + y * width + x] = acc
                    }
                }
            }
            return out
        }
        var rng = SeededRandom(seed: 3)
        for (width, height, sigma) in [
            (64, 64, 0.1), (64, 64, 2.0), (8, 6, 1.5), (3, 2, 2.0), (1, 5, 0.7), (37, 11, 1.3),
        ] {
            let planes = (0..<(3 * width * height)).map { _ in Float(rng.nextDouble() * 255) }
            var blurred = planes
            Augment.color(
                &blurred, width: width, height: height, ColorAugment(blurSigma: sigma, jitter: nil, grayscale: false))
            let expected = reference(planes, width: width, height: height, sigma: sigma)
            #expect(blurred == expected, "\(width)x\(height), sigma \(sigma)")
        }
    }

    @Test("a sample from a real H.264 video: shapes, the shared crop, determinism, motion from the stream")
    func fromVideo() throws {
        let dir = Paths.temporaryDirectory("pretext")
        let r = try run(
            Paths.decouple,
            [
                "synth", "-o", dir + "/s", "--per-class", "1", "--classes", "pan", "drift", "--frames", "80", "--seed",
                "2",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let path = dir + "/s/in-context/pan_000.mp4"
        let source = try MotionVideoSource(path: path)
        #expect(try source.iFrameIndices() == [0, 16, 32, 48, 64])
        var transform = PretextTransform()
        transform.size = 48
        transform.motionSize = 48
        var rng = SeededRandom(seed: 1)
        let a = try PretextExample.make(from: source, sampler: PretextSampler(), transform: transform, rng: &rng)
        #expect(a.clip.count == 3 * 16 * 48 * 48)
        #expect(a.iFrame.count == 3 * 48 * 48)
        #expect(
            a.positive.count == 2 * 8 * 48 * 48 && a.negatives.count == 3
                && a.negatives.allSatisfy { $0.count == a.positive.count })
        var again = SeededRandom(seed: 1)
        let b = try PretextExample.make(
            from: try MotionVideoSource(path: path), sampler: PretextSampler(), transform: transform, rng: &again)
        #expect(a.clip == b.clip && a.positive == b.positive && a.indices == b.indices)
        // Vertical flips off draw nothing (the same sample); on, the draws and so the sample change.
        for (flips, same) in [(false, true), (true, false)] {
            var t = transform
            t.verticalFlips = flips
            var r = SeededRandom(seed: 1)
            let e = try PretextExample.make(from: source, sampler: PretextSampler(), transform: t, rng: &r)
            #expect((e.clip == a.clip && e.positive == a.positive && e.negatives == a.negatives) == same, "\(flips)")
        }
        // A camera pan moves the whole picture one way: dx has one dominant sign.
        transform.augment = false
        var v = SeededRandom(seed: 3)
        let c = try PretextExample.make(from: source, sampler: PretextSampler(), transform: transform, rng: &v)
        let dx = c.positive[0..<(8 * 48 * 48)]
        let positive = dx.filter { $0 > 0.02 }.count
        let negative = dx.filter { $0 < -0.02 }.count
        #expect(
            max(positive, negative) > 10 * max(1, min(positive, negative)),
            "dx signs: \(positive) positive, \(negative) negative")
        #expect(c.clip.allSatisfy { $0.isFinite && abs($0) < 3 })
    }
}
