/// Rows in the format of FFmpeg's `doc/examples/extract_mvs.c` (FFmpeg 5.1), so our output
/// can be diffed against it line by line.
public enum MotionCSV {
    public static let header = "framenum,source,blockw,blockh,srcx,srcy,dstx,dsty,flags,motion_x,motion_y,motion_scale"

    /// One row without the newline; `frameNumber` is 1-based in output order, as in the example.
    public static func row(frameNumber: Int, _ v: MotionVector) -> String {
        var bytes: [UInt8] = []
        appendRow(to: &bytes, frameNumber: frameNumber, v)
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }

    /// Appends one row and a newline as bytes: the fast path `extract` uses (string
    /// interpolation costs about a microsecond a row, which would halve the extraction rate).
    public static func appendRow(to out: inout [UInt8], frameNumber: Int, _ v: MotionVector) {
        // printf("%d,%2d,%2d,%2d,%4d,%4d,%4d,%4d,0x%"PRIx64",%4d,%4d,%4d\n", ...)
        let comma = UInt8(ascii: ",")
        appendPadded(&out, frameNumber, 0)
        out.append(comma)
        appendPadded(&out, Int(v.source), 2)
        out.append(comma)
        appendPadded(&out, Int(v.w), 2)
        out.append(comma)
        appendPadded(&out, Int(v.h), 2)
        out.append(comma)
        appendPadded(&out, Int(v.srcX), 4)
        out.append(comma)
        appendPadded(&out, Int(v.srcY), 4)
        out.append(comma)
        appendPadded(&out, Int(v.dstX), 4)
        out.append(comma)
        appendPadded(&out, Int(v.dstY), 4)
        out.append(comma)
        out.append(UInt8(ascii: "0"))
        out.append(UInt8(ascii: "x"))
        out.append(contentsOf: String(v.flags, radix: 16).utf8)
        out.append(comma)
        appendPadded(&out, Int(v.motionX), 4)
        out.append(comma)
        appendPadded(&out, Int(v.motionY), 4)
        out.append(comma)
        appendPadded(&out, Int(v.motionScale), 4)
        out.append(UInt8(ascii: "\n"))
    }

    /// `%<width>d`: right-aligned decimal, space padded.
    static func appendPadded(_ out: inout [UInt8], _ value: Int, _ width: Int) {
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var m = value.magnitude
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            if value < 0 {
                d[n] = UInt8(ascii: "-")
                n += 1
            }
            for _ in n..<max(n, width) { out.append(UInt8(ascii: " ")) }
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    /// Parses a row back (whitespace around fields is ignored).
    public static func parse(_ line: Substring) -> (frameNumber: Int, vector: MotionVector)? {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: " ")
        }
        guard f.count == 12, f[8].hasPrefix("0x"),
            let n = Int(f[0]), let source = Int32(f[1]), let w = UInt8(f[2]), let h = UInt8(f[3]),
            let sx = Int16(f[4]), let sy = Int16(f[5]), let dx = Int16(f[6]), let dy = Int16(f[7]),
            let flags = UInt64(f[8].dropFirst(2), radix: 16), let mx = Int32(f[9]),
            let my = Int32(f[10]), let scale = UInt16(f[11])
        else { return nil }
        return (
            n,
            MotionVector(
                source: source, w: w, h: h, srcX: sx, srcY: sy, dstX: dx, dstY: dy, flags: flags,
                motionX: mx, motionY: my, motionScale: scale)
        )
    }

}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
