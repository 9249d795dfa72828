import Embed
import Testing
import VideoData

/// The scene-bias benchmark's two baselines without learning.
@Suite("Descriptors")
struct DescriptorTests {
    /// A 16x16 block at (x, y) whose content moved by (dx, dy) pixels (FFmpeg: motion = src - dst).
    static func moved(x: Int, y: Int, dx: Int, dy: Int) -> MotionVector {
        let dstX = Int16(x + 8)
        let dstY = Int16(y + 8)
        return MotionVector(
            source: -1, w: 16, h: 16, srcX: dstX - Int16(dx), srcY: dstY - Int16(dy), dstX: dstX, dstY: dstY,
            motionX: Int32(-dx * 4), motionY: Int32(-dy * 4), motionScale: 4)
    }

    @Test("colour histogram: a two-colour image puts its area shares in two bins")
    func colour() {
        var px = [UInt8](repeating: 0, count: 4 * 4 * 3)
        for i in 0..<4 { px[3 * i] = 255 }  // 4 of 16 pixels red, the rest black
        let h = Descriptors.colorHistogram(RGBImage(width: 4, height: 4, pixels: px))
        #expect(h.count == 512)
        #expect(h[0] == 0.75)
        #expect(h[(7 * 8 + 0) * 8 + 0] == 0.25)
        #expect(h.reduce(0, +) == 1)
    }

    @Test(
        "motion histogram: direction and magnitude bins by area; uncovered cells are not counted; still blocks go to the still bin"
    )
    func motion() {
        // 32x16 frame, 4-px cells: the left block moves 2 px right, the right block is still.
        let f = MotionField(
            vectors: [Self.moved(x: 0, y: 0, dx: 2, dy: 0), Self.moved(x: 16, y: 0, dx: 0, dy: 0)], frameWidth: 32,
            frameHeight: 16)
        let h = Descriptors.motionHistogram([f])
        #expect(h.count == 33)
        // East is direction 0; 2 px lies in the magnitude bin [1.5, 3), the second.
        #expect(h[0 * 4 + 1] == 0.5)
        #expect(h[32] == 0.5)
        #expect(h.reduce(0, +) == 1)
        // 7 px down is south (direction 6), the last magnitude bin; a 2x2 grid keeps cells apart.
        let g = MotionField(vectors: [Self.moved(x: 0, y: 0, dx: 0, dy: 7)], frameWidth: 32, frameHeight: 32)
        let grid = Descriptors.motionHistogram([g], grid: 2)
        #expect(grid.count == 4 * 33)
        #expect(grid[6 * 4 + 3] == 1)
        // A field without vectors gives zeros, not NaN.
        #expect(
            Descriptors.motionHistogram([MotionField(vectors: [], frameWidth: 16, frameHeight: 16)]).allSatisfy {
                $0 == 0
            })
    }
}
