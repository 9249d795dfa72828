import Common
import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

@Suite("VideoReader: seeking, keyframes, images, threads")
struct ReaderTests {
    static let withB = Paths.asset("videos/tears_320x240.mp4")
    static let friday = Paths.asset("videos/friday_480p.mp4")

    static func all(_ path: String, _ options: ReaderOptions = ReaderOptions()) throws -> [VideoFrame] {
        let r = try VideoReader(path: path, options: options)
        var out: [VideoFrame] = []
        while let f = try r.next() { out.append(f) }
        return out
    }

    @Test("frame counts come from packets and match the decoded frames")
    func frameCounts() throws {
        for path in [Self.withB, Self.friday] {
            let r = try VideoReader(path: path)
            #expect(r.info.frameCount == (try Self.all(path)).count)
            #expect(r.info.hasReordering)
            #expect(r.info.keyFrameIndices.first == 0)
        }
    }

    @Test("seeking to any frame, forwards and backwards, gives what sequential decoding gives")
    func seekMatchesSequential() throws {
        for path in [Self.withB, Self.friday, try TestVideos.testsrc(width: 320, height: 240, bFrames: true, gop: 12)] {
            let sequential = try Self.all(path)
            let reader = try VideoReader(path: path)
            let n = sequential.count
            // Backwards steps, jumps across GOPs, the last frame, the first frame.
            for target in [n - 1, n / 2, n / 2 - 1, 13, 12, 11, 1, 0, n - 2, 37] where target < n {
                try reader.seek(toFrame: target)
                let f = try #require(try reader.next(), "no frame after seeking to \(target) in \(path)")
                #expect(f.info == sequential[target].info, "seek to \(target) in \(path)")
                #expect(
                    f.motionVectors == sequential[target].motionVectors, "vectors after seek to \(target) in \(path)")
                if target + 1 < n {
                    let g = try #require(try reader.next())
                    #expect(g.info.index == target + 1)
                    #expect(g.motionVectors == sequential[target + 1].motionVectors)
                }
            }
            #expect(throws: MediaError.self) { try reader.seek(toFrame: n) }
        }
    }

    @Test("the keyframes-only path returns exactly the I-frames, with the same pixels")
    func keyframesOnly() throws {
        for path in [Self.friday, Self.withB, try TestVideos.testsrc(width: 340, height: 256, bFrames: true, gop: 12)] {
            let full = try Self.all(path, ReaderOptions(images: .intra))
            let fast = try Self.all(path, ReaderOptions(frames: .intra, motionVectors: false, images: .intra))
            let iFrames = full.filter { $0.info.pictureType == .i }
            #expect(fast.map(\.info) == iFrames.map(\.info))
            #expect(fast.map(\.image) == iFrames.map(\.image))
            #expect(fast.allSatisfy { $0.image != nil })
            let idr = try Self.all(path, ReaderOptions(frames: .key, motionVectors: false))
            #expect(idr.map(\.info.index) == full.filter { $0.info.isKey }.map(\.info.index))
        }
    }

    @Test("RGB conversion agrees with the ffmpeg CLI's rgb24 output")
    func rgbMatchesFFmpeg() throws {
        for path in [Self.friday, Self.withB] {
            let reader = try VideoReader(path: path)
            _ = try reader.next()
            let ours = try reader.currentImage()
            let out = try runChecked(
                "ffmpeg", ["-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            let theirs = [UInt8](out.stdout)
            #expect(theirs.count == ours.pixels.count)
            var sum = 0
            var worst = 0
            for (a, b) in zip(ours.pixels, theirs) {
                let d = abs(Int(a) - Int(b))
                sum += d
                worst = max(worst, d)
            }
            let mean = Double(sum) / Double(theirs.count)
            // swscale's default (bicubic, fast chroma) and our exact-chroma bilinear path differ
            // only in chroma interpolation and rounding.
            #expect(mean < 1.5, "mean abs difference \(mean) on \(path)")
            let small = try reader.currentImage(width: 64, height: 48)
            #expect(small.width == 64 && small.height == 48)
        }
    }

    @Test("PNG from libavcodec's encoder decodes back to the same pixels")
    func pngRoundTrip() throws {
        let reader = try VideoReader(path: Self.withB)
        _ = try reader.next()
        let image = try reader.currentImage()
        let png = try PNGEncoder().encode(image, name: "test.png")
        let path = Paths.temporaryDirectory("png") + "/frame.png"
        try Data(png).write(to: URL(fileURLWithPath: path))
        let out = try runChecked("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        #expect([UInt8](out.stdout) == image.pixels)
    }

    @Test("frame threads are used only without B-frames, and then vectors stay identical")
    func frameThreads() throws {
        let pOnly = try TestVideos.testsrc(width: 320, height: 240, bFrames: false, gop: 250)
        let threaded = try VideoReader(path: pOnly, options: ReaderOptions(frameThreads: 2))
        #expect(threaded.decoderThreads == 2)
        var a: [[MotionVector]] = []
        while let f = try threaded.next() { a.append(f.motionVectors) }
        #expect(a == (try Self.all(pOnly)).map(\.motionVectors))
        let withB = try VideoReader(path: Self.withB, options: ReaderOptions(frameThreads: 2))
        #expect(withB.decoderThreads == 1)
    }

    @Test("skipping the P/B loop filter leaves every vector and every I-frame's pixels as they were")
    func skipLoopFilter() throws {
        for path in [Self.withB, try TestVideos.testsrc(width: 320, height: 240, bFrames: false, gop: 12)] {
            var options = ReaderOptions(images: .intra)
            options.skipInterLoopFilter = true
            let fast = try VideoReader(path: path, options: options)
            let plain = try VideoReader(path: path, options: ReaderOptions(images: .intra))
            var frames = 0
            var differentPixels = 0
            while let a = try fast.next() {
                let b = try #require(try plain.next())
                #expect(a.motionVectors == b.motionVectors, "frame \(a.info.index)")
                #expect(a.image?.pixels == b.image?.pixels, "I-frame \(a.info.index)")
                frames += 1
                if a.info.pictureType != .i, try fast.currentImage().pixels != plain.currentImage().pixels {
                    differentPixels += 1
                }
            }
            #expect(frames > 30 && differentPixels > 0, "the option took effect: \(differentPixels) P/B frames differ")
        }
    }

    @Test("segments that start at key frames, decoded side by side, equal one sequential decode")
    func parallelSegments() throws {
        let path = try TestVideos.testsrc(width: 340, height: 256, bFrames: true, gop: 12, frames: 120)
        let sequential = try Self.all(path)
        let reader = try VideoReader(path: path)
        let segments = SegmentPlan.split(0..<sequential.count, keyFrames: reader.info.keyFrameIndices, parts: 4)
        #expect(segments.count == 4)
        let index = reader.index
        let parts = runConcurrently(count: segments.count, jobs: 2) { s in
            let r = try! VideoReader(path: path, index: index)
            let range = segments[s]
            if range.lowerBound > 0 { try! r.seek(toFrame: range.lowerBound) }
            var got: [VideoFrame] = []
            while let f = try! r.next(), f.info.index < range.upperBound { got.append(f) }
            return got
        }
        let joined = parts.flatMap { $0 }
        #expect(joined.map(\.info) == sequential.map(\.info))
        #expect(joined.map(\.motionVectors) == sequential.map(\.motionVectors))
    }
}
