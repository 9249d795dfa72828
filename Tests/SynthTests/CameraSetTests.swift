import Foundation
import Synth
import Testing
import VideoData

@Suite("Camera-move set: plan, paths and crops")
struct CameraSetTests {
    /// Sources shaped like the bundled footage (sizes as decoded for a 120-line output).
    static let sources = [
        CameraSource(name: "bunny.mp4", width: 640, height: 360, frames: 132),
        CameraSource(name: "friday.mp4", width: 480, height: 360, frames: 185),
        CameraSource(name: "tears.mp4", width: 320, height: 240, frames: 240),
        CameraSource(name: "flower.mp4", width: 480, height: 270, frames: 150),
        CameraSource(name: "shots.mp4", width: 432, height: 180, frames: 480),
    ]

    static func options(seed: UInt64 = 3, perClass: Int = 8) -> CameraOptions {
        var o = CameraOptions()
        o.seed = seed
        o.perClass = perClass
        return o
    }

    @Test("every move has gallery and query videos; in context over its own home scenes, out of context never")
    func plan() throws {
        let plan = try CameraPlan(Self.options(), sources: Self.sources)
        // 1 + 2 + 3 + 1 + 6 segments of 80 frames.
        #expect(plan.scenes.count == 13)
        #expect(plan.videos.count == 7 * 8 * 2)
        for kind in CameraMove.allCases {
            let mine = plan.videos.filter { $0.label == kind }
            #expect(mine.filter { $0.split == .inContext }.count == 8, "\(kind)")
            #expect(mine.filter { $0.split == .outOfContext }.count == 8, "\(kind)")
            #expect(plan.scenes.contains { $0.home == kind }, "\(kind) has no home scene")
            // Queries cover every other class's home scenes (8 queries, 6 other classes).
            let owners = Set(mine.filter { $0.split == .outOfContext }.map { plan.scenes[$0.scene].home })
            #expect(owners.count == 6 && !owners.contains(kind), "\(kind): \(owners)")
        }
        for v in plan.videos {
            let home = plan.scenes[v.scene].home
            #expect((home == v.label) == (v.split == .inContext), "\(v.relativePath) over a \(home) scene")
            #expect(plan.scenes[v.scene].start + 80 <= Self.sources[plan.scenes[v.scene].source].frames)
        }
        // Segments of one source never overlap.
        for (a, b) in zip(plan.scenes, plan.scenes.dropFirst()) where a.source == b.source {
            #expect(b.start - a.start >= 80)
        }
        let csv = plan.labelsCSV.split(separator: "\n")
        #expect(csv.first == "path,class,split" && csv.count == 1 + 112)
        #expect(csv.contains("out-of-context/zoom-in_007.mp4,zoom-in,out-of-context"))
    }

    @Test("the same seed gives the same plan; another seed another one")
    func determinism() throws {
        let a = try CameraPlan(Self.options(), sources: Self.sources)
        let b = try CameraPlan(Self.options(), sources: Self.sources)
        let c = try CameraPlan(Self.options(seed: 4), sources: Self.sources)
        #expect(a.scenes == b.scenes && a.videos.map(\.path) == b.videos.map(\.path))
        #expect(a.videos.map(\.scene) == b.videos.map(\.scene))
        #expect(a.videos.map(\.path) != c.videos.map(\.path))
    }

    @Test("a source shorter than one segment, or fewer scenes than classes, is one sentence naming the problem")
    func planErrors() {
        var short = Self.sources
        short.append(CameraSource(name: "short.mp4", width: 320, height: 240, frames: 48))
        #expect {
            try CameraPlan(Self.options(), sources: short)
        } throws: { "\($0)".contains("'short.mp4' has 48 frames, fewer than the 80") }
        #expect {
            try CameraPlan(Self.options(), sources: [Self.sources[2]])
        } throws: { "\($0)".contains("3 scenes of 80 frames, fewer than the 7 classes") }
    }

    @Test("random paths stay inside the source for every frame, at the documented speeds")
    func pathsStayInside() {
        var rng = SplitMix64(seed: 11)
        for source in Self.sources {
            for kind in CameraMove.allCases {
                for _ in 0..<20 {
                    let p = CameraPath.random(
                        kind, sourceWidth: source.width, sourceHeight: source.height, outputWidth: 160,
                        outputHeight: 120, frames: 80, rng: &rng)
                    for f in [0, 40, 79] {
                        let w = p.window(frame: f)
                        #expect(w.x >= -1e-9 && w.y >= -1e-9, "\(kind) \(source.name) frame \(f): \(w)")
                        #expect(
                            w.x + w.width <= Double(source.width) + 1e-9
                                && w.y + w.height <= Double(source.height) + 1e-9,
                            "\(kind) \(source.name) frame \(f): \(w)")
                        #expect(abs(w.width / w.height - 4.0 / 3) < 1e-9)
                    }
                    switch kind {
                    case .still: #expect(p.speed == 0 && p.window(frame: 79) == p.start)
                    case .panLeft, .panRight: #expect(CameraPath.panSpeeds.contains(p.speed))
                    case .tiltUp, .tiltDown: #expect(CameraPath.tiltSpeeds.contains(p.speed))
                    case .zoomIn, .zoomOut: #expect(CameraPath.zoomRates.contains(p.speed))
                    }
                }
            }
        }
    }

    /// A still frame with a texture that has no repeats (hashed pixels).
    static func texture(_ w: Int, _ h: Int) -> RGBImage {
        var rng = SplitMix64(seed: 5)
        return RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8(rng.next() & 255) })
    }

    @Test("pans and tilts of a still frame shift the picture by the speed each frame; still stays still")
    func shifts() {
        let source = Self.texture(200, 160)
        let start = CropWindow(x: 60, y: 50, width: 64, height: 48)
        // Window size = output size: one source pixel per output pixel, so shifts are exact.
        for (kind, dx, dy) in [
            (CameraMove.panRight, -2, 0), (.panLeft, 2, 0), (.tiltDown, 0, -2), (.tiltUp, 0, 2), (.still, 0, 0),
        ] {
            let path = CameraPath(
                kind: kind, speed: kind == .still ? 0 : 2, start: start, outputWidth: 64, outputHeight: 48)
            let first = CropRenderer.render(source, window: path.window(frame: 0), width: 64, height: 48)
            for f in [1, 5, 10] {
                let frame = CropRenderer.render(source, window: path.window(frame: f), width: 64, height: 48)
                // The content at (x, y) in frame 0 is at (x + dx*f, y + dy*f) in frame f.
                var same = true
                for y in 0..<48 {
                    for x in 0..<64 {
                        let (u, v) = (x + dx * f, y + dy * f)
                        guard u >= 0, u < 64, v >= 0, v < 48 else { continue }
                        if first.pixel(x: x, y: y) != frame.pixel(x: u, y: v) { same = false }
                    }
                }
                #expect(same, "\(kind) frame \(f)")
                if kind != .still { #expect(frame != first) }
            }
        }
    }

    @Test("zoom-in enlarges the picture about the window's centre, zoom-out shrinks it")
    func zooms() {
        // A white square 40 px wide, centred in a black 200x200 frame.
        var px = [UInt8](repeating: 0, count: 200 * 200 * 3)
        for y in 80..<120 { for x in 80..<120 { for c in 0..<3 { px[(y * 200 + x) * 3 + c] = 255 } } }
        let source = RGBImage(width: 200, height: 200, pixels: px)
        func squareWidth(_ img: RGBImage) -> Int {
            (0..<img.width).filter { img.pixel(x: $0, y: img.height / 2).0 > 127 }.count
        }
        let start = CropWindow(x: 20, y: 40, width: 160, height: 120)
        for kind in [CameraMove.zoomIn, .zoomOut] {
            let path = CameraPath(kind: kind, speed: 0.01, start: start, outputWidth: 160, outputHeight: 120)
            let widths = [0, 20, 40].map {
                squareWidth(CropRenderer.render(source, window: path.window(frame: $0), width: 160, height: 120))
            }
            #expect(widths[0] == 40, "\(widths)")
            // 1.01^20 = 1.22, 1.01^40 = 1.49 (within a pixel of rounding).
            let expected = [1.0, pow(1.01, 20), pow(1.01, 40)].map { kind == .zoomIn ? 40 * $0 : 40 / $0 }
            for (w, e) in zip(widths, expected) { #expect(abs(Double(w) - e) <= 1.5, "\(kind): \(widths)") }
            let w = path.window(frame: 40)
            #expect(abs(w.x + w.width / 2 - 100) < 1e-9 && abs(w.y + w.height / 2 - 100) < 1e-9)
        }
    }

    @Test("sources are decoded at most three output heights high, aspect kept, even")
    func decodeSize() {
        #expect(CameraSource.decodeSize(width: 1280, height: 720, outputHeight: 120) == (640, 360))
        #expect(CameraSource.decodeSize(width: 320, height: 240, outputHeight: 120) == (320, 240))
        #expect(CameraSource.decodeSize(width: 960, height: 540, outputHeight: 48) == (256, 144))
    }
}
