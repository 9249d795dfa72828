import Foundation

/// Broken and unusual inputs, each with the words its error sentence must contain.
public enum BadInputs {
    public struct Case: Sendable, CustomStringConvertible {
        public var name: String
        public var path: String
        /// Phrases the one-sentence error must contain.
        public var expected: [String]
        public var description: String { name }
    }

    /// Inputs that must be refused with one sentence and a non-zero exit.
    public static func refused() throws -> [Case] {
        let dir = Paths.scratch + "/bad"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func gen(_ name: String, _ args: [String]) throws -> String {
            try TestVideos.generated("bad_" + name) { out in
                try runChecked("ffmpeg", ["-v", "error", "-y"] + args.map { $0 == "OUT" ? out : $0 })
            }
        }
        let empty = dir + "/empty.mp4"
        precondition(FileManager.default.createFile(atPath: empty, contents: Data()), "cannot write \(empty)")
        let random = dir + "/random.mp4"
        // Fixed bytes, not fresh ones: some random draws probe as MPEG-PS with a video stream,
        // which is a different (also correct) sentence and made the test flaky.
        var state: UInt64 = 0x5EED_0B17_E5
        let noise = (0..<65536).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        precondition(FileManager.default.createFile(atPath: random, contents: Data(noise)), "cannot write \(random)")
        let src = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"]
        let full = try gen("full.mp4", src + ["-frames:v", "50", "-c:v", "libx264", "OUT"])
        let halfMoovAtEnd = dir + "/half_moov_at_end.mp4"
        try cut(full, to: halfMoovAtEnd)
        return [
            Case(name: "missing path", path: dir + "/no-such-video.mp4", expected: ["does not exist"]),
            Case(name: "directory", path: dir, expected: ["is a directory"]),
            Case(name: "empty file", path: empty, expected: ["is empty (0 bytes)"]),
            Case(name: "random bytes named .mp4", path: random, expected: ["is not a video file"]),
            Case(name: "MP4 cut in half (index at the end)", path: halfMoovAtEnd, expected: ["truncated", "moov"]),
            Case(
                name: "audio only",
                path: try gen("audio.m4a", ["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", "OUT"]),
                expected: ["has no video stream", "audio"]),
            Case(
                name: "MJPEG", path: try gen("mjpeg.avi", src + ["-frames:v", "10", "-c:v", "mjpeg", "OUT"]),
                expected: ["mjpeg", "no motion vectors"]),
            Case(
                name: "single-keyframe still",
                path: try gen("still.mp4", src + ["-frames:v", "1", "-c:v", "libx264", "OUT"]),
                expected: ["single frame", "no motion vectors"]),
            Case(
                name: "intra-only H.264",
                path: try gen("intra.mp4", src + ["-frames:v", "10", "-g", "1", "-c:v", "libx264", "OUT"]),
                expected: ["intra-only", "no motion vectors"]),
            Case(
                name: "zero-frame stream",
                path: try gen("zero.avi", src + ["-frames:v", "0", "-c:v", "libx264", "OUT"]),
                expected: ["video stream but no frames"]),
        ]
    }

    /// An MP4 with its index first (faststart), cut in half: the first half stays readable.
    public static func truncatedFaststart() throws -> String {
        let full = try TestVideos.generated("bad_fast.mp4") { out in
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "100",
                    "-c:v", "libx264", "-movflags", "+faststart", out,
                ])
        }
        let half = Paths.scratch + "/bad/half_faststart.mp4"
        try cut(full, to: half)
        return half
    }

    /// A Matroska file cut in half.
    public static func truncatedMatroska() throws -> String {
        let full = try TestVideos.generated("bad_full.mkv") { out in
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "100",
                    "-c:v", "libx264", out,
                ])
        }
        let half = Paths.scratch + "/bad/half.mkv"
        try cut(full, to: half)
        return half
    }

    static func cut(_ path: String, to out: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try FileManager.default.createDirectory(
            atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: out))
    }
}
