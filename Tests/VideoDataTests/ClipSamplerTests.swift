import Testing
import VideoData

@Suite("Clip sampling: the ModelScope linspace-midpoint rule and clip windows")
struct ClipSamplerTests {
    @Test("worked examples of the ModelScope rule (numbers from numpy, see comments)")
    func modelScopeStarts() {
        // 240 frames (tears_320x240), clip length 61: linspace(0, 179, 11) has step 17.9, so the
        // midpoints are 8.95, 26.85, 44.75, 62.65, 80.55, 98.45, 116.35, 134.25, 152.15, 170.05.
        #expect(
            ClipSampler.modelScopeStarts(frameCount: 240, clipLength: 61, clips: 10) == [
                8, 26, 44, 62, 80, 98, 116, 134, 152, 170,
            ])
        // 132 frames (bigbuckbunny_720p): linspace(0, 71, 11), step 7.1: 3.55, 10.65, ... 67.45.
        #expect(
            ClipSampler.modelScopeStarts(frameCount: 132, clipLength: 61, clips: 10) == [
                3, 10, 17, 24, 31, 39, 46, 53, 60, 67,
            ])
        // One clip: linspace(0, 39, 2) = [0, 39], midpoint 19.5.
        #expect(ClipSampler.modelScopeStarts(frameCount: 100, clipLength: 61, clips: 1) == [19])
        // One frame longer than a clip: linspace(0, 1, 4) = [0, 1/3, 2/3, 1] -> 0.17, 0.5, 0.83 -> all 0.
        #expect(ClipSampler.modelScopeStarts(frameCount: 62, clipLength: 61, clips: 3) == [0, 0, 0])
        #expect(ClipSampler.modelScopeStarts(frameCount: 1000, clipLength: 61, clips: 4) == [117, 352, 586, 821])
    }

    @Test("a video no longer than a clip gives all-zero starts")
    func shortVideos() {
        for n in [1, 2, 30, 60, 61] {
            #expect(
                ClipSampler.modelScopeStarts(frameCount: n, clipLength: 61, clips: 10) == Array(repeating: 0, count: 10)
            )
        }
        #expect(ClipSampler.modelScope(frameCount: 61, clips: 2) == [ClipWindow(start: 0), ClipWindow(start: 0)])
    }

    @Test("indices at or past the end become frame 0, not the last frame")
    func indicesPastTheEnd() {
        let w = ClipWindow(start: 0, frames: 16, stride: 4)
        #expect(w.span == 61)
        // 50 frames: 0, 4, ..., 48 exist (13 indices), then 52, 56, 60 -> 0.
        #expect(w.indices(frameCount: 50) == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 0, 0, 0])
        #expect(ClipWindow(start: 5, frames: 4, stride: 3).indices(frameCount: 12) == [5, 8, 11, 0])
        #expect(ClipWindow(start: 3, frames: 16, stride: 4).indices(frameCount: 132).last == 63)
        #expect(w.indices(frameCount: 1) == Array(repeating: 0, count: 16))
    }

    @Test("frame and time ranges are clamped to the video, end exclusive")
    func ranges() {
        let w = ClipWindow(start: 8)
        #expect(w.frameRange(frameCount: 240) == 8..<69)
        #expect(w.timeRange(frameCount: 240, fps: 24) == (8.0 / 24)..<(69.0 / 24))
        #expect(ClipWindow(start: 0).frameRange(frameCount: 50) == 0..<50)
        #expect(ClipWindow(start: 0).timeRange(frameCount: 50, fps: 0) == 0..<0)
    }

    @Test("sliding windows tile the video from frame 0")
    func sliding() {
        #expect(ClipSampler.sliding(frameCount: 240).map(\.start) == [0, 61, 122])
        #expect(ClipSampler.sliding(frameCount: 240, hop: 30).map(\.start) == [0, 30, 60, 90, 120, 150])
        #expect(ClipSampler.sliding(frameCount: 40).map(\.start) == [0])
        #expect(ClipSampler.sliding(frameCount: 100, frames: 8, stride: 2).map(\.start) == [0, 15, 30, 45, 60, 75])
    }
}
