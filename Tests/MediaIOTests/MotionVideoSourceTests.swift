import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

@Suite("MotionVideoSource: a fetch jumps over GOPs it does not need and returns what one pass would")
struct MotionVideoSourceTests {
    @Test(
        "frames far apart: the same fields and pixels as one pass over every frame between, fewer frames decoded",
        arguments: [false, true])
    func skipsUnneededGOPs(bFrames: Bool) throws {
        // GOPs of 12 frames: frames 3-4, 60-61 and 110 leave four GOPs between each unneeded.
        let path = try TestVideos.testsrc(width: 320, height: 240, bFrames: bFrames, gop: 12, frames: 120)
        let rgb = [3, 61]
        let motion = [4, 60, 61, 110]
        let sparse = try MotionVideoSource(path: path)
        let (images, fields) = try sparse.fetch(rgb: rgb, motion: motion, cellSize: 4)

        // The reference: every frame from the first wanted to the last, in one pass.
        let dense = try MotionVideoSource(path: path)
        let every = Array(3...110)
        let all = try dense.fetch(rgb: every, motion: every, cellSize: 4)
        #expect(images == rgb.map { all.images[$0 - 3] })
        #expect(fields == motion.map { all.fields[$0 - 3] })
        #expect(
            fields.contains { $0.dx.contains { $0 != 0 } || $0.dy.contains { $0 != 0 } }, "the test video has motion")
        // Frames 0-4, 60-61 and 108-110 (and one read ahead), against 0-110. With B-frames too:
        // a seek lands on the key frame itself, not one earlier (the demuxer is given the key
        // packet's presentation time; its decoding time landed a key frame early, 35 frames).
        #expect(
            sparse.framesDecoded < dense.framesDecoded / 5,
            "\(sparse.framesDecoded) of \(dense.framesDecoded)")
    }
}
