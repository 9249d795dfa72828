import Foundation
import MediaIO
import Models
import NN
import Pretrain
import Tensor
import TestSupport
import Testing
import VideoData

@Suite("Move pairs: two videos given one camera move, and the term that pairs them")
struct MovePairTests {
    @Test("a batch's pairs share a plan, and its pairs take distinct directions")
    func plans() {
        for seed in 0..<20 {
            var rng = SeededRandom(seed: UInt64(seed))
            let p = MovePlan.pairs(count: 16, rng: &rng)
            #expect(p.count == 16)
            for k in 0..<8 { #expect(p[2 * k] == p[2 * k + 1]) }
            let directions = Set((0..<8).map { p[2 * $0].x * 3 + p[2 * $0].y })
            #expect(directions.count == 8, "\(p)")
            #expect(p.allSatisfy { MovingCrop.speeds.contains($0.share) })
        }
        var rng = SeededRandom(seed: 1)
        let odd = MovePlan.pairs(count: 5, rng: &rng)
        #expect(odd.count == 5 && odd[0] == odd[1] && odd[2] == odd[3])
        // With zooms: eleven moves, and over many batches every one of them drawn.
        var seen = Set<Int>()
        for seed in 0..<20 {
            var rng = SeededRandom(seed: UInt64(seed))
            let p = MovePlan.pairs(count: 16, zooms: true, rng: &rng)
            let labels = (0..<8).map { p[2 * $0].direction }
            #expect(Set(labels).count == 8 && labels.allSatisfy { (0..<11).contains($0) }, "\(labels)")
            seen.formUnion(labels)
        }
        #expect(seen == Set(0..<11))
        #expect(MovePlan(direction: 9, share: 0.01).zoom == 1 && MovePlan(direction: 10, share: 0.01).zoom == -1)
        #expect(MovePlan(direction: 10, share: 0.01).x == 0 && MovePlan(direction: 4, share: 0.01).zoom == 0)
    }

    /// Synth `drift` videos (one actor over a still photo), seed 5, made in a fresh directory.
    static func driftVideos(_ name: String, perClass: Int) throws -> String {
        let dir = Paths.temporaryDirectory(name)
        let r = try run(
            Paths.decouple,
            ["synth", "-o", dir + "/s", "--per-class", String(perClass), "--classes", "drift", "--seed", "5"])
        #expect(r.status == 0, "\(r.stderr)")
        return dir
    }

    /// Move pairs with zooms, 48-pixel clips, 32-pixel motion clips.
    static func pairTransform() -> PretextTransform {
        var transform = PretextTransform()
        transform.size = 48
        transform.motionSize = 32
        transform.movePairs = true
        transform.moveZooms = true
        return transform
    }

    /// A random frame, crop box (mirrored or upside down at random), plan among `moves` and
    /// frame range up to `longest` frames, and the directed move they make.
    static func randomMove(
        sides: ClosedRange<Int>, moves: ClosedRange<Int>, longest: Int, _ rng: inout SeededRandom
    ) -> (Int, Int, CropBox, MovePlan, ClosedRange<Int>, MovingCrop) {
        let (w, h) = (Int.random(in: sides, using: &rng), Int.random(in: sides, using: &rng))
        var box = CropBox.random(width: w, height: h, flip: rng.nextDouble() < 0.5, rng: &rng)
        box.flipVertical = rng.nextDouble() < 0.5
        let plan = MovePlan(
            direction: Int.random(in: moves, using: &rng), share: MovingCrop.speeds.upperBound * rng.nextDouble())
        let first = Int.random(in: 0...20, using: &rng)
        let frames = first...(first + Int.random(in: 1...longest, using: &rng))
        return (w, h, box, plan, frames, MovingCrop.directed(box: box, plan: plan, frames: frames, width: w, height: h))
    }

    @Test("a zoom stays inside the frame about a fixed centre, its sides changing by the planned share per frame")
    func zoomed() {
        var rng = SeededRandom(seed: 8)
        for _ in 0..<500 {
            let (w, h, box, plan, frames, m) = Self.randomMove(sides: 40...400, moves: 9...10, longest: 40, &rng)
            #expect(m.growth == (plan.zoom > 0 ? -plan.share : plan.share) && m.vx == 0 && m.vy == 0)
            let b0 = m.box(frame: frames.lowerBound)
            #expect(b0.width <= box.width && b0.height <= box.height && b0.flip == box.flip)
            for f in frames {
                let b = m.box(frame: f)
                #expect(b.x >= 0 && b.y >= 0 && b.x + b.width <= w && b.y + b.height <= h, "\(b) leaves \(w)x\(h)")
                // The centre stays within a pixel of the start's.
                #expect(abs(2 * b.x + b.width - 2 * b0.x - b0.width) <= 2, "\(b) vs \(b0)")
                let scale = pow(1 + m.growth, Double(f - frames.lowerBound))
                #expect(abs(Double(b.width) - Double(b0.width) * scale) <= 0.5 + 1e-9)
                // The growth the vectors are corrected with is the boxes' own.
                if f > frames.lowerBound {
                    let g = m.growth(frame: f)
                    let a = m.box(frame: f - 1)
                    #expect(g.x == Float(b.width - a.width) / Float(b.width))
                }
            }
        }
    }

    @Test("a directed move stays inside the frame, at the planned speed, the picture moving the planned way")
    func directed() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<500 {
            let (w, h, box, plan, frames, m) = Self.randomMove(sides: 40...200, moves: 0...8, longest: 80, &rng)
            let (x, y) = (plan.x, plan.y)
            let b0 = m.box(frame: frames.lowerBound)
            #expect(b0.width <= box.width && b0.height <= box.height && b0.flip == box.flip)
            for f in frames {
                let b = m.box(frame: f)
                #expect(b.x >= 0 && b.y >= 0 && b.x + b.width <= w && b.y + b.height <= h, "\(b) leaves \(w)x\(h)")
            }
            // Never cut short: the speed is the planned share of the (possibly smaller) box.
            #expect(abs(abs(m.vx) - Double(abs(x)) * plan.share * Double(b0.width)) < 1e-9)
            #expect(abs(abs(m.vy) - Double(abs(y)) * plan.share * Double(b0.height)) < 1e-9)
            // The picture moves against the box, mirrored by a flip.
            let seenX = -m.vx * (box.flip ? -1 : 1)
            let seenY = -m.vy * (box.flipVertical ? -1 : 1)
            #expect(seenX.sign == Double(x).sign || x == 0 && m.vx == 0, "\(plan) \(m)")
            #expect(seenY.sign == Double(y).sign || y == 0 && m.vy == 0, "\(plan) \(m)")
        }
    }

    @Test("through real encoded videos: different videos given one plan show the same move in their positives")
    func realVideos() throws {
        let dir = try Self.driftVideos("move-pairs", perClass: 2)
        let sources = try ["in-context/drift_000.mp4", "out-of-context/drift_001.mp4"].map {
            try MotionVideoSource(path: dir + "/s/" + $0)
        }
        let transform = Self.pairTransform()
        let plane = 32 * 32
        let clamp = NetworkInput.motionClamp(size: 32)
        // The mean over a motion clip's frames of each channel's median: the still photo's move.
        func seen(_ clip: [Float]) -> (Float, Float) {
            let medians = (0..<2).map { ch in
                (0..<8).map { t in clip[((ch * 8 + t) * plane)..<((ch * 8 + t + 1) * plane)].sorted()[plane / 2] }
                    .reduce(0, +) / 8
            }
            return (medians[0], medians[1])
        }
        // The negatives: other directions than the plan's, no two alike, each shown as labelled
        // (its sign on each axis; speeds are drawn, so only signs are compared).
        var agree = 0
        var checked = 0
        // Right, up, down-left and still (zooms: `zoomsThroughRealVideo`).
        for (k, direction) in [2, 3, 7, 0].enumerated() {
            let plan = MovePlan(direction: direction, share: 0.015)
            let (x, y) = (plan.x, plan.y)
            // The picture's speed in the network's input: the share of the box, resized to 32.
            let expected = (Float(x) * 0.015 * 32 / clamp, Float(y) * 0.015 * 32 / clamp)
            for (i, source) in sources.enumerated() {
                // Three samples each: where the crop lands on the drifting actor, the actor's own
                // motion is the median, so the middle sample of three is compared.
                let examples = try (0..<3).map { j in
                    var rng = SeededRandom(seed: UInt64(100 * k + 10 * i + j))
                    return try PretextExample.make(
                        from: source, sampler: PretextSampler(), transform: transform, plan: plan, rng: &rng)
                }
                let samples = examples.map { seen($0.positive) }
                for e in examples {
                    let labels = try #require(e.moveLabels)
                    #expect(
                        labels.count == 4 && labels[0] == plan.direction && Set(labels).count == 4
                            && labels.allSatisfy { (0..<11).contains($0) }, "\(labels)")
                    for (negative, label) in zip(e.negatives, labels.dropFirst()) {
                        let (dx, dy) = seen(negative)
                        // A zoom moves the picture by as much one way as the other: no median.
                        let move = MovePlan(direction: label, share: 0.01)
                        for (v, want) in [(dx, move.x), (dy, move.y)] {
                            checked += 1
                            if want == 0 ? abs(v) < 0.03 : v * Float(want) > 0.02 { agree += 1 }
                        }
                    }
                }
                let dx = samples.map(\.0).sorted()[1]
                let dy = samples.map(\.1).sorted()[1]
                #expect(
                    abs(dx - expected.0) < 0.03 && abs(dy - expected.1) < 0.03,
                    "\(plan), video \(i): \(samples) vs \(expected)")
            }
        }
        #expect(Double(agree) >= 0.9 * Double(checked), "negatives moved as labelled on \(agree) of \(checked) axes")
        // Motion clips only (`pretrain --move-only`): no RGB clip or I-frame, the very same
        // motion clips and labels as the whole example's from the same draws.
        var motionOnly = transform
        motionOnly.motionOnly = true
        for seed: UInt64 in [1, 2] {
            let plan = MovePlan(direction: 4, share: 0.012)
            var r1 = SeededRandom(seed: seed)
            var r2 = SeededRandom(seed: seed)
            let whole = try PretextExample.make(
                from: sources[0], sampler: PretextSampler(), transform: transform, plan: plan, rng: &r1)
            let motion = try PretextExample.make(
                from: sources[0], sampler: PretextSampler(), transform: motionOnly, plan: plan, rng: &r2)
            #expect(motion.clip.isEmpty && motion.iFrame.isEmpty && !whole.clip.isEmpty && !whole.iFrame.isEmpty)
            #expect(motion.positive == whole.positive && motion.negatives == whole.negatives)
            #expect(motion.moveLabels == whole.moveLabels && motion.indices == whole.indices)
            let batch = CMDBatch([motion, motion], size: 48, motionSize: 32, clipFrames: 16, futureFrames: 8)
            #expect(batch.batch == 2 && batch.clips.count == 0 && batch.motion.shape == [8, 2, 8, 32, 32])
        }
    }

    @Test("through a real encoded video: a zoom's positive shows the still picture moving out of (into) the centre")
    func zoomsThroughRealVideo() throws {
        let dir = try Self.driftVideos("move-zooms", perClass: 1)
        let source = try MotionVideoSource(path: dir + "/s/in-context/drift_000.mp4")
        let transform = Self.pairTransform()
        let plane = 32 * 32
        let clamp = NetworkInput.motionClamp(size: 32)
        // Per frame whose box changed size, the still picture's cells (most of the input; the
        // actor's are the rest) must show exactly what the box did: minus its centre's step and
        // minus its growth times the distance from the centre, i + 0.5 - 16 input pixels in
        // column i, mirrored with the box.
        var agree = 0
        var frames = 0
        for seed in 0..<12 {
            let plan = MovePlan(direction: seed % 2 == 0 ? 9 : 10, share: 0.01)
            var rng = SeededRandom(seed: UInt64(seed))
            let e = try PretextExample.make(
                from: source, sampler: PretextSampler(), transform: transform, plan: plan, rng: &rng)
            let m = try #require(e.cameraMove)
            #expect(m.growth == (plan.zoom > 0 ? -0.01 : 0.01))
            for (t, f) in e.indices.positive.enumerated() {
                let g = m.growth(frame: f)
                guard g != (0, 0) else { continue }
                let step = m.step(frame: f)
                let b = m.box(frame: f)
                func expected(_ n: Int, _ side: Int, _ shift: Float, _ growth: Float, _ mirrored: Bool) -> Float {
                    let k = mirrored ? 31 - n : n
                    let v = -(shift * 32 / Float(side) + growth * (Float(k) + 0.5 - 16)) / clamp
                    return mirrored ? -v : v
                }
                var still = 0
                for j in 0..<32 {
                    for i in 0..<32 {
                        let dx = e.positive[t * plane + j * 32 + i]
                        let dy = e.positive[(8 + t) * plane + j * 32 + i]
                        let ex = expected(i, b.width, step.dx, g.x, b.flip)
                        let ey = expected(j, b.height, step.dy, g.y, b.flipVertical)
                        if abs(dx - ex) < 0.005 && abs(dy - ey) < 0.005 { still += 1 }
                    }
                }
                frames += 1
                if still >= plane / 2 { agree += 1 }
            }
        }
        #expect(frames >= 40 && Double(agree) >= 0.75 * Double(frames), "\(agree) of \(frames) frames agree")
    }

    @Test("the term: each clip finds its direction's clips; its gradient against finite differences")
    func term() {
        var rng = SeededRandom(seed: 3)
        let pooled = Tensor.normal(shape: [10, 6], using: &rng)
        // Rows 8 and 9 have directions of their own: no anchor, still in every denominator.
        let labels = [0, 0, 1, 1, 2, 2, 0, 1, 5, 6]
        let (loss, grad) = CMDLoss.moves(pooled: pooled, labels: labels, temperature: 0.5, weight: 0.7)
        #expect(loss.isFinite && loss > 0)
        #expect(grad.data[(8 * 6)...].contains { $0 != 0 }, "a lone row is still a negative")
        func f(_ t: Tensor) -> Double {
            0.7 * CMDLoss.moves(pooled: t, labels: labels, temperature: 0.5, weight: 0.7).loss
        }
        var worst: Float = 0
        for i in 0..<(10 * 6) {
            var plus = pooled
            var minus = pooled
            plus.data[i] += 1e-3
            minus.data[i] -= 1e-3
            let numeric = Float((f(plus) - f(minus)) / 2e-3)
            worst = max(worst, abs(numeric - grad.data[i]))
        }
        #expect(worst < 2e-3 * max(1, grad.maxAbs()), "worst difference \(worst)")
        // Rows alike within a direction and apart across: a lower loss than random rows.
        var matched = Tensor(shape: [10, 6])
        for (i, l) in labels.enumerated() { matched.data[i * 6 + l % 6] = 1 }
        let low = CMDLoss.moves(pooled: matched, labels: labels, temperature: 0.5, weight: 1).loss
        #expect(low < loss, "\(low) vs \(loss)")
        // No two rows share a direction: no anchor, no loss, no gradient.
        let none = CMDLoss.moves(pooled: pooled, labels: Array(0..<10), temperature: 0.5, weight: 1)
        #expect(none.loss == 0 && none.dPooled.data.allSatisfy { $0 == 0 })
    }

    @Test("a CMD step with the term: its loss in the total, its gradient in the motion network")
    func step() throws {
        var c = CMDModelTests.tinyConfig()
        var batch = CMDModelTests.batch(c, b: 4, negatives: 1)
        batch.moveLabels = [3, 3, 6, 6, 0, 1, 3, 6]
        let plain = try CMDModel(config: c, seed: 3)
        plain.training = true
        plain.zeroGrad()
        let l0 = plain.step(batch, threads: 1)
        c.moveWeight = 0.5
        let model = try CMDModel(config: c, seed: 3)
        model.training = true
        model.zeroGrad()
        let l1 = model.step(batch, threads: 1)
        #expect(l0.move == 0 && l1.move > 0 && l1.motion == l0.motion && l1.context == l0.context)
        #expect(abs(l1.total - (l0.total + 0.5 * l1.move)) < 1e-9)
        let before = plain.motionNet.parameters.map(\.grad.data)
        let after = model.motionNet.parameters.map(\.grad.data)
        #expect(before != after, "the term left the motion network's gradient unchanged")
        #expect(plain.backbone.parameters.map(\.grad.data) == model.backbone.parameters.map(\.grad.data))
        // On a head of its own: the same CMD losses, the term's gradient in the head and the
        // motion network (another one than without the head), none in the backbone.
        c.moveHead = true
        let headed = try CMDModel(config: c, seed: 3)
        headed.training = true
        headed.zeroGrad()
        let l2 = headed.step(batch, threads: 1)
        #expect(l2.move > 0 && l2.move != l1.move && l2.motion == l0.motion && l2.context == l0.context)
        #expect(abs(l2.total - (l0.total + 0.5 * l2.move)) < 1e-9)
        #expect(headed.mv!.parameters.allSatisfy { $0.grad.data.contains { $0 != 0 } })
        let viaHead = headed.motionNet.parameters.map(\.grad.data)
        #expect(viaHead != before && viaHead != after)
        #expect(plain.backbone.parameters.map(\.grad.data) == headed.backbone.parameters.map(\.grad.data))
        #expect(headed.parameters.count == model.parameters.count + headed.mv!.parameters.count)
        // On a motion network of its own: the CMD losses and every gradient outside the move
        // network and its head are the term-free step's, bit for bit; the term's own parts all
        // get gradient.
        c.moveNet = true
        let own = try CMDModel(config: c, seed: 3)
        own.training = true
        own.zeroGrad()
        let l3 = own.step(batch, threads: 1)
        #expect(l3.move > 0 && l3.motion == l0.motion && l3.context == l0.context)
        #expect(abs(l3.total - (l0.total + 0.5 * l3.move)) < 1e-9)
        let moveParts = Set((own.mv!.parameters + own.moveNet!.parameters).map(\.name))
        #expect(own.moveNet!.parameters.allSatisfy { $0.name.hasPrefix("mv_backbone.") })
        let cmdParts = own.parameters.filter { !moveParts.contains($0.name) }
        #expect(cmdParts.map(\.name) == plain.parameters.map(\.name))
        #expect(cmdParts.map(\.grad.data) == plain.parameters.map(\.grad.data), "the term reached a CMD network")
        #expect(own.moveNet!.parameters.allSatisfy { $0.grad.data.contains { $0 != 0 } })
        #expect(own.mv!.parameters.allSatisfy { $0.grad.data.contains { $0 != 0 } })
        // The move network and head alone (`pretrain --move-only`), on the batch's motion clips
        // only (no RGB clip or I-frame): the term and its gradients are the step above's, bit for
        // bit, and the model's parameters are those two networks'.
        c.contextWeight = 0
        c.motionWeight = 0
        let alone = try CMDModel(config: c, seed: 3)
        alone.training = true
        alone.zeroGrad()
        var motionOnly = batch
        motionOnly.clips = Tensor(shape: [4, 3, 0, c.size, c.size])
        motionOnly.iFrames = Tensor(shape: [4, 3, 0, c.size, c.size])
        let l4 = alone.step(motionOnly, threads: 1)
        #expect(l4.move == l3.move && l4.context == 0 && l4.motion == 0 && abs(l4.total - 0.5 * l4.move) < 1e-12)
        #expect(alone.parameters.map(\.name) == own.mv!.parameters.map(\.name) + own.moveNet!.parameters.map(\.name))
        #expect(alone.parameters.map(\.grad.data) == (own.mv!.parameters + own.moveNet!.parameters).map(\.grad.data))
        #expect(alone.buffers.count == own.mv!.buffers.count + own.moveNet!.buffers.count)
    }

    @Test("the term through its head: the pooled features' gradient against finite differences")
    func headGradient() {
        var rng = SeededRandom(seed: 5)
        let pooled = Tensor.normal(shape: [8, 6], using: &rng)
        let labels = [0, 0, 1, 1, 2, 2, 0, 1]
        let head = ProjectionHead(name: "mv_head", inFeatures: 6, hidden: 12, outFeatures: 5, seed: 2)
        head.training = true
        func f(_ t: Tensor) -> Double {
            0.7 * CMDLoss.moves(pooled: head.forward(t).0, labels: labels, temperature: 0.5, weight: 0.7).loss
        }
        let (y, cache) = head.forward(pooled)
        let term = CMDLoss.moves(pooled: y, labels: labels, temperature: 0.5, weight: 0.7)
        let grad = head.backward(term.dPooled, cache: cache)
        var worst: Float = 0
        for i in 0..<pooled.count {
            var plus = pooled
            var minus = pooled
            plus.data[i] += 1e-2
            minus.data[i] -= 1e-2
            worst = max(worst, abs(Float((f(plus) - f(minus)) / 2e-2) - grad.data[i]))
        }
        #expect(grad.maxAbs() > 0 && worst < 1e-2 * max(1, grad.maxAbs()), "worst difference \(worst)")
    }
}
