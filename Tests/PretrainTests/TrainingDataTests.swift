import Foundation
import MediaIO
import Pretrain
import TestSupport
import Testing

@Suite("Pretraining's data checks: usable videos, skipped samples, the loss summary")
struct TrainingDataTests {
    @Test("videos too short or unreadable are left out with one sentence each, in order")
    func usable() throws {
        let sampler = PretextSampler()
        let long = Paths.asset("videos/tears_320x240.mp4")
        let short = try TestVideos.testsrc(width: 64, height: 48, bFrames: false, gop: 8, frames: 12)
        let missing = Paths.scratch + "/missing.mp4"
        let (usable, skipped) = TrainingData.usableVideos([long, short, missing, long, short], sampler: sampler) {
            try MotionVideoSource(path: $0)
        }
        #expect(usable == [long, long])
        #expect(skipped.count == 2)
        #expect(
            skipped[0].contains(short) && skipped[0].contains("12 frames, pretraining needs \(sampler.minimumFrames)"))
        #expect(skipped[1].contains("missing.mp4"))
    }

    @Test("a video's first skipped sample is reported, the rest counted")
    func skippedSamples() {
        var skipped = SkippedSamples()
        let first = skipped.add("b.mp4: no I-frame within reach")
        let second = skipped.add("b.mp4: too short")
        let other = skipped.add("a.mp4: unreadable frame 3")
        #expect(first && !second && other)
        #expect(skipped.summary == ["skipped 1 samples of a.mp4", "skipped 2 samples of b.mp4"])
    }

    @Test("every clip has an I-frame nearby with a short GOP, not with x264's default; too short videos pass")
    func iFrameCoverage() {
        let sampler = PretextSampler()  // clips of 61 frames, I-frames within 5 of them
        #expect(sampler.coversEveryClip(frameCount: 300, iFrames: Array(stride(from: 0, to: 300, by: 16))))
        #expect(!sampler.coversEveryClip(frameCount: 300, iFrames: [0, 235]))
        #expect(sampler.coversEveryClip(frameCount: 220, iFrames: [0, 71, 142, 213]))
        #expect(!sampler.coversEveryClip(frameCount: 220, iFrames: [0, 72, 142, 213]))
        #expect(!sampler.coversEveryClip(frameCount: 300, iFrames: [0, 71, 142, 213]), "the end too")
        #expect(sampler.coversEveryClip(frameCount: 40, iFrames: [0]))
    }

    @Test("a long-GOP video re-encodes to an I-frame every 16 frames, every frame kept, cached by content")
    func shortGOP() throws {
        let long = try TestVideos.testsrc(width: 160, height: 120, bFrames: true, gop: 250, frames: 90)
        let dir = Paths.temporaryDirectory("short-gop")
        let (copy, made) = try ShortGOP.reencode(long, gop: 16, into: dir)
        #expect(made)
        let source = try MotionVideoSource(path: copy)
        #expect(source.frameCount == 90)
        #expect(try source.iFrameIndices() == Array(stride(from: 0, to: 90, by: 16)))
        #expect(PretextSampler().coversEveryClip(frameCount: 90, iFrames: try source.iFrameIndices()))
        #expect(try ShortGOP.reencode(long, gop: 16, into: dir) == (copy, false))
        // At most 60 lines high: a smaller copy, aspect kept, cached under its own name.
        let (small, madeSmall) = try ShortGOP.reencode(long, gop: 16, maxHeight: 60, into: dir)
        #expect(madeSmall && small != copy && small.hasSuffix("-gop16-h60.mp4"))
        let s = try MotionVideoSource(path: small)
        #expect(s.width == 80 && s.height == 60 && s.frameCount == 90)
        #expect(try s.iFrameIndices() == Array(stride(from: 0, to: 90, by: 16)))
        // No taller than the limit: the same copy as without one.
        #expect(try ShortGOP.reencode(long, gop: 16, maxHeight: 120, into: dir) == (copy, false))
        #expect(ShortGOP.size(width: 1280, height: 720, maxHeight: 360) == (640, 360))
        #expect(ShortGOP.size(width: 321, height: 240, maxHeight: 360) == (320, 240))
        // A tall video with a short GOP is copied only when a height limit asks for it.
        let tall = try TestVideos.testsrc(width: 160, height: 120, bFrames: false, gop: 16, frames: 90)
        var copied: [String] = []
        for limit in [nil, 120, 100] as [Int?] {
            let (usable, _) = TrainingData.usableVideos(
                [tall, tall], sampler: PretextSampler(), open: { try MotionVideoSource(path: $0) }, maxHeight: limit,
                reencode: {
                    copied.append("\(limit ?? 0)")
                    return $0 + ".copy"
                })
            #expect(usable == Array(repeating: limit == 100 ? tall + ".copy" : tall, count: 2))
        }
        #expect(copied == ["100"], "a video given twice is copied once")
    }
}
