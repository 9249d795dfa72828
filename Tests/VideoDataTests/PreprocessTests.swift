import Foundation
import TestSupport
import Testing
import VideoData

@Suite("Preprocessing: Pillow's bilinear resize, centre crop, normalisation")
struct PreprocessTests {
    static let directory = Paths.asset("fixtures/preprocess")

    /// Count of differing bytes and the largest difference.
    static func compare(_ a: RGBImage, _ b: RGBImage) -> (differing: Int, worst: Int) {
        var differing = 0
        var worst = 0
        for (x, y) in zip(a.pixels, b.pixels) where x != y {
            differing += 1
            worst = max(worst, abs(Int(x) - Int(y)))
        }
        return (differing, worst)
    }

    @Test("every resize equals Pillow's output byte for byte (real decoded frames, up, down, odd sizes)")
    func resizeMatchesPillow() throws {
        let manifest = try FixtureFiles.verifiedManifest(Self.directory)
        let cases = try #require(manifest["cases"] as? [[String: Any]])
        #expect(cases.count >= 10)
        var sizes: Set<String> = []
        for c in cases {
            let input = try FixtureFiles.readPNG(Self.directory + "/" + (c["input"] as! String))
            let expected = try FixtureFiles.readPNG(Self.directory + "/" + (c["output"] as! String))
            let ours = PILResize.bilinear(input, width: expected.width, height: expected.height)
            let (differing, worst) = Self.compare(ours, expected)
            #expect(
                differing == 0,
                "\(c["output"]!): \(differing) of \(expected.pixels.count) bytes differ from Pillow, worst by \(worst)")
            sizes.insert("\(input.width)x\(input.height)->\(expected.width)x\(expected.height)")
        }
        // The two sizes the bundled videos meet in the pipeline are among the cases.
        #expect(sizes.contains("320x240->171x128") && sizes.contains("1280x720->228x128"))
    }

    @Test("resize-and-crop computes only the crop, and equals Pillow's resize followed by the crop")
    func cropWindowEqualsFullResize() throws {
        let manifest = try FixtureFiles.verifiedManifest(Self.directory)
        let cases = try #require(manifest["cases"] as? [[String: Any]])
        let p = Preprocessing.modelScope
        var checked = 0
        for c in cases {
            let input = try FixtureFiles.readPNG(Self.directory + "/" + (c["input"] as! String))
            let expected = try FixtureFiles.readPNG(Self.directory + "/" + (c["output"] as! String))
            let size = p.resizedSize(width: input.width, height: input.height)
            guard size == (expected.width, expected.height) else { continue }
            let origin = p.cropOrigin(resizedWidth: size.width, resizedHeight: size.height)
            var crop: [UInt8] = []
            for y in origin.y..<(origin.y + p.crop) {
                let row = (y * expected.width + origin.x) * 3
                crop += expected.pixels[row..<(row + p.crop * 3)]
            }
            #expect(p.resizeAndCrop(input) == RGBImage(width: p.crop, height: p.crop, pixels: crop), "\(c["output"]!)")
            checked += 1
        }
        #expect(checked >= 5)
    }

    @Test("a clip through the whole ModelScope preprocessing equals the pipeline's float32 tensor")
    func clipMatchesPipeline() throws {
        let manifest = try FixtureFiles.verifiedManifest(Self.directory)
        let clip = try #require(manifest["clip"] as? [String: Any])
        let frames = try (clip["inputs"] as! [String]).map { try FixtureFiles.readPNG(Self.directory + "/" + $0) }
        let expected = try FixtureFiles.readFloat32NPY(Self.directory + "/" + (clip["output"] as! String))
        #expect(expected.shape == [3, frames.count, 112, 112])
        let ours = Preprocessing.modelScope.clipData(frames)
        #expect(ours.count == expected.values.count)
        var worst: Float = 0
        for (a, b) in zip(ours, expected.values) { worst = max(worst, abs(a - b)) }
        // Same bytes, same float32 operations in the same order: identical values.
        #expect(worst == 0, "largest difference from the pipeline's tensor: \(worst)")
    }

    @Test("resized sizes follow VRescale: round half to even, short side 128")
    func resizedSizes() {
        let p = Preprocessing.modelScope
        #expect(p.resizedSize(width: 320, height: 240) == (171, 128))
        #expect(p.resizedSize(width: 1280, height: 720) == (228, 128))
        #expect(p.resizedSize(width: 240, height: 320) == (128, 171))
        #expect(p.resizedSize(width: 640, height: 480) == (171, 128))
        // 257 * 0.5 = 128.5 and 259 * 0.5 = 129.5: Python's round gives 128 and 130 (even).
        #expect(p.resizedSize(width: 257, height: 256) == (128, 128))
        #expect(p.resizedSize(width: 259, height: 256) == (130, 128))
        #expect(p.cropOrigin(resizedWidth: 171, resizedHeight: 128) == (29, 8))
        #expect(p.cropOrigin(resizedWidth: 228, resizedHeight: 128) == (58, 8))
    }

    @Test("same-size resize is the identity, and a constant image stays constant at any size")
    func invariants() {
        var rng = SystemRandomNumberGenerator()
        let pixels = (0..<(37 * 23 * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let image = RGBImage(width: 37, height: 23, pixels: pixels)
        #expect(PILResize.bilinear(image, width: 37, height: 23) == image)
        for value: UInt8 in [0, 1, 127, 254, 255] {
            let flat = RGBImage(width: 50, height: 30, pixels: Array(repeating: value, count: 50 * 30 * 3))
            for (w, h) in [(7, 5), (171, 128), (50, 31), (13, 90)] {
                #expect(
                    PILResize.bilinear(flat, width: w, height: h).pixels.allSatisfy { $0 == value },
                    "\(value) at \(w)x\(h)")
            }
        }
    }

    @Test("normalisation is planar [3, T, H, W] with (v / 255 - mean) / std")
    func normaliseLayout() {
        let p = Preprocessing(shortSide: 4, crop: 2)
        let a = RGBImage(width: 2, height: 2, pixels: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110])
        let b = RGBImage(width: 2, height: 2, pixels: Array(repeating: 255, count: 12))
        var out = [Float](repeating: .nan, count: 3 * 2 * 4)
        out.withUnsafeMutableBufferPointer { p.normalise([a, b], into: $0) }
        // Channel 1 (green), frame 0, pixel (1, 0) is byte 40.
        #expect(out[(1 * 2 + 0) * 4 + 1] == (Float(40) / 255 - 0.456) / 0.224)
        // Channel 2 (blue), frame 1, last pixel is 255.
        #expect(out[(2 * 2 + 1) * 4 + 3] == (Float(255) / 255 - 0.406) / 0.225)
        #expect(!out.contains { $0.isNaN })
    }
}
