/// 3D im2col: unfolds one clip `[Cin, T, H, W]` into the matrix `col[K, N]` with
/// K = Cin·kT·kH·kW rows (ordered like the conv weight `[Cout, Cin, kT, kH, kW]` flattened) and
/// N = To·Ho·Wo columns (output positions, row-major), so that a convolution becomes
/// `out[Cout, N] = weight[Cout, K] · col[K, N]`. Padding reads as zero.
///
/// Both versions fill only the columns `columns` (a tile of output positions), written into
/// `col` with rows `rowStride` apart (default `columns.count`), so a large conv can be lowered tile by tile without
/// ever holding the whole matrix (C3D's conv2 would need 347 MB at once).

/// The fast version. Output rows are filled in runs along the width: with stride 1 each run is
/// one `update(from:)` copy, otherwise a strided gather; padding becomes zero runs. Rows are
/// independent, so they are split over `threads` workers.
public func im2col3d(
    _ input: UnsafePointer<Float>, geometry g: Conv3dGeometry, columns: Range<Int>,
    into col: UnsafeMutablePointer<Float>, rowStride: Int? = nil, threads: Int = 1
) {
    let out = g.output
    let (inT, inH, inW) = (g.input.t, g.input.h, g.input.w)
    let (kT, kH, kW) = (g.kernel.t, g.kernel.h, g.kernel.w)
    let (sT, sH, sW) = (g.stride.t, g.stride.h, g.stride.w)
    let (pT, pH, pW) = (g.padding.t, g.padding.h, g.padding.w)
    let width = rowStride ?? columns.count
    let rowsPerFrame = out.h * out.w
    parallelRanges(g.k, threads: threads) { rows in
        for row in rows {
            // row = ((ci * kT + dt) * kH + dh) * kW + dw
            let dw = row % kW
            let dh = row / kW % kH
            let dt = row / (kW * kH) % kT
            let ci = row / (kW * kH * kT)
            let channel = input + ci * inT * inH * inW
            let dst = col + row * width
            // Output positions wo with 0 <= wo*sW - pW + dw < inW: [woLo, woHi).
            let woLo = max(0, ceilDiv(pW - dw, sW))
            let woHi = min(out.w, floorDiv(inW - 1 + pW - dw, sW) + 1)
            // The run's output frame, row and first column, advanced run by run (no divisions).
            var p = columns.lowerBound
            var (to, ho, wo0) = (p / rowsPerFrame, p / out.w % out.h, p % out.w)
            while p < columns.upperBound {
                let runEnd = min(columns.upperBound, p - wo0 + out.w)
                let wo1 = wo0 + (runEnd - p)
                let d = dst + (p - columns.lowerBound)
                let t = to * sT - pT + dt
                let h = ho * sH - pH + dh
                if t < 0 || t >= inT || h < 0 || h >= inH || woLo >= woHi {
                    d.initialize(repeating: 0, count: wo1 - wo0)
                } else {
                    let src = channel + (t * inH + h) * inW
                    let a = min(max(wo0, woLo), wo1)
                    let b = max(min(wo1, woHi), a)
                    if a > wo0 { d.initialize(repeating: 0, count: a - wo0) }
                    if b > a {
                        let first = a * sW - pW + dw
                        if sW == 1 {
                            (d + (a - wo0)).update(from: src + first, count: b - a)
                        } else if sW == 2 {
                            gatherEven(src + first, count: b - a, rowEnd: src + inW, into: d + (a - wo0))
                        } else {
                            var s = src + first
                            for j in (a - wo0)..<(b - wo0) {
                                d[j] = s.pointee
                                s += sW
                            }
                        }
                    }
                    if wo1 > b { (d + (b - wo0)).initialize(repeating: 0, count: wo1 - b) }
                }
                p = runEnd
                wo0 = 0
                ho += 1
                if ho == out.h { (ho, to) = (0, to + 1) }
            }
        }
    }
}

/// The reference for `im2col3d`: one element at a time, straight from the definition.
public func im2col3dNaive(
    _ input: UnsafePointer<Float>, geometry g: Conv3dGeometry, columns: Range<Int>,
    into col: UnsafeMutablePointer<Float>, rowStride: Int? = nil
) {
    let out = g.output
    let width = rowStride ?? columns.count
    for ci in 0..<g.inChannels {
        for dt in 0..<g.kernel.t {
            for dh in 0..<g.kernel.h {
                for dw in 0..<g.kernel.w {
                    let row = ((ci * g.kernel.t + dt) * g.kernel.h + dh) * g.kernel.w + dw
                    for p in columns {
                        let to = p / (out.h * out.w)
                        let ho = p / out.w % out.h
                        let wo = p % out.w
                        let t = to * g.stride.t - g.padding.t + dt
                        let h = ho * g.stride.h - g.padding.h + dh
                        let w = wo * g.stride.w - g.padding.w + dw
                        let inside = t >= 0 && t < g.input.t && h >= 0 && h < g.input.h && w >= 0 && w < g.input.w
                        col[row * width + p - columns.lowerBound] =
                            inside ? input[((ci * g.input.t + t) * g.input.h + h) * g.input.w + w] : 0
                    }
                }
            }
        }
    }
}

/// `dst[j] = src[2 j]` for `j < count`: eight at a time from sixteen-float loads (the even
/// lanes), never reading at or past `rowEnd`. The stride-2 convs (R(2+1)D's 7x7 stem) spend
/// most of their im2col here.
@inline(__always)
func gatherEven(
    _ src: UnsafePointer<Float>, count: Int, rowEnd: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>
) {
    var j = 0
    while j + 8 <= count && src + 2 * j + 16 <= rowEnd {
        let v = UnsafeRawPointer(src + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(dst + j).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
        j += 8
    }
    // Rows of 14 or 7 outputs (layers 2-4 of R(2+1)D-26) end in a run of four or more.
    if j + 4 <= count && src + 2 * j + 8 <= rowEnd {
        let v = UnsafeRawPointer(src + 2 * j).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(dst + j).storeBytes(of: v.evenHalf, as: SIMD4<Float>.self)
        j += 4
    }
    while j < count {
        dst[j] = src[2 * j]
        j += 1
    }
}

/// Division rounding towards minus infinity (Swift's `/` truncates towards zero).
@inline(__always)
func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// Division rounding towards plus infinity.
@inline(__always)
func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
