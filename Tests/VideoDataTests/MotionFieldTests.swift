import Testing
import VideoData

/// A vector for a block whose top-left corner is (x, y), moving by (mx, my) quarter pixels in
/// FFmpeg's convention (src = dst + motion / scale).
func block(x: Int, y: Int, w: Int = 16, h: Int = 16, mx: Int32, my: Int32, list1: Bool = false) -> MotionVector {
    let dstX = Int16(x + w / 2)
    let dstY = Int16(y + h / 2)
    return MotionVector(
        source: list1 ? 1 : -1, w: UInt8(w), h: UInt8(h), srcX: dstX + Int16(mx / 4), srcY: dstY + Int16(my / 4),
        dstX: dstX, dstY: dstY, motionX: mx, motionY: my, motionScale: 4)
}

@Suite("MotionVector, MotionField")
struct MotionFieldTests {
    @Test("dst - src is the negated motion; list 1 is negated again for forward motion")
    func signs() {
        let v = block(x: 0, y: 0, mx: -10, my: 6)
        #expect(v.dstMinusSrc == (2.5, -1.5))
        #expect(v.forwardMotion == (2.5, -1.5))
        let b = block(x: 0, y: 0, mx: -10, my: 6, list1: true)
        #expect(b.forwardMotion == (-2.5, 1.5))
        #expect(v.blockLeft == 0 && v.blockTop == 0)
    }

    @Test("a 16x16 block fills exactly its 4x4 cells; the rest is zero with mask 0")
    func rasterise() {
        let f = MotionField(vectors: [block(x: 16, y: 8, mx: -8, my: 0)], frameWidth: 64, frameHeight: 32, cellSize: 4)
        #expect(f.columns == 16 && f.rows == 8)
        for r in 0..<8 {
            for c in 0..<16 {
                let inside = (4..<8).contains(c) && (2..<6).contains(r)
                #expect(f.mask[r * 16 + c] == (inside ? 1 : 0))
                #expect(f.dx[r * 16 + c] == (inside ? 2 : 0))
                #expect(f.dy[r * 16 + c] == 0)
            }
        }
        #expect(f.coverage == 16.0 / 128.0)
    }

    @Test("per-pixel fields, clipping at frame edges, odd frame sizes")
    func perPixelAndClipping() {
        // A block hanging over the right and bottom edge of a 20x10 frame.
        let f = MotionField(vectors: [block(x: 16, y: 8, mx: 4, my: 4)], frameWidth: 20, frameHeight: 10, cellSize: 1)
        #expect(f.columns == 20 && f.rows == 10)
        #expect(f.mask.filter { $0 != 0 }.count == 4 * 2)
        #expect(f.dx[9 * 20 + 19] == -1 && f.dy[9 * 20 + 19] == -1)
        // A block entirely outside contributes nothing.
        let g = MotionField(vectors: [block(x: 32, y: 0, mx: 4, my: 4)], frameWidth: 20, frameHeight: 10, cellSize: 2)
        #expect(g.mask.allSatisfy { $0 == 0 })
        #expect(g.columns == 10 && g.rows == 5)
    }

    @Test("reference lists: select, negate list 1, average where both cover")
    func lists() {
        let v0 = block(x: 0, y: 0, mx: -8, my: 0)  // forward +2 px
        let v1 = block(x: 0, y: 0, mx: -16, my: 0, list1: true)  // forward -4 px (future reference)
        let both = MotionField(vectors: [v0, v1], frameWidth: 16, frameHeight: 16, cellSize: 8, lists: .both)
        #expect(both.dx == [-1, -1, -1, -1])
        #expect(both.mask == [3, 3, 3, 3])
        let only0 = MotionField(vectors: [v0, v1], frameWidth: 16, frameHeight: 16, cellSize: 8, lists: .list0)
        #expect(only0.dx == [2, 2, 2, 2] && only0.mask == [1, 1, 1, 1])
        let only1 = MotionField(vectors: [v0, v1], frameWidth: 16, frameHeight: 16, cellSize: 8, lists: .list1)
        #expect(only1.dx == [-4, -4, -4, -4] && only1.mask == [2, 2, 2, 2])
    }

    @Test("CMD normalisation clamps to ±10 px and divides by 10, channel first")
    func cmd() {
        let f = MotionField(
            vectors: [block(x: 0, y: 0, w: 8, h: 8, mx: -200, my: 12), block(x: 8, y: 0, w: 8, h: 8, mx: 400, my: -4)],
            frameWidth: 16, frameHeight: 8, cellSize: 8)
        #expect(f.cmdNormalized() == [1, -1, -0.3, 0.1])
        #expect(f.quarterPel() == [200, -400, -12, 4])
    }
}

@Suite("MotionGrid and arrows")
struct MotionGridTests {
    @Test("directions use screen coordinates: y points down")
    func directions() {
        #expect(Direction8(dx: 1, dy: 0) == .east)
        #expect(Direction8(dx: 0, dy: -1) == .north)
        #expect(Direction8(dx: 0, dy: 1) == .south)
        #expect(Direction8(dx: -1, dy: 0) == .west)
        #expect(Direction8(dx: 1, dy: -1) == .northEast)
        #expect(Direction8(dx: -1, dy: 1) == .southWest)
        #expect(Direction8(dx: 1, dy: 0.3) == .east)
        #expect(Direction8(dx: 1, dy: 0.5) == .southEast)
        #expect(Direction8.south.arrow == "↓" && Direction8.east.asciiArrow == ">")
    }

    @Test("uniform motion: every cell points the same way with full coverage and coherence")
    func uniform() {
        var vs: [MotionVector] = []
        for y in stride(from: 0, to: 64, by: 16) {
            for x in stride(from: 0, to: 64, by: 16) { vs.append(block(x: x, y: y, mx: 0, my: -12)) }
        }
        let g = MotionGrid(field: MotionField(vectors: vs, frameWidth: 64, frameHeight: 64), columns: 3, rows: 3)
        for r in 0..<3 {
            for c in 0..<3 {
                #expect(g[c, r].coverage == 1)
                #expect(abs(g[c, r].coherence - 1) < 1e-6)
                #expect(g.kind(column: c, row: r) == .motion(.south, magnitude: 3))
            }
        }
    }

    @Test("coverage is area-exact with fractional cell edges; intra, zero and mixed cells")
    func kinds() {
        // 48x16 frame, 3 blocks: left moves right, middle is intra (no vector), right splits in
        // two 8x16 halves moving in opposite directions.
        let vs = [
            block(x: 0, y: 0, mx: -8, my: 0),
            block(x: 32, y: 0, w: 8, h: 16, mx: -8, my: 0),
            block(x: 40, y: 0, w: 8, h: 16, mx: 8, my: 0),
        ]
        let f = MotionField(vectors: vs, frameWidth: 48, frameHeight: 16)
        let g = MotionGrid(field: f, columns: 3, rows: 1)
        #expect(g.kind(column: 0, row: 0) == .motion(.east, magnitude: 2))
        #expect(g.kind(column: 1, row: 0) == .intra)
        #expect(g.kind(column: 2, row: 0) == .mixed)
        // Two display columns over 48 px: the boundary at 24 px cuts the middle block in half.
        let h = MotionGrid(field: f, columns: 2, rows: 1)
        #expect(abs(h[0, 0].coverage - 16.0 / 24.0) < 1e-6)
        #expect(abs(h[1, 0].coverage - 16.0 / 24.0) < 1e-6)
        let still = MotionGrid(
            field: MotionField(vectors: [block(x: 0, y: 0, mx: 1, my: 0)], frameWidth: 16, frameHeight: 16), columns: 1,
            rows: 1)
        #expect(still.kind(column: 0, row: 0) == .zero)
        let none = MotionGrid(field: .empty(frameWidth: 16, frameHeight: 16), columns: 1, rows: 1)
        #expect(none.kind(column: 0, row: 0) == .noData)
    }

    @Test("grid rows keep cells square on a 1:2 terminal cell")
    func rowsForColumns() {
        #expect(MotionGrid.rows(forColumns: 40, frameWidth: 320, frameHeight: 240) == 15)
        #expect(MotionGrid.rows(forColumns: 64, frameWidth: 1280, frameHeight: 720) == 18)
    }
}
