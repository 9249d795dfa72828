import Foundation
import MediaIO
import Pretrain
import Tensor
import TestSupport
import Testing
import VideoData

@Suite("Camera moves made in the loader: the sliding box and the shifted motion vectors")
struct MovingCropTests {
    @Test("a random move stays inside the frame, at the drawn speed unless the room is shorter")
    func staysInside() {
        var rng = SeededRandom(seed: 5)
        var moved = 0
        for _ in 0..<500 {
            let (w, h) = (Int.random(in: 40...200, using: &rng), Int.random(in: 40...200, using: &rng))
            let box = CropBox.random(width: w, height: h, flip: false, rng: &rng)
            let first = Int.random(in: 0...20, using: &rng)
            let frames = first...(first + Int.random(in: 1...80, using: &rng))
            let m = MovingCrop.random(box: box, frames: frames, width: w, height: h, rng: &rng)
            #expect(m.box(frame: frames.lowerBound) == box)
            #expect(m.vx == 0 || m.vy == 0, "a pan or a tilt, not both")
            let side = Double(m.vx != 0 ? box.width : box.height)
            #expect(abs(m.vx + m.vy) <= MovingCrop.speeds.upperBound * side + 1e-9)
            var total = (dx: Float(0), dy: Float(0))
            for f in frames {
                let b = m.box(frame: f)
                #expect(b.x >= 0 && b.y >= 0 && b.x + b.width <= w && b.y + b.height <= h, "\(b) leaves \(w)x\(h)")
                #expect(b.width == box.width && b.height == box.height)
                if f > frames.lowerBound {
                    let s = m.step(frame: f)
                    total.dx += s.dx
                    total.dy += s.dy
                }
            }
            let last = m.box(frame: frames.upperBound)
            #expect(total.dx == Float(last.x - box.x) && total.dy == Float(last.y - box.y))
            if m.vx != 0 || m.vy != 0 { moved += 1 }
        }
        #expect(moved > 300, "most boxes have room to move (\(moved) of 500)")
        // A box as wide as the frame cannot pan; as tall, cannot tilt.
        let full = CropBox(x: 0, y: 0, width: 64, height: 48, flip: false)
        for seed in 0..<20 {
            var r = SeededRandom(seed: UInt64(seed))
            let m = MovingCrop.random(box: full, frames: 0...70, width: 64, height: 48, rng: &r)
            #expect(m.vx == 0 && m.vy == 0)
        }
    }

    @Test("the box's step is subtracted from covered cells only, before the resize")
    func shiftedField() {
        // One 16x16 block moving (2, -1) px in the top-left corner of a 32x32 frame; the rest
        // of the frame has no vector (intra).
        let v = MotionVector(
            source: -1, w: 16, h: 16, srcX: 6, srcY: 9, dstX: 8, dstY: 8, motionX: -8, motionY: 4, motionScale: 4)
        let field = MotionField(vectors: [v], frameWidth: 32, frameHeight: 32, cellSize: 4)
        let box = CropBox(x: 0, y: 0, width: 32, height: 32, flip: false)
        let plain = NetworkInput.crop(field, box, size: 8, clamp: 10)
        let shifted = NetworkInput.crop(field, box, size: 8, clamp: 10, shift: (dx: 3, dy: -2))
        let scale: Float = 8.0 / 32
        // Cell (1, 1) of the 8x8 output lies inside the block; (6, 6) far from it.
        #expect(abs(plain[1 * 8 + 1] - 2 * scale / 10) < 1e-6)
        #expect(abs(shifted[1 * 8 + 1] - (2 - 3) * scale / 10) < 1e-6)
        #expect(abs(shifted[64 + 1 * 8 + 1] - (-1 + 2) * scale / 10) < 1e-6)
        #expect(shifted[6 * 8 + 6] == 0 && shifted[64 + 6 * 8 + 6] == 0)
        // No shift: the same values as before the option existed.
        #expect(NetworkInput.crop(field, box, size: 8, clamp: 10, shift: (0, 0)) == plain)
        // A flipped box mirrors and negates dx after the shift.
        var flipped = box
        flipped.flip = true
        let f = NetworkInput.crop(field, flipped, size: 8, clamp: 10, shift: (dx: 3, dy: -2))
        #expect(abs(f[1 * 8 + 6] - (3 - 2) * scale / 10) < 1e-6)
        // A box grown by a tenth: a covered cell's vector loses a tenth of its distance from the
        // box's centre (15.5, 15.5); output cell 1 samples source pixel 5.5.
        let grown = NetworkInput.crop(field, box, size: 8, clamp: 10, growth: (x: 0.1, y: 0.2))
        #expect(abs(grown[1 * 8 + 1] - (2 - 0.1 * (5.5 - 15.5)) * scale / 10) < 1e-6)
        #expect(abs(grown[64 + 1 * 8 + 1] - (-1 - 0.2 * (5.5 - 15.5)) * scale / 10) < 1e-6)
        #expect(grown[6 * 8 + 6] == 0, "uncovered cells stay zero")
    }

    @Test("through a real encoded video: the still background moves against the box")
    func realVideo() throws {
        let dir = Paths.temporaryDirectory("moving-crop")
        let r = try run(
            Paths.decouple,
            ["synth", "-o", dir + "/s", "--per-class", "1", "--classes", "drift", "pan", "--seed", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        // drift: one actor drifting over a still photo; most cells are still background.
        let source = try MotionVideoSource(path: dir + "/s/in-context/drift_000.mp4")
        var transform = PretextTransform()
        transform.size = 48
        transform.motionSize = 32
        transform.cameraMoves = 1
        var checked = 0
        for seed in 0..<12 {
            var rng = SeededRandom(seed: UInt64(seed))
            let e = try PretextExample.make(from: source, sampler: PretextSampler(), transform: transform, rng: &rng)
            guard let m = e.cameraMove, abs(m.vx) + abs(m.vy) >= 0.5 else { continue }
            checked += 1
            let plane = 32 * 32
            let clamp = NetworkInput.motionClamp(size: 32)
            var errors: [Float] = []
            for (t, f) in e.indices.positive.enumerated() {
                let step = m.step(frame: f)
                let horizontal = m.vx != 0
                let channel = horizontal ? 0 : 1
                let side = Float(horizontal ? m.start.width : m.start.height)
                var expected = -(horizontal ? step.dx : step.dy) * 32 / side / clamp
                if horizontal && m.start.flip { expected = -expected }
                let values = e.positive[((channel * 8 + t) * plane)..<((channel * 8 + t + 1) * plane)].sorted()
                errors.append(abs(values[plane / 2] - expected))
            }
            let mean = errors.reduce(0, +) / Float(errors.count)
            #expect(mean < 0.05, "seed \(seed): \(m), median errors \(errors)")
        }
        #expect(checked >= 3, "only \(checked) of 12 samples moved")
        // Off by default: no move, and the same sample as a transform without the field.
        transform.cameraMoves = nil
        var a = SeededRandom(seed: 1)
        var b = SeededRandom(seed: 1)
        let plain = try PretextExample.make(from: source, sampler: PretextSampler(), transform: transform, rng: &a)
        transform.cameraMoves = 0
        let zero = try PretextExample.make(from: source, sampler: PretextSampler(), transform: transform, rng: &b)
        #expect(plain.cameraMove == nil && plain.clip == zero.clip && plain.positive == zero.positive)
        #expect(plain.negatives == zero.negatives)
    }
}
