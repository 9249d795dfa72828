import Foundation
import VideoData

/// A named photo the generator cuts backgrounds and actor textures from.
public struct Photo: Sendable {
    public var name: String
    public var image: RGBImage
    public init(name: String, image: RGBImage) {
        self.name = name
        self.image = image
    }
}

/// The two splits of the scene-bias benchmark.
public enum SynthSplit: String, CaseIterable, Sendable, Codable {
    /// Each class is always filmed in front of its own photo: the scene alone predicts it.
    case inContext = "in-context"
    /// Backgrounds come from other classes' photos: only the motion predicts the class.
    case outOfContext = "out-of-context"
}

/// Which part of each photo may be used, so that a training set and an evaluation set share
/// no background or texture pixels.
public enum PhotoRegion: String, CaseIterable, Sendable, Codable {
    /// Top half of every photo.
    case train
    /// Bottom half.
    case test
    case all

    func rows(_ height: Int) -> Range<Double> {
        let h = Double(height)
        switch self {
        case .train: return 0..<(h / 2)
        case .test: return (h / 2)..<h
        case .all: return 0..<h
        }
    }
}

public struct SynthOptions: Sendable, Codable {
    public var classes: [MotionClass] = MotionClass.allCases
    public var perClass = 10
    public var frames = 80
    public var width = 160
    public var height = 120
    public var seed: UInt64 = 1
    public var region = PhotoRegion.all

    public init() {}
}

/// One video of the set, with everything needed to render it.
public struct SynthVideo: Sendable {
    public var name: String
    public var split: SynthSplit
    public var label: MotionClass
    public var scene: SceneRenderer

    /// `in-context/orbit_003.mp4`.
    public var relativePath: String { "\(split.rawValue)/\(name).mp4" }
}

/// The plan of a whole benchmark set: pure and deterministic for a seed.
public enum SynthPlan {
    public struct PlanError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Which photo backs each class in context (shuffled by the seed).
    public static func classPhotos(_ options: SynthOptions, photos: [Photo]) -> [MotionClass: Int] {
        var rng = SplitMix64(seed: options.seed ^ 0x5CE7_E000)
        let order = Array(photos.indices).shuffled(using: &rng)
        return Dictionary(uniqueKeysWithValues: options.classes.enumerated().map { ($1, order[$0]) })
    }

    public static func videos(_ options: SynthOptions, photos: [Photo]) throws -> [SynthVideo] {
        guard !options.classes.isEmpty else { throw PlanError(description: "no motion classes chosen") }
        guard photos.count >= options.classes.count else {
            throw PlanError(
                description:
                    "\(options.classes.count) classes need at least as many photos (one background photo per class); got \(photos.count)"
            )
        }
        guard photos.count >= 2 else {
            throw PlanError(description: "out-of-context backgrounds need at least two photos")
        }
        guard options.width % 2 == 0, options.height % 2 == 0, options.width >= 32, options.height >= 32 else {
            throw PlanError(description: "the frame size must be even and at least 32x32")
        }
        guard options.frames >= 2, options.perClass >= 1 else {
            throw PlanError(description: "need at least 2 frames and 1 video per class")
        }
        let own = classPhotos(options, photos: photos)
        var out: [SynthVideo] = []
        for split in SynthSplit.allCases {
            for (c, kind) in options.classes.enumerated() {
                for i in 0..<options.perClass {
                    // Each video has its own stream of random numbers: order-independent.
                    var rng = SplitMix64(
                        seed: options.seed &* 0x100_0000_01B3 ^ UInt64(c) << 32 ^ UInt64(i) << 8
                            ^ (split == .inContext ? 0 : 0xFF))
                    var photo = own[kind]!
                    if split == .outOfContext {
                        // Another class's photo (or any other photo when there are spare ones).
                        let others = photos.indices.filter { $0 != photo }
                        photo = others[rng.int(0..<others.count)]
                    }
                    let motion = Motion.random(
                        kind, width: options.width, height: options.height, frames: options.frames, rng: &rng)
                    let backdrop = makeBackdrop(photos[photo], motion: motion, options: options, rng: &rng)
                    var actor = makeActor(photos, options: options, rng: &rng)
                    actor.texture = contrasted(actor.texture, against: backdrop)
                    let scene = SceneRenderer(
                        width: options.width, height: options.height, backdrop: backdrop, actor: actor, motion: motion,
                        frames: options.frames)
                    out.append(
                        SynthVideo(
                            name: String(format: "%@_%03d", kind.rawValue, i), split: split, label: kind, scene: scene))
                }
            }
        }
        return out
    }

    /// A crop of the photo's allowed rows with the frame's aspect, leaving room for a pan.
    static func makeBackdrop(_ photo: Photo, motion: Motion, options: SynthOptions, rng: inout SplitMix64) -> Backdrop {
        let rows = options.region.rows(photo.image.height)
        let aspect = Double(options.width) / Double(options.height)
        let pw = Double(photo.image.width)
        var ch = min(rows.upperBound - rows.lowerBound, pw / aspect) * rng.uniform(0.6, 0.95)
        var cw = ch * aspect
        // Camera travel in photo pixels for a pan.
        var travel = motion.kind == .pan ? motion.rate * Double(options.frames) * cw / Double(options.width) : 0
        if cw + travel > pw {
            let shrink = pw / (cw + travel)
            ch *= shrink
            cw *= shrink
            travel *= shrink
        }
        var x = rng.uniform(0, max(0.001, pw - cw - travel))
        if motion.kind == .pan && motion.directionX < 0 { x += travel }
        let y = rng.uniform(rows.lowerBound, max(rows.lowerBound + 0.001, rows.upperBound - ch))
        return Backdrop(photo: photo.image, photoName: photo.name, x: x, y: y, width: cw, height: ch)
    }

    /// Shifts the texture's brightness away from the background's so the actor stays visible
    /// (a dark cut-out on a night sky would carry almost no motion vectors).
    static func contrasted(_ texture: RGBImage, against b: Backdrop) -> RGBImage {
        func luma(_ img: RGBImage, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> Double {
            var sum = 0.0
            var n = 0.0
            for y in stride(from: y0, to: y1, by: 2) {
                for x in stride(from: x0, to: x1, by: 2) {
                    let (r, g, bl) = img.pixel(x: x, y: y)
                    sum += 0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(bl)
                    n += 1
                }
            }
            return n > 0 ? sum / n : 128
        }
        let bx0 = max(0, Int(b.x))
        let by0 = max(0, Int(b.y))
        let bx1 = min(b.photo.width, Int(b.x + b.width))
        let by1 = min(b.photo.height, Int(b.y + b.height))
        let background = luma(b.photo, bx0, by0, max(bx0 + 1, bx1), max(by0 + 1, by1))
        let actor = luma(texture, 0, 0, texture.width, texture.height)
        let gap = actor - background
        guard abs(gap) < 60 else { return texture }
        // Move the actor to the far side: brighter on dark scenes, darker on bright ones.
        let shift = background < 128 ? 60 - gap : -60 - gap
        var out = texture
        for i in out.pixels.indices { out.pixels[i] = UInt8(min(255, max(0, Double(out.pixels[i]) + shift))) }
        return out
    }

    /// A silhouette with a texture cut from any photo's allowed rows, or a drawn pattern.
    static func makeActor(_ photos: [Photo], options: SynthOptions, rng: inout SplitMix64) -> Actor {
        let shape = ActorShape.allCases[rng.int(0..<ActorShape.allCases.count)]
        let size = 48
        let texture: RGBImage
        let name: String
        if rng.uniform(0, 1) < 0.3 {
            (texture, name) = pattern(size: size, rng: &rng)
        } else {
            let p = photos[rng.int(0..<photos.count)]
            let rows = options.region.rows(p.image.height)
            let side = min(Double(p.image.width), rows.upperBound - rows.lowerBound) * rng.uniform(0.2, 0.45)
            let x = rng.uniform(0, Double(p.image.width) - side)
            let y = rng.uniform(rows.lowerBound, rows.upperBound - side)
            var px = [UInt8](repeating: 0, count: size * size * 3)
            for ty in 0..<size {
                for tx in 0..<size {
                    let c = SceneRenderer.sample(
                        p.image, x + (Double(tx) + 0.5) * side / Double(size),
                        y + (Double(ty) + 0.5) * side / Double(size))
                    let o = (ty * size + tx) * 3
                    px[o] = c.0
                    px[o + 1] = c.1
                    px[o + 2] = c.2
                }
            }
            texture = RGBImage(width: size, height: size, pixels: px)
            name = p.name
        }
        let r = rng.uniform(0.12, 0.2) * Double(options.height)
        let aspect = rng.uniform(0.75, 1.33)
        return Actor(
            shape: shape, texture: texture, radiusX: r * aspect.squareRoot(), radiusY: r / aspect.squareRoot(),
            textureName: name)
    }

    /// Stripes or a checkerboard in two random colours, so some actors carry no photo at all.
    static func pattern(size: Int, rng: inout SplitMix64) -> (RGBImage, String) {
        let a = (UInt8(rng.int(0..<256)), UInt8(rng.int(0..<256)), UInt8(rng.int(0..<256)))
        let b = (UInt8(rng.int(0..<256)), UInt8(rng.int(0..<256)), UInt8(rng.int(0..<256)))
        let period = rng.int(4..<12)
        let checker = rng.next() & 1 == 0
        var px = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let on = checker ? ((x / period + y / period) & 1 == 0) : ((x + y) / period & 1 == 0)
                let c = on ? a : b
                let o = (y * size + x) * 3
                px[o] = c.0
                px[o + 1] = c.1
                px[o + 2] = c.2
            }
        }
        return (RGBImage(width: size, height: size, pixels: px), checker ? "checkerboard" : "stripes")
    }
}
