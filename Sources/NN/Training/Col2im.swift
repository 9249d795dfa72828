import Tensor

/// 3D col2im, the adjoint of `im2col3d`: adds every entry of `col[K, columns]` (rows ordered
/// like the conv weight `[Cin, kT, kH, kW]` flattened, one column per output position, row
/// length `columns.count`) into the input position it was read from, in `dx [Cin, T, H, W]`.
/// Entries that im2col read from the padding are dropped. The conv backward pass uses it
/// for the input gradient: `dx += col2im(Wᵀ · dy)`.
///
/// The fast version adds in runs along the width (one contiguous add per run with stride 1, a
/// strided add otherwise). Rows of `col` overlap in `dx`, so one call runs on one thread;
/// the conv parallelises over clips instead.
public func col2im3dAdd(
    _ col: UnsafePointer<Float>, geometry g: Conv3dGeometry, columns: Range<Int>,
    into dx: UnsafeMutablePointer<Float>
) {
    let out = g.output
    let (inT, inH, inW) = (g.input.t, g.input.h, g.input.w)
    let (kT, kH, kW) = (g.kernel.t, g.kernel.h, g.kernel.w)
    let (sT, sH, sW) = (g.stride.t, g.stride.h, g.stride.w)
    let (pT, pH, pW) = (g.padding.t, g.padding.h, g.padding.w)
    let width = columns.count
    let rowsPerFrame = out.h * out.w
    for row in 0..<g.k {
        let dw = row % kW
        let dh = row / kW % kH
        let dt = row / (kW * kH) % kT
        let ci = row / (kW * kH * kT)
        let channel = dx + ci * inT * inH * inW
        let src = col + row * width
        // Output positions wo with 0 <= wo*sW - pW + dw < inW: [woLo, woHi).
        let woLo = max(0, divideRoundingUp(pW - dw, sW))
        let woHi = min(out.w, divideRoundingDown(inW - 1 + pW - dw, sW) + 1)
        if woLo >= woHi { continue }
        var p = columns.lowerBound
        while p < columns.upperBound {
            let to = p / rowsPerFrame
            let ho = p / out.w % out.h
            let wo0 = p % out.w
            let runEnd = min(columns.upperBound, p - wo0 + out.w)
            let wo1 = wo0 + (runEnd - p)
            let t = to * sT - pT + dt
            let h = ho * sH - pH + dh
            if t >= 0 && t < inT && h >= 0 && h < inH {
                let a = max(wo0, woLo)
                let b = min(wo1, woHi)
                if b > a {
                    let s = src + (p - columns.lowerBound) + (a - wo0)
                    var d = channel + (t * inH + h) * inW + (a * sW - pW + dw)
                    if sW == 1 {
                        for j in 0..<(b - a) { d[j] += s[j] }
                    } else {
                        for j in 0..<(b - a) {
                            d.pointee += s[j]
                            d += sW
                        }
                    }
                }
            }
            p = runEnd
        }
    }
}

/// The reference for `col2im3dAdd`: one element at a time, straight from the definition.
public func col2im3dAddNaive(
    _ col: UnsafePointer<Float>, geometry g: Conv3dGeometry, columns: Range<Int>,
    into dx: UnsafeMutablePointer<Float>
) {
    let out = g.output
    let width = columns.count
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
                        if t >= 0 && t < g.input.t && h >= 0 && h < g.input.h && w >= 0 && w < g.input.w {
                            dx[((ci * g.input.t + t) * g.input.h + h) * g.input.w + w] +=
                                col[row * width + p - columns.lowerBound]
                        }
                    }
                }
            }
        }
    }
}

/// Division rounding towards minus infinity (Swift's `/` truncates towards zero).
@inline(__always)
func divideRoundingDown(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// Division rounding towards plus infinity.
@inline(__always)
func divideRoundingUp(_ a: Int, _ b: Int) -> Int { -divideRoundingDown(-a, b) }
