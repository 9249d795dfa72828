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
        // Without B-frames, frames 0-4, 60-61 and 108-110 (and one read ahead), against 0-110. With
        // them a seek lands one key frame early (the demuxer seeks by decoding time), so about a
        // GOP more per jump.
        #expect(
            sparse.framesDecoded < dense.framesDecoded / (bFrames ? 2 : 5),
            "\(sparse.framesDecoded) of \(dense.framesDecoded)")
    }
}
