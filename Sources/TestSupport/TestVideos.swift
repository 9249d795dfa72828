import Foundation

/// Videos made with the ffmpeg CLI for tests, generated once per test process.
public enum TestVideos {
    private static let cache = Cache()

    /// An H.264 clip of ffmpeg's `testsrc2` pattern (moving parts on a static chart).
    public static func testsrc(width: Int, height: Int, bFrames: Bool, gop: Int, frames: Int = 60) throws -> String {
        let name = "testsrc2_\(width)x\(height)_g\(gop)_\(bFrames ? "bdef" : "b0")_\(frames).mp4"
        return try cache.path(name) { out in
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height):rate=25",
                    "-frames:v", "\(frames)", "-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p",
                    "-g", "\(gop)", "-bf", bFrames ? "3" : "0", out,
                ])
        }
    }

    /// Frames per leg and pixels per frame of `knownMotion`.
    public static let legFrames = 24
    public static let step = 4

    /// A real texture (assets/photos/gravel.jpg) seen through a 320x240 window that moves so
    /// the content moves right by `step` px per frame for `legFrames` frames, then down by
    /// `step` px per frame. P-frames only, one reference, so every vector spans one frame.
    public static func knownMotion() throws -> String {
        try cache.path("known_motion_right_then_down.mp4") { out in
            let n = legFrames
            let s = step
            let x = "if(lt(n,\(n)),\(40 + n * s)-\(s)*n,40)"
            let y = "if(lt(n,\(n)),\(40 + n * s),\(40 + n * s)-\(s)*(n-\(n)))"
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-loop", "1", "-i", Paths.asset("photos/gravel.jpg"),
                    "-vf", "crop=320:240:x='\(x)':y='\(y)',format=yuv420p", "-frames:v", "\(2 * n)",
                    "-r", "25", "-c:v", "libx264", "-preset", "medium", "-bf", "0", "-g", "250",
                    "-x264-params", "ref=1", out,
                ])
        }
    }

    /// A photo of assets/photos seen through a 160x120 window so the content moves `sign` x
    /// (right, then down) `step` px per frame, 24 frames each: `sign` -1 is the opposite move
    /// (left, then up), 0 a still video. x264 with a 16-frame GOP, no B-frames.
    public static func photoMove(_ photo: String, sign: Int) throws -> String {
        try cache.path("move_\(photo)_\(sign).mp4") { out in
            let n = legFrames
            let s = step * sign
            let x0 = 40 + n * step
            let x = "if(lt(n,\(n)),\(x0)-(\(s))*n,\(x0)-(\(s))*\(n))"
            let y = "if(lt(n,\(n)),\(x0),\(x0)-(\(s))*(n-\(n)))"
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-loop", "1", "-i", Paths.asset("photos/\(photo).jpg"),
                    "-vf", "crop=160:120:x='\(x)':y='\(y)',format=yuv420p", "-frames:v", "\(2 * n)",
                    "-r", "25", "-c:v", "libx264", "-preset", "medium", "-bf", "0", "-g", "16",
                    "-x264-params", "scenecut=0", out,
                ])
        }
    }

    /// Four short `decouple synth` videos, pan and spin, in and out of context (72 frames of
    /// 64x48, a key frame every 16): enough frames for a pretraining sample.
    public static func pretrainSet() throws -> [String] {
        let dir = try cache.path("synth_pan_spin_72") { out in
            try runChecked(
                Paths.decouple,
                [
                    "synth", "-o", out, "--per-class", "1", "--classes", "pan", "spin", "--frames", "72", "--size",
                    "64x48", "--seed", "4",
                ])
        }
        return [
            "in-context/pan_000.mp4", "in-context/spin_000.mp4", "out-of-context/pan_000.mp4",
            "out-of-context/spin_000.mp4",
        ]
        .map { dir + "/" + $0 }
    }

    /// Generates `name` with `make` into the scratch directory once; later calls reuse it.
    public static func generated(_ name: String, _ make: (String) throws -> Void) throws -> String {
        try cache.path(name, make)
    }

    final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var made: [String: String] = [:]

        func path(_ name: String, _ make: (String) throws -> Void) throws -> String {
            lock.lock()
            defer { lock.unlock() }
            if let p = made[name] { return p }
            let dir = Paths.scratch + "/videos"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let p = dir + "/" + name
            try? FileManager.default.removeItem(atPath: p)
            try make(p)
            made[name] = p
            return p
        }
    }
}

/// FFmpeg's own view of a video, from tools that share no code with Decouple's reader.
public enum FFmpegReference {
    /// Builds Tests/Reference/mvs_reference.c once (cc + pkg-config).
    public static func mvsTool() throws -> String {
        try TestVideos.generated("mvs_reference") { out in
            let flags = try runChecked("pkg-config", ["--cflags", "--libs", "libavformat", "libavcodec", "libavutil"])
                .text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            try runChecked("cc", ["-O2", "-o", out, Paths.root + "/Tests/Reference/mvs_reference.c"] + flags)
        }
    }

    /// The reference tool's CSV lines (header first).
    public static func mvsCSV(_ video: String) throws -> [Substring] {
        let out = try runChecked(try mvsTool(), [video])
        return out.text.split(separator: "\n")
    }

    /// `ffprobe -show_frames`: picture type letter and key flag of each frame, in output order.
    public static func frameTypes(_ video: String) throws -> [(type: String, key: Bool)] {
        let out = try runChecked(
            "ffprobe",
            [
                "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pict_type,key_frame",
                "-of", "csv=p=0", video,
            ])
        return out.text.split(separator: "\n").map { line in
            let f = line.split(separator: ",")
            // ffprobe prints fields in its own order: key_frame, pict_type.
            return (String(f[1]), f[0] == "1")
        }
    }
}
