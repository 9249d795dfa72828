import Tensor
import VideoData

/// One training sample, ready for the networks (all float, channel-first).
public struct PretextExample: Sendable {
    /// `[3, clipFrames, size, size]`, ImageNet-normalised.
    public var clip: [Float]
    /// `[3, 1, size, size]`: the I-frame near the clip.
    public var iFrame: [Float]
    /// `[2, futureFrames, motionSize, motionSize]`: dx, dy of the future motion, clamped and
    /// scaled to [-1, 1].
    public var positive: [Float]
    /// Negative motion clips, each shaped like `positive`.
    public var negatives: [[Float]]
    public var indices: PretextIndices
    /// The camera move made over the clip and its positive (`PretextTransform.cameraMoves`),
    /// nil when their box stays put.
    public var cameraMove: MovingCrop?
    /// With move pairs: the direction (an index into `MovePlan.directions`) of the positive's
    /// move, then of each negative's.
    public var moveLabels: [Int]?

    public init(
        clip: [Float], iFrame: [Float], positive: [Float], negatives: [[Float]], indices: PretextIndices,
        cameraMove: MovingCrop? = nil, moveLabels: [Int]? = nil
    ) {
        self.moveLabels = moveLabels
        self.clip = clip
        self.iFrame = iFrame
        self.positive = positive
        self.negatives = negatives
        self.indices = indices
        self.cameraMove = cameraMove
    }
}

/// How samples are augmented and sized.
public struct PretextTransform: Sendable, Codable, Equatable {
    /// Network input side (112 in the paper).
    public var size = 112
    /// Training augmentation (random crops, flips, colour) or the validation transform.
    public var augment = true
    /// Side of the motion clips (H.264 vectors live on 4x4 cells at the finest, so half the
    /// RGB side loses little and quarters the motion network's work).
    public var motionSize = 112
    /// Cell size of the motion fields read from the stream (4 is exact for H.264 blocks).
    public var cellSize = 4
    /// With `augment`, the share of clips whose box slides like a camera pan or tilt over the
    /// clip and its positive, and, drawn separately, of negatives whose box slides on its own
    /// (`MovingCrop`); the motion vectors get the box's steps subtracted. nil (runs from
    /// before it existed) or 0: boxes stay put and no random number is drawn for it.
    public var cameraMoves: Double?
    /// With `augment`, turn the clip, its future motion and each negative upside down half the
    /// time (each negative on its own draw; the I-frame stays upright), so the networks learn
    /// up and down alike. nil (runs from before it existed) or false: no random number is drawn.
    public var verticalFlips: Bool?
    /// With `augment`, every clip and its positive get the camera move of their pair
    /// (`MovePlan.pairs`, from the batch loader) instead of a random one, and each negative
    /// another move, for the move term of `CMDConfig.moveWeight`. nil (runs from before it existed) or false: no pairs.
    public var movePairs: Bool?
    /// With `movePairs`, zooms in and out among the moves (`pretrain --move-zooms`).
    public var moveZooms: Bool?
    /// Whether examples carry motion clips only, no RGB clip or I-frame (`pretrain
    /// --move-only`, whose step reads nothing else): decoding skips the colour conversion. The
    /// random draws are those of a whole example, so the motion clips are the same.
    public var motionOnly: Bool?

    public init() {}
}

extension PretextExample {
    /// Reads and transforms one sample. `rng` drives every random choice, so a sample is a pure
    /// function of the video and the generator's state.
    /// `plan`, when given, is the move of the clip and its positive (the move pairs); each
    /// negative then moves in another direction than the plan's, no two alike, at a speed of
    /// its own: the same footage with another move is what the move term must tell apart.
    /// Without a plan the negatives draw their moves from `transform.cameraMoves`.
    public static func make(
        from source: MotionClipSource, sampler: PretextSampler, transform: PretextTransform, plan: MovePlan? = nil,
        rng: inout SeededRandom
    ) throws -> PretextExample {
        let indices = try sampler.sample(frameCount: source.frameCount, iFrames: try source.iFrameIndices(), rng: &rng)
        let motionFrames = indices.positive + indices.negatives.flatMap { $0 }
        let (images, fields) = try source.fetch(
            rgb: transform.motionOnly == true ? [] : indices.clip + [indices.iFrame], motion: motionFrames,
            cellSize: transform.cellSize)
        let w = source.width
        let h = source.height
        let s = transform.size
        func box(_ rng: inout SeededRandom) -> CropBox {
            transform.augment
                ? CropBox.random(width: w, height: h, flip: rng.nextDouble() < 0.5, rng: &rng)
                : CropBox.centre(width: w, height: h)
        }
        func motionBox(_ rng: inout SeededRandom) -> CropBox {
            var b = box(&rng)
            if transform.augment, transform.verticalFlips == true { b.flipVertical = rng.nextDouble() < 0.5 }
            return b
        }
        // The clip and its future motion share one crop and flips (so their positions agree),
        // and one camera move when there is one.
        let shared = motionBox(&rng)
        let moves = transform.augment ? transform.cameraMoves ?? 0 : 0
        func move(_ b: CropBox, over frames: ClosedRange<Int>, _ rng: inout SeededRandom) -> MovingCrop {
            guard moves > 0, rng.nextDouble() < moves else { return .still(b) }
            return MovingCrop.random(box: b, frames: frames, width: w, height: h, rng: &rng)
        }
        let span = indices.clip[0]...indices.positive.last!
        let paired = transform.augment ? plan : nil
        let sharedMove =
            paired.map { MovingCrop.directed(box: shared, plan: $0, frames: span, width: w, height: h) }
            ?? move(shared, over: span, &rng)
        let clipColor = transform.augment ? ColorAugment.random(rng: &rng) : .none
        let frameSize = s * s
        var clip = [Float](repeating: 0, count: images.isEmpty ? 0 : 3 * sampler.clipFrames * frameSize)
        for (t, image) in images.prefix(sampler.clipFrames).enumerated() {
            var planes = NetworkInput.planes(NetworkInput.crop(image, sharedMove.box(frame: indices.clip[t]), size: s))
            Augment.color(&planes, width: s, height: s, clipColor)
            NetworkInput.normalise(&planes)
            for ch in 0..<3 {
                let dst = (ch * sampler.clipFrames + t) * frameSize
                clip.replaceSubrange(dst..<(dst + frameSize), with: planes[(ch * frameSize)..<((ch + 1) * frameSize)])
            }
        }
        // The I-frame gets its own crop, flip and colour changes.
        let iBox = box(&rng)
        let iColor = transform.augment ? ColorAugment.random(rng: &rng) : .none
        var iPlanes: [Float] = []
        if !images.isEmpty {
            iPlanes = NetworkInput.planes(NetworkInput.crop(images[sampler.clipFrames], iBox, size: s))
            Augment.color(&iPlanes, width: s, height: s, iColor)
            NetworkInput.normalise(&iPlanes)
        }
        let ms = transform.motionSize
        let motionFrame = ms * ms
        let clamp = NetworkInput.motionClamp(size: ms)
        func motionClip(_ frames: ArraySlice<MotionField>, at numbers: [Int], _ b: MovingCrop) -> [Float] {
            var out = [Float](repeating: 0, count: 2 * frames.count * motionFrame)
            for (t, f) in frames.enumerated() {
                let n = numbers[t]
                let m = NetworkInput.crop(
                    f, b.box(frame: n), size: ms, clamp: clamp, shift: b.step(frame: n), growth: b.growth(frame: n))
                for ch in 0..<2 {
                    let dst = (ch * frames.count + t) * motionFrame
                    out.replaceSubrange(
                        dst..<(dst + motionFrame), with: m[(ch * motionFrame)..<((ch + 1) * motionFrame)])
                }
            }
            return out
        }
        let n = sampler.futureFrames
        let positive = motionClip(fields[0..<n], at: indices.positive, sharedMove)
        var negatives: [[Float]] = []
        var labels = paired.map { [$0.direction] }
        var others = Array(0..<MovePlan.count(zooms: transform.moveZooms == true)).filter { $0 != paired?.direction }
        for (k, frames) in indices.negatives.enumerated() {
            let b = motionBox(&rng)
            let span = frames[0]...frames.last!
            let m: MovingCrop
            if paired != nil {
                let label = others.remove(at: Int.random(in: 0..<others.count, using: &rng))
                labels?.append(label)
                m = MovingCrop.directed(
                    box: b, plan: MovePlan(direction: label, share: MovePlan.randomShare(&rng)), frames: span, width: w,
                    height: h)
            } else {
                m = move(b, over: span, &rng)
            }
            negatives.append(motionClip(fields[(n * (k + 1))..<(n * (k + 2))], at: frames, m))
        }
        return PretextExample(
            clip: clip, iFrame: iPlanes, positive: positive, negatives: negatives, indices: indices,
            cameraMove: sharedMove.isStill ? nil : sharedMove, moveLabels: labels)
    }
}
