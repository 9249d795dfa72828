import MediaIO
import TestSupport
import Testing
import VideoData

/// A texture panned by a known number of pixels per frame: the vectors must say so, with the
/// right sign.
@Suite("Known global motion")
struct KnownMotionTests {
    /// Median of a list.
    func median(_ xs: [Float]) -> Float { xs.sorted()[xs.count / 2] }

    @Test("the dominant vector is +4 px right, then +4 px down")
    func dominantVector() throws {
        let reader = try VideoReader(path: try TestVideos.knownMotion())
        let leg = TestVideos.legFrames
        let step = Float(TestVideos.step)
        var checked = 0
        while let frame = try reader.next() {
            let i = frame.info.index
            // Skip the first frame of each leg: its reference straddles the turn.
            guard frame.info.pictureType == .p, i != 0, i != leg else { continue }
            let moves = frame.motionVectors.map(\.forwardMotion)
            let dx = median(moves.map(\.dx))
            let dy = median(moves.map(\.dy))
            if i < leg {
                #expect(dx == step && dy == 0, "frame \(i): median motion (\(dx), \(dy)), want (\(step), 0)")
            } else {
                #expect(dx == 0 && dy == step, "frame \(i): median motion (\(dx), \(dy)), want (0, \(step))")
            }
            // The raw FFmpeg fields point from the block to its source: the opposite sign.
            let raw = frame.motionVectors.map { Float($0.motionX) / Float($0.motionScale) }
            if i < leg { #expect(median(raw) == -step) }
            checked += 1
        }
        #expect(checked == 2 * leg - 2)
    }

    @Test("the display grid shows → then ↓ in most cells")
    func gridArrows() throws {
        let reader = try VideoReader(path: try TestVideos.knownMotion())
        var shares: [(right: Double, down: Double)] = []
        while let frame = try reader.next() {
            guard frame.info.pictureType == .p else { continue }
            let field = MotionField(vectors: frame.motionVectors, frameWidth: 320, frameHeight: 240)
            let grid = MotionGrid(
                field: field, columns: 20, rows: MotionGrid.rows(forColumns: 20, frameWidth: 320, frameHeight: 240))
            var right = 0
            var down = 0
            for r in 0..<grid.rows {
                for c in 0..<grid.columns {
                    if case .motion(let d, _) = grid.kind(column: c, row: r) {
                        if d == .east { right += 1 }
                        if d == .south { down += 1 }
                    }
                }
            }
            let n = Double(grid.columns * grid.rows)
            shares.append((Double(right) / n, Double(down) / n))
        }
        let leg = TestVideos.legFrames
        // P-frames are frames 1..<2*leg; index k-1 in `shares`.
        for i in 2..<leg { #expect(shares[i - 1].right > 0.8, "frame \(i): \(shares[i - 1])") }
        for i in (leg + 2)..<(2 * leg) { #expect(shares[i - 1].down > 0.8, "frame \(i): \(shares[i - 1])") }
    }
}
