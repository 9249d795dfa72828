import Explorer
import VideoData

/// Deterministic inputs for the pure-model tests: no FFmpeg, no model, no terminal.
enum Fixtures {
    /// A 64x48 test picture: a horizontal colour gradient, a white square, a dark band.
    static func picture(width: Int = 64, height: Int = 48) -> RGBImage {
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let o = (y * width + x) * 3
                var (r, g, b) = (x * 255 / (width - 1), y * 255 / (height - 1), 255 - x * 255 / (width - 1))
                if (20..<36).contains(x) && (12..<28).contains(y) { (r, g, b) = (255, 255, 255) }
                if y >= height - 6 { (r, g, b) = (16, 16, 16) }
                px[o] = UInt8(r)
                px[o + 1] = UInt8(g)
                px[o + 2] = UInt8(b)
            }
        }
        return RGBImage(width: width, height: height, pixels: px)
    }

    static func vector(x: Int, y: Int, w: Int = 16, h: Int = 16, dx: Float, dy: Float, list1: Bool = false)
        -> MotionVector
    {
        // FFmpeg's motion points back to the source: forward motion (dx, dy) = -motion / 4.
        let mx = Int32((-dx * 4).rounded())
        let my = Int32((-dy * 4).rounded())
        let s: Int32 = list1 ? -1 : 1
        return MotionVector(
            source: list1 ? 1 : -1, w: UInt8(w), h: UInt8(h), srcX: Int16(x + w / 2), srcY: Int16(y + h / 2),
            dstX: Int16(x + w / 2), dstY: Int16(y + h / 2), motionX: s * mx, motionY: s * my, motionScale: 4)
    }

    /// 128x96 motion: each 16x16 block moves in a direction set by its position; one intra
    /// hole; a still block; a block whose two halves disagree.
    static func vectors() -> [MotionVector] {
        var vs: [MotionVector] = []
        let dirs: [(Float, Float)] = [(6, 0), (4, -4), (0, -6), (-4, -4), (-6, 0), (-4, 4), (0, 6), (4, 4)]
        for by in 0..<6 {
            for bx in 0..<8 {
                if bx == 3 && by == 2 { continue }  // intra
                if bx == 5 && by == 4 {
                    vs.append(vector(x: bx * 16, y: by * 16, w: 8, dx: 8, dy: 0))
                    vs.append(vector(x: bx * 16 + 8, y: by * 16, w: 8, dx: -8, dy: 0))
                    continue
                }
                if bx == 6 && by == 1 {
                    vs.append(vector(x: bx * 16, y: by * 16, dx: 0.25, dy: 0))
                    continue
                }
                let d = dirs[(bx + by) % 8]
                let gain: Float = by == 5 ? 5 : 1
                vs.append(vector(x: bx * 16, y: by * 16, dx: d.0 * gain, dy: d.1 * gain))
            }
        }
        return vs
    }

    static func view(index: Int, type: PictureType, key: Bool = false, vectors: [MotionVector]) -> FrameView {
        let frame = VideoFrame(
            info: FrameInfo(
                index: index, pts: Int64(index * 512), time: Double(index) / 25, pictureType: type, isKey: key,
                packetSize: 1234 + index),
            motionVectors: vectors)
        return FrameView(
            info: frame.info, vectors: vectors,
            summary: FrameMotionSummary(frame: frame, frameWidth: 128, frameHeight: 96),
            image: picture())
    }

    static func info(path: String, frames: Int = 48) -> VideoInfo {
        VideoInfo(
            path: path, fileSize: 1000, container: "mov,mp4", containerLongName: "QuickTime / MOV", codec: "h264",
            codecLongName: "H.264", profile: "High", width: 128, height: 96, pixelFormat: "yuv420p", fps: 25,
            timeBase: .init(num: 1, den: 12800), duration: Double(frames) / 25, frameCount: frames,
            declaredFrameCount: frames,
            bitRate: 1, hasReordering: true, keyFrameIndices: [0, 24], exportsMotionVectors: true)
    }

    /// GOP 24 with B-frames: I B B P B B P ...
    static func marks(frames: Int = 48) -> [FrameMark] {
        (0..<frames).map { i in
            let t: PictureType = i % 24 == 0 ? .i : (i % 3 == 0 ? .p : .b)
            // Motion builds up through each GOP; frame 30 is a cut (mostly intra) for the strip.
            return FrameMark(
                type: t, key: i % 24 == 0, coverage: i == 30 ? 0.15 : 0.9, meanLength: Float(i % 24) / 4)
        }
    }

    /// A state with two usable videos (scanned) and one broken file.
    static func state(
        width: Int = 120, height: Int = 40, caps: Capabilities = Capabilities(colors: 256, unicode: true),
        views: [String] = Fixtures.views
    )
        -> ExplorerState
    {
        var s = ExplorerState(
            width: width, height: height, caps: caps,
            paths: ["/videos/walk.mp4", "/videos/run.mp4", "/videos/broken.mp4"],
            modelDescription: "r2p1d tiny, random weights (seed 1)", views: views)
        for v in 0..<2 {
            s.videos[v].info = info(path: s.videos[v].path)
            s.videos[v].marks = marks()
            s.videos[v].scanDone = true
        }
        s.videos[2].error =
            "'/videos/broken.mp4' is not a video file FFmpeg can read (Invalid data found when processing input)."
        return s
    }

    /// Frames for the renderer: every index of videos 0 and 1 is available.
    static func frames(_ video: Int, _ index: Int) -> FrameView? {
        let type: PictureType = index % 24 == 0 ? .i : (index % 3 == 0 ? .p : .b)
        return view(index: index, type: type, key: index % 24 == 0, vectors: type == .i ? [] : vectors())
    }

    static let views = ["scene", "motion", "video"]

    /// Three embedded clips with fixed vectors in three views. Clip 0's top match by scene is
    /// clip 1 (same place), by motion clip 2 (same movement); clip 2's video view failed.
    static func embedded() -> [EmbeddedClip] {
        [
            EmbeddedClip(
                clip: ClipRef(video: 0, start: 0, length: 16, stride: 2),
                vectors: ["scene": [3, 1, 0, 0], "motion": [0, 1, 2, 0], "video": [3, 1, 0, 0]],
                sceneReliance: ["video": 0.42]),
            EmbeddedClip(
                clip: ClipRef(video: 1, start: 4, length: 16, stride: 2),
                vectors: ["scene": [2.8, 1.3, 0.2, 0], "motion": [2, 0, 0, 1], "video": [2.8, 1.3, 0.2, 0]],
                sceneReliance: ["video": 0.95]),
            EmbeddedClip(
                clip: ClipRef(video: 0, start: 20, length: 16, stride: 1),
                vectors: ["scene": [0, 0, 1, 1], "motion": [0.2, 1, 1.8, 0.1]],
                errors: ["video": "'/weights/missing.safetensors' does not exist."]),
        ]
    }
}
