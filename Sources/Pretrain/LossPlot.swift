import VideoData

/// A plain loss-curve picture (the CLI saves it as PNG): context loss in red, motion loss in
/// blue, their weighted sum in black, each smoothed over 2 % of the steps; the y axis from 0
/// to the largest smoothed value, with its top value and the last step written in digits.
public enum LossPlot {
    public static func render(_ records: [TrainingRecord], width: Int = 640, height: Int = 360) -> RGBImage {
        var px = [UInt8](repeating: 255, count: width * height * 3)
        func put(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let o = (y * width + x) * 3
            px[o] = c.0
            px[o + 1] = c.1
            px[o + 2] = c.2
        }
        let left = 40
        let right = width - 10
        let top = 14
        let bottom = height - 24
        for x in left...right { put(x, bottom, (0, 0, 0)) }
        for y in top...bottom { put(left, y, (0, 0, 0)) }
        guard records.count >= 2 else { return RGBImage(width: width, height: height, pixels: px) }
        let window = max(1, records.count / 50)
        func smooth(_ v: [Double]) -> [Double] {
            var out: [Double] = []
            var sum = 0.0
            for (i, x) in v.enumerated() {
                sum += x
                if i >= window { sum -= v[i - window] }
                out.append(sum / Double(min(i + 1, window)))
            }
            return out
        }
        let series: [([Double], (UInt8, UInt8, UInt8))] = [
            (smooth(records.map(\.lossContext)), (200, 30, 30)),
            (smooth(records.map(\.lossMotion)), (30, 60, 200)),
            (smooth(records.map(\.loss)), (0, 0, 0)),
        ]
        let top0 = series.flatMap { $0.0 }.filter { $0.isFinite }.max() ?? 1
        let ymax = top0 > 0 ? top0 * 1.05 : 1
        let n = records.count
        for (values, color) in series where values.contains(where: { $0 > 0 }) {
            var last: (Int, Int)? = nil
            for (i, v) in values.enumerated() {
                let x = left + (right - left) * i / (n - 1)
                let y = bottom - Int(Double(bottom - top) * min(max(v / ymax, 0), 1))
                if let (lx, ly) = last { line(lx, ly, x, y, color, put) } else { put(x, y, color) }
                last = (x, y)
            }
        }
        text(String(format: "%.2f", ymax), x: 2, y: top, put)
        text("0", x: left - 8, y: bottom - 3, put)
        text("\(records.last!.step)", x: right - 6 * "\(records.last!.step)".count, y: bottom + 6, put)
        return RGBImage(width: width, height: height, pixels: px)
    }

    static func line(
        _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8),
        _ put: (Int, Int, (UInt8, UInt8, UInt8)) -> Void
    ) {
        let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in 0...steps {
            let x = x0 + (x1 - x0) * s / steps
            let y = y0 + (y1 - y0) * s / steps
            put(x, y, c)
            put(x, y + 1, c)
        }
    }

    /// Digits and a point in a 3x5 pixel font, scaled 1:1 with one column of spacing.
    static let glyphs: [Character: [String]] = [
        "0": ["111", "101", "101", "101", "111"], "1": ["010", "110", "010", "010", "111"],
        "2": ["111", "001", "111", "100", "111"], "3": ["111", "001", "111", "001", "111"],
        "4": ["101", "101", "111", "001", "001"], "5": ["111", "100", "111", "001", "111"],
        "6": ["111", "100", "111", "101", "111"], "7": ["111", "001", "010", "010", "010"],
        "8": ["111", "101", "111", "101", "111"], "9": ["111", "101", "111", "001", "111"],
        ".": ["000", "000", "000", "000", "010"],
    ]

    static func text(_ s: String, x: Int, y: Int, _ put: (Int, Int, (UInt8, UInt8, UInt8)) -> Void) {
        for (k, ch) in s.enumerated() {
            guard let g = glyphs[ch] else { continue }
            for (r, row) in g.enumerated() {
                for (c, bit) in row.enumerated() where bit == "1" {
                    // 2x scale for legibility.
                    for dy in 0..<2 { for dx in 0..<2 { put(x + k * 8 + 2 * c + dx, y + 2 * r + dy, (0, 0, 0)) } }
                }
            }
        }
    }
}
