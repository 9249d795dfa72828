import Foundation
import VideoData

/// Hand-made descriptors, the scene-bias benchmark's baselines: one sees only the scene, one
/// only the motion. Neither learns anything.
public enum Descriptors {
    /// A joint RGB histogram of a keyframe, `bins` levels per channel (512 values for 8),
    /// normalised to sum 1: pure context.
    public static func colorHistogram(_ image: RGBImage, bins: Int = 8) -> [Float] {
        var h = [Float](repeating: 0, count: bins * bins * bins)
        let n = image.width * image.height
        for i in 0..<n {
            let r = Int(image.pixels[3 * i]) * bins / 256
            let g = Int(image.pixels[3 * i + 1]) * bins / 256
            let b = Int(image.pixels[3 * i + 2]) * bins / 256
            h[(r * bins + g) * bins + b] += 1
        }
        return h.map { $0 / Float(max(1, n)) }
    }

    /// Magnitude bin edges of the motion histogram, pixels per frame.
    static let magnitudeEdges: [Float] = [0.5, 1.5, 3, 6]

    /// An area-weighted histogram of motion vectors over a clip: for each cell of a
    /// `grid x grid` spatial layout, 8 directions x 4 magnitude bins plus a "still" bin
    /// (`grid^2 x 33` values), normalised to sum 1: pure motion, no learning.
    public static func motionHistogram(_ fields: [MotionField], grid: Int = 1) -> [Float] {
        let perCell = 8 * magnitudeEdges.count + 1
        var h = [Float](repeating: 0, count: grid * grid * perCell)
        var total: Float = 0
        for f in fields {
            for r in 0..<f.rows {
                for c in 0..<f.columns {
                    let k = r * f.columns + c
                    guard f.mask[k] != 0 else { continue }
                    let dx = f.dx[k]
                    let dy = f.dy[k]
                    let m = (dx * dx + dy * dy).squareRoot()
                    let cell = min(grid - 1, r * grid / f.rows) * grid + min(grid - 1, c * grid / f.columns)
                    var bin = 8 * magnitudeEdges.count  // still
                    if m >= magnitudeEdges[0] {
                        let dir = Direction8(dx: dx, dy: dy).rawValue
                        let level = max(0, (magnitudeEdges.lastIndex { m >= $0 } ?? 0))
                        bin = dir * magnitudeEdges.count + level
                    }
                    h[cell * perCell + bin] += 1
                    total += 1
                }
            }
        }
        return total > 0 ? h.map { $0 / total } : h
    }
}
