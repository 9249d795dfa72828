import Foundation
import MediaIO
import Synth
import TestSupport
import Testing
import VideoData

@Suite("Scene-bias benchmark generator")
struct SynthTests {
    /// Three small procedural "photos" (distinct colours and textures).
    static func photos(_ n: Int = 9) -> [Photo] {
        (0..<n).map { k in
            var px = [UInt8](repeating: 0, count: 96 * 80 * 3)
            for y in 0..<80 {
                for x in 0..<96 {
                    let o = (y * 96 + x) * 3
                    px[o] = UInt8((x * 7 + k * 40) % 256)
                    px[o + 1] = UInt8((y * 5 + k * 90) % 256)
                    px[o + 2] = UInt8((x * y + k * 13) % 256)
                }
            }
            return Photo(name: "p\(k)", image: RGBImage(width: 96, height: 80, pixels: px))
        }
    }

    static func options(seed: UInt64 = 5, region: PhotoRegion = .all) -> SynthOptions {
        var o = SynthOptions()
        o.perClass = 2
        o.frames = 24
        o.width = 64
        o.height = 48
        o.seed = seed
        o.region = region
        return o
    }

    @Test("the plan is deterministic for a seed; in context each class keeps its photo, out of context never")
    func plan() throws {
        let a = try SynthPlan.videos(Self.options(), photos: Self.photos())
        let b = try SynthPlan.videos(Self.options(), photos: Self.photos())
        #expect(a.count == 9 * 2 * 2)
        #expect(a.map { SynthRecord($0).motion } == b.map { SynthRecord($0).motion })
        #expect(a.map(\.scene.backdrop.photoName) == b.map(\.scene.backdrop.photoName))
        let c = try SynthPlan.videos(Self.options(seed: 6), photos: Self.photos())
        #expect(a.map { SynthRecord($0).motion } != c.map { SynthRecord($0).motion })
        let own = SynthPlan.classPhotos(Self.options(), photos: Self.photos())
        #expect(Set(own.values).count == 9)
        for v in a {
            let mine = "p\(own[v.label]!)"
            if v.split == .inContext {
                #expect(v.scene.backdrop.photoName == mine)
            } else {
                #expect(v.scene.backdrop.photoName != mine)
            }
        }
        #expect(throws: SynthPlan.PlanError.self) { try SynthPlan.videos(Self.options(), photos: Self.photos(4)) }
    }

    @Test("train and test regions use the top and bottom halves of the photos")
    func regions() throws {
        for (region, lo, hi) in [(PhotoRegion.train, 0.0, 40.0), (.test, 40.0, 80.0)] {
            for v in try SynthPlan.videos(Self.options(region: region), photos: Self.photos()) {
                let b = v.scene.backdrop
                #expect(
                    b.y >= lo - 1e-9 && b.y + b.height <= hi + 1e-9, "\(region) \(v.relativePath): \(b.y)+\(b.height)")
            }
        }
    }

    @Test("every class moves the actor (or the camera) the way its name says")
    func trajectories() {
        var rng = SplitMix64(seed: 9)
        for kind in MotionClass.allCases {
            let m = Motion.random(kind, width: 160, height: 120, frames: 80, rng: &rng)
            let p0 = m.pose(frame: 0, frames: 80)
            let p1 = m.pose(frame: 10, frames: 80)
            let pEnd = m.pose(frame: 79, frames: 80)
            let moved = hypot(p1.x - p0.x, p1.y - p0.y)
            switch kind {
            case .orbit, .swing, .bounce, .drift, .zigzag:
                #expect(moved > 2, "\(kind) moved \(moved) px in 10 frames")
                #expect(p0.scale == 1 && p1.angle == 0 && p1.panX == 0)
            case .zoomIn:
                #expect(pEnd.scale / p0.scale > 1.7 && moved == 0)
            case .zoomOut:
                #expect(p0.scale / pEnd.scale > 1.7 && moved == 0)
            case .spin:
                #expect(abs(p1.angle) > 0.4 && moved == 0)
            case .pan:
                #expect(abs(p1.panX) > 7 && moved == 0)
            }
            if kind == .swing { #expect(p1.y == p0.y) }
            if kind == .bounce { #expect(p1.x == p0.x) }
        }
    }

    @Test("decouple synth: H.264 files with the expected labels, frames and types; the same videos for the same seed")
    func endToEnd() throws {
        let dir = Paths.temporaryDirectory("synth")
        let args = [
            "synth", "--per-class", "1", "--frames", "20", "--size", "96x64", "--seed", "3", "--region", "test",
        ]
        let r = try run(Paths.decouple, args + ["-o", dir + "/a"])
        #expect(r.status == 0, "\(r.stderr)")
        let labels = try String(contentsOfFile: dir + "/a/labels.csv", encoding: .utf8).split(separator: "\n")
        #expect(labels.first == "path,class,split")
        #expect(labels.count == 1 + 18)
        var motion: [String: Double] = [:]
        for line in labels.dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            #expect(f[0] == "\(f[2])/\(f[1])_000.mp4")
            let path = dir + "/a/" + f[0]
            let types = try FFmpegReference.frameTypes(path)
            #expect(types.count == 20)
            #expect(types.map(\.type) == (0..<20).map { $0 % 16 == 0 ? "I" : "P" }, "\(f[0])")
            // Motion vectors from our reader: every class makes some motion.
            let reader = try VideoReader(path: path)
            var covered = 0.0
            while let frame = try reader.next() {
                guard frame.info.pictureType == .p else { continue }
                let moving = frame.motionVectors.filter { $0.motionX != 0 || $0.motionY != 0 }
                covered += Double(moving.reduce(0) { $0 + Int($1.w) * Int($1.h) }) / (96 * 64)
            }
            motion[f[1] + "/" + f[2], default: 0] += covered / 18
        }
        for (key, share) in motion { #expect(share > 0.01, "\(key): moving area \(share)") }
        // The camera pan moves most of the frame; the actors alone move a small part.
        #expect(motion["pan/in-context"]! > 0.4)
        #expect(motion["orbit/in-context"]! < motion["pan/in-context"]!)
        let again = try run(Paths.decouple, args + ["-o", dir + "/b"])
        #expect(again.status == 0)
        // The same seed gives the same labels and plan, and decoded frames that agree but for a
        // few pixels. Not always the same bytes: on the team's machine one bottom-right
        // macroblock of a video sometimes encodes differently between runs (the RGB frames are
        // identical; 0.14-0.22 levels on average over the video where it happened, once 1.53
        // under a loaded `make test`, which failed a bound of 1 on that average). The YUV frames
        // libx264 receives are identical too (dumped on 2026-12-07); aligning the RGB input,
        // zeroing the frame's padding, `--jobs 1` and explicit single-thread lookahead did not
        // stop it. So the bound is on the share of values more than 2 levels apart (one
        // macroblock in every frame is 4 %), and two different videos are the control.
        #expect(
            FileManager.default.contents(atPath: dir + "/a/labels.csv")
                == FileManager.default.contents(atPath: dir + "/b/labels.csv"))
        func differing(_ a: String, _ b: String) throws -> Double {
            let (ra, rb) = (try VideoReader(path: a), try VideoReader(path: b))
            var (far, count) = (0, 0)
            while try ra.next() != nil, try rb.next() != nil {
                let (ia, ib) = (try ra.currentImage(), try rb.currentImage())
                far += zip(ia.pixels, ib.pixels).filter { abs(Int($0.0) - Int($0.1)) > 2 }.count
                count += ia.pixels.count
            }
            #expect(count == 20 * 96 * 64 * 3, "\(a)")
            return Double(far) / Double(max(1, count))
        }
        let paths = labels.dropFirst().map { String($0.split(separator: ",")[0]) }
        for p in paths {
            let share = try differing(dir + "/a/" + p, dir + "/b/" + p)
            #expect(share < 0.1, "\(p): \(share) of the values of the two runs differ by more than 2 levels")
        }
        #expect(try differing(dir + "/a/" + paths[0], dir + "/b/" + paths[1]) > 0.5)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/a/synth.json")))
                as? [String: Any])
        #expect((json["videos"] as? [Any])?.count == 18)
    }
}
