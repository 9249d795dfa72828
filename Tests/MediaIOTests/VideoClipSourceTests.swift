import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

@Suite("VideoClipSource: decoded frames by display index")
struct VideoClipSourceTests {
    /// Every frame's RGB from one sequential pass.
    static func sequential(_ path: String) throws -> [RGBImage] {
        let reader = try VideoReader(path: path, options: ReaderOptions(motionVectors: false, images: .all))
        var out: [RGBImage] = []
        while let f = try reader.next() { out.append(f.image!) }
        return out
    }

    @Test("any request (unsorted, repeated, backwards across calls) returns the sequential pass's pixels")
    func matchesSequentialDecoding() throws {
        let videos = [
            Paths.asset("videos/tears_320x240.mp4"),
            try TestVideos.testsrc(width: 320, height: 240, bFrames: true, gop: 12, frames: 60),
        ]
        for path in videos {
            let all = try Self.sequential(path)
            let source = try VideoClipSource(path: path)
            #expect(source.frameCount == all.count)
            #expect(source.width == all[0].width && source.height == all[0].height && source.fps > 0)
            let requests: [[Int]] = [
                [0, 4, 8, 12],
                [30, 2, 30, 17],  // unsorted with a repeat, going back before the last call
                [all.count - 1],
                [0],
                [13, 14, 15, 40, 41, 55],
            ]
            for request in requests {
                let got = try source.frames(at: request)
                #expect(got == request.map { all[$0] }, "\(path) frames \(request)")
            }
        }
    }

    @Test("a forward sweep over the ModelScope clips decodes each frame once and seeks only ahead to key frames")
    func forwardSweep() throws {
        let path = Paths.asset("videos/tears_320x240.mp4")
        let source = try VideoClipSource(path: path)
        let windows = ClipSampler.modelScope(frameCount: source.frameCount)
        let needed = Set(windows.flatMap { $0.indices(frameCount: source.frameCount) }).sorted()
        var got: [RGBImage] = []
        for start in stride(from: 0, to: needed.count, by: 16) {
            got += try source.frames(at: Array(needed[start..<min(start + 16, needed.count)]))
        }
        #expect(got.count == needed.count)
        // Decoding stops at the last frame needed; no frame is decoded twice.
        #expect(source.decodedFrames == needed.last! + 1)
        let keys = source.info.keyFrameIndices.filter { $0 > 0 && $0 <= needed.last! }
        #expect(source.seeks <= keys.count, "\(source.seeks) seeks with key frames \(keys)")

        // A GOP-12 video with sparse frames: seeking to key frames skips decoding.
        let gop = try TestVideos.testsrc(width: 320, height: 240, bFrames: true, gop: 12, frames: 60)
        let sparse = try VideoClipSource(path: gop)
        _ = try sparse.frames(at: [1, 25, 50])
        #expect(sparse.seeks >= 1)
        #expect(sparse.decodedFrames < 50)
    }

    @Test("indices outside the video and a file cut short fail with a sentence naming the file")
    func badRequests() throws {
        let path = Paths.asset("videos/tears_320x240.mp4")
        let source = try VideoClipSource(path: path)
        let error = try #require(throws: MediaError.self) { try source.frames(at: [3, 240]) }
        #expect(error.description.contains(path) && error.description.contains("no frame 240"))
        #expect(throws: MediaError.self) { try source.frames(at: [-1]) }
        #expect(throws: MediaError.self) { try VideoClipSource(path: Paths.asset("photos/missing.mp4")) }

        // A Matroska file cut in half keeps the frames before the cut; asking past it is an error.
        let half = try BadInputs.truncatedMatroska()
        let cut = try VideoClipSource(path: half)
        #expect(try cut.frames(at: [0, 1]).count == 2)
        #expect(cut.frameCount > 1)
    }
}

@Suite("VideoClipSource RGB against the ffmpeg CLI")
struct VideoClipSourceRGBTests {
    /// The Python reference of the embedding parity test decodes through this CLI path, so
    /// equality here is what lets that test compare everything after decoding tightly.
    @Test(
        "frames equal the ffmpeg CLI's rgb24 with each conversion's swscale flags (same FFmpeg libraries)",
        arguments: [(RGBConversion.accurate, "bilinear+accurate_rnd+full_chroma_int"), (.modelscope, "bilinear")])
    func matchesFFmpegCLI(rgb: RGBConversion, flags: String) throws {
        let path = Paths.asset("videos/tears_320x240.mp4")
        let source = try VideoClipSource(path: path, rgb: rgb)
        for index in [0, 8, 101] {
            let ours = try source.frames(at: [index])[0]
            let out = try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-i", path, "-vf", "select=eq(n\\,\(index))", "-vsync", "0", "-frames:v", "1",
                    "-sws_flags", flags, "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
                ])
            let theirs = [UInt8](out.stdout)
            var differing = 0
            var worst = 0
            for (a, b) in zip(ours.pixels, theirs) where a != b {
                differing += 1
                worst = max(worst, abs(Int(a) - Int(b)))
            }
            #expect(theirs.count == ours.pixels.count)
            #expect(differing == 0, "frame \(index): \(differing) bytes differ from ffmpeg's, worst by \(worst)")
        }
    }

    @Test("the two conversions differ (by about a grey level on average), so a model must say which it was trained on")
    func conversionsDiffer() throws {
        let path = Paths.asset("videos/tears_320x240.mp4")
        let accurate = try VideoClipSource(path: path, rgb: .accurate).frames(at: [8])[0].pixels
        let modelscope = try VideoClipSource(path: path, rgb: .modelscope).frames(at: [8])[0].pixels
        let total = zip(accurate, modelscope).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        let mean = Double(total) / Double(accurate.count)
        #expect(mean > 0.1 && mean < 5, "mean difference \(mean)")
    }
}
