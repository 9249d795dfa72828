/// Which reference lists a motion field is built from.
public enum ReferenceLists: String, Sendable, CaseIterable, Codable {
    /// List 0 only (P-frames, and the list-0 half of B-frames): CMD's own choice, whose code
    /// asserts P-only MPEG-4 streams.
    case list0
    /// List 1 only (the backward half of B-frames), normalised to forward motion.
    case list1
    /// Both lists, each normalised to forward motion, averaged where both cover a cell.
    case both

    func accepts(_ v: MotionVector) -> Bool {
        switch self {
        case .list0: return !v.isList1
        case .list1: return v.isList1
        case .both: return true
        }
    }
}

/// Block motion vectors rasterised to a dense map, per pixel or per small cell.
///
/// Values are the forward motion of the content in pixels (`dst - src` for list 0; list-1
/// vectors negated, see `MotionVector.forwardMotion`). Cells no selected vector covers hold
/// zero and have `mask == 0`: intra blocks, I-frames and the area outside coded blocks.
///
/// Exported blocks are 16x16, 16x8, 8x16 or 8x8 on the 8-pixel grid (docs/ffmpeg.md §2), so for a
/// cell size of 1, 2, 4 or 8 every cell lies inside at most one block of each list and the
/// rasterisation is exact. Coarser display grids are `MotionGrid`'s job.
public struct MotionField: Sendable, Equatable {
    public static let allowedCellSizes = [1, 2, 4, 8]

    public let frameWidth: Int
    public let frameHeight: Int
    public let cellSize: Int
    /// `ceil(frameWidth / cellSize)` and `ceil(frameHeight / cellSize)`.
    public let columns: Int
    public let rows: Int
    /// Row-major `rows x columns`, pixels.
    public private(set) var dx: [Float]
    public private(set) var dy: [Float]
    /// Bit 0: a list-0 vector covers the cell; bit 1: a list-1 vector does.
    public private(set) var mask: [UInt8]

    public init(
        vectors: [MotionVector], frameWidth: Int, frameHeight: Int, cellSize: Int = 4,
        lists: ReferenceLists = .both
    ) {
        precondition(Self.allowedCellSizes.contains(cellSize), "cell size must be 1, 2, 4 or 8")
        precondition(frameWidth > 0 && frameHeight > 0, "frame size must be positive")
        self.frameWidth = frameWidth
        self.frameHeight = frameHeight
        self.cellSize = cellSize
        columns = (frameWidth + cellSize - 1) / cellSize
        rows = (frameHeight + cellSize - 1) / cellSize
        let n = columns * rows
        var sx = [Float](repeating: 0, count: n)
        var sy = [Float](repeating: 0, count: n)
        var count = [UInt8](repeating: 0, count: n)
        var mask = [UInt8](repeating: 0, count: n)
        for v in vectors where lists.accepts(v) {
            // Cells whose top-left corner lies inside the block, clipped to the frame.
            let c0 = max(0, Self.ceilDiv(v.blockLeft, cellSize))
            let c1 = min(columns, Self.ceilDiv(v.blockLeft + Int(v.w), cellSize))
            let r0 = max(0, Self.ceilDiv(v.blockTop, cellSize))
            let r1 = min(rows, Self.ceilDiv(v.blockTop + Int(v.h), cellSize))
            if c0 >= c1 || r0 >= r1 { continue }
            let m = v.forwardMotion
            let bit: UInt8 = v.isList1 ? 2 : 1
            for r in r0..<r1 {
                let row = r * columns
                for c in c0..<c1 {
                    sx[row + c] += m.dx
                    sy[row + c] += m.dy
                    count[row + c] &+= 1
                    mask[row + c] |= bit
                }
            }
        }
        for i in 0..<n where count[i] > 1 {
            sx[i] /= Float(count[i])
            sy[i] /= Float(count[i])
        }
        dx = sx
        dy = sy
        self.mask = mask
    }

    /// An all-zero field (an I-frame, or a codec without vectors).
    public static func empty(frameWidth: Int, frameHeight: Int, cellSize: Int = 4) -> MotionField {
        MotionField(vectors: [], frameWidth: frameWidth, frameHeight: frameHeight, cellSize: cellSize)
    }

    /// Fraction of cells covered by at least one selected vector.
    public var coverage: Double {
        guard !mask.isEmpty else { return 0 }
        return Double(mask.lazy.filter { $0 != 0 }.count) / Double(mask.count)
    }

    /// The CMD model input: channel-first `[2, rows, columns]` (dx then dy), each value
    /// clamped to ±`clamp` pixels and divided by `clamp` (docs/method.md §3: ±10 px to [-1, 1]).
    public func cmdNormalized(clamp: Float = 10) -> [Float] {
        var out = [Float](repeating: 0, count: 2 * dx.count)
        for i in 0..<dx.count {
            out[i] = min(max(dx[i], -clamp), clamp) / clamp
            out[dx.count + i] = min(max(dy[i], -clamp), clamp) / clamp
        }
        return out
    }

    /// Channel-first `[2, rows, columns]` in quarter pixels, rounded, as Int16 (compact storage).
    public func quarterPel() -> [Int16] {
        var out = [Int16](repeating: 0, count: 2 * dx.count)
        for i in 0..<dx.count {
            out[i] = Int16(clamping: Int((dx[i] * 4).rounded()))
            out[dx.count + i] = Int16(clamping: Int((dy[i] * 4).rounded()))
        }
        return out
    }

    static func ceilDiv(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? (a + b - 1) / b : -((-a) / b)
    }
}
