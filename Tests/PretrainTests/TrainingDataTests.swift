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
        let (usable, skipped) = TrainingData.usableVideos([long, short, missing, long], sampler: sampler) {
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
}
