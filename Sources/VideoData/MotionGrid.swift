import Foundation

/// A coarse grid of motion cells for display (the TUI's arrow grid, docs/terminal.md §2.2).
///
/// Each display cell covers a rectangle of the frame (fractional edges allowed). It aggregates
/// the cells of a fine `MotionField` by exact area overlap:
/// - `coverage`: inter-coded area / cell area inside the frame;
/// - `dx, dy`: area-weighted mean forward motion over the covered area, pixels;
/// - `coherence`: |mean vector| / mean |vector|, 1 when all vectors agree, near 0 when they
///   cancel out.
public struct MotionGrid: Sendable, Equatable {
    public struct Cell: Sendable, Equatable {
        public var dx: Float
        public var dy: Float
        public var coverage: Float
        public var coherence: Float
        /// Area-weighted mean of |vector| over the covered area, pixels.
        public var meanLength: Float

        public var magnitude: Float { (dx * dx + dy * dy).squareRoot() }
    }

    /// What a display cell shows.
    public enum Kind: Equatable, Sendable {
        /// The frame has no vectors at all (I-frame, or a codec that exports none).
        case noData
        /// Mostly intra-coded (coverage below the threshold).
        case intra
        /// Motion below the zero threshold (quarter-pel noise, skip blocks).
        case zero
        /// Vectors disagree: the mean would mislead.
        case mixed
        /// Coherent motion in one of eight directions.
        case motion(Direction8, magnitude: Float)
    }

    public let columns: Int
    public let rows: Int
    public private(set) var cells: [Cell]
    /// True when the frame carried vectors (false for I-frames).
    public let hasVectors: Bool

    /// Aggregates `field` into `columns x rows` display cells covering the whole frame.
    public init(field: MotionField, columns: Int, rows: Int) {
        precondition(columns > 0 && rows > 0, "grid needs at least one cell")
        self.columns = columns
        self.rows = rows
        hasVectors = field.mask.contains { $0 != 0 }
        let cs = Double(field.cellSize)
        let fw = Double(field.frameWidth)
        let fh = Double(field.frameHeight)
        // Separable overlap weights: fine column j against display column c, same for rows.
        let wx = Self.overlaps(fine: field.columns, fineSize: cs, extent: fw, coarse: columns)
        let wy = Self.overlaps(fine: field.rows, fineSize: cs, extent: fh, coarse: rows)
        var cells = [Cell](
            repeating: Cell(dx: 0, dy: 0, coverage: 0, coherence: 0, meanLength: 0), count: columns * rows)
        for r in 0..<rows {
            for c in 0..<columns {
                var area = 0.0
                var covered = 0.0
                var sx = 0.0
                var sy = 0.0
                var sm = 0.0
                for (j, ay) in wy[r] {
                    for (i, ax) in wx[c] {
                        let a = ax * ay
                        area += a
                        let k = j * field.columns + i
                        if field.mask[k] != 0 {
                            let vx = Double(field.dx[k])
                            let vy = Double(field.dy[k])
                            covered += a
                            sx += a * vx
                            sy += a * vy
                            sm += a * (vx * vx + vy * vy).squareRoot()
                        }
                    }
                }
                var cell = Cell(dx: 0, dy: 0, coverage: 0, coherence: 0, meanLength: 0)
                if area > 0 { cell.coverage = Float(covered / area) }
                if covered > 0 {
                    cell.dx = Float(sx / covered)
                    cell.dy = Float(sy / covered)
                    let meanLen = sm / covered
                    cell.meanLength = Float(meanLen)
                    cell.coherence = meanLen > 0 ? Float((sx * sx + sy * sy).squareRoot() / covered / meanLen) : 1
                }
                cells[r * columns + c] = cell
            }
        }
        self.cells = cells
    }

    public subscript(column: Int, row: Int) -> Cell { cells[row * columns + column] }

    /// Classifies a cell (docs/terminal.md §2.2 thresholds by default).
    public func kind(
        column: Int, row: Int, minCoverage: Float = 0.5, zeroBelow: Float = 0.5,
        minCoherence: Float = 0.3
    ) -> Kind {
        guard hasVectors else { return .noData }
        let cell = self[column, row]
        if cell.coverage < minCoverage { return .intra }
        // Opposite vectors cancel in the mean: judge "still" by the mean length instead.
        if cell.meanLength < zeroBelow { return .zero }
        if cell.coherence < minCoherence { return .mixed }
        let m = cell.magnitude
        return .motion(Direction8(dx: cell.dx, dy: cell.dy), magnitude: m)
    }

    /// The grid shape for a pane `columns` wide so that each cell covers a square patch of the
    /// frame, given that a terminal cell is about twice as tall as wide (docs/terminal.md §2.2).
    public static func rows(forColumns columns: Int, frameWidth: Int, frameHeight: Int) -> Int {
        max(1, Int((Double(columns) * Double(frameHeight) / (2 * Double(frameWidth))).rounded()))
    }

    /// For each coarse index, the fine indices that overlap it and the overlap length.
    static func overlaps(fine: Int, fineSize: Double, extent: Double, coarse: Int) -> [[(Int, Double)]] {
        let step = extent / Double(coarse)
        return (0..<coarse).map { c in
            let lo = Double(c) * step
            let hi = min(extent, Double(c + 1) * step)
            let first = max(0, Int(lo / fineSize))
            let last = min(fine - 1, Int((hi / fineSize).rounded(.up)) - 1)
            guard first <= last else { return [] }
            return (first...last).compactMap { j in
                let a = max(lo, Double(j) * fineSize)
                let b = min(hi, min(extent, Double(j + 1) * fineSize))
                return b > a ? (j, b - a) : nil
            }
        }
    }
}

/// One of eight compass directions on screen, where image y points down.
public enum Direction8: Int, Sendable, CaseIterable {
    case east = 0
    case northEast, north, northWest, west, southWest, south, southEast

    /// The 45° sector of the vector (dx, dy) in image coordinates: `atan2(-dy, dx)`.
    public init(dx: Float, dy: Float) {
        let angle = atan2Degrees(-Double(dy), Double(dx))
        let sector = Int(((angle + 22.5) / 45).rounded(.down)) % 8
        self = Direction8(rawValue: (sector + 8) % 8)!
    }

    public var arrow: Character { ["→", "↗", "↑", "↖", "←", "↙", "↓", "↘"][rawValue] }
    public var asciiArrow: Character { [">", "/", "^", "\\", "<", "/", "v", "\\"][rawValue] }
}

/// atan2 in degrees in [0, 360).
func atan2Degrees(_ y: Double, _ x: Double) -> Double {
    let a = atan2(y, x) * 180 / Double.pi
    return a < 0 ? a + 360 : a
}
