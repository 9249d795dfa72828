import Tensor

/// CMD's clip feature map (docs/method.md §4): layer3's output with time folded into channels
/// (even time steps, then odd ones) plus layer4's output upsampled by nearest neighbour to the
/// same size. Both heads read it: the predictor as tokens, the context head as its average.
///
/// layer3 `[N, C3, T3, H3, W3]` and layer4 `[N, 2·C3, T3/2, H4, W4]` → `[N, 2·C3, T3/2, H3, W3]`.
public enum FeatureFusion {
    /// CMD's clip map F from a backbone's stages: the ResNets fuse `layer3` with `layer4`; for
    /// C3D, F is the output of `conv5b` itself (docs/method.md §4).
    public static func clipMap(_ stages: [String: Tensor]) -> Tensor {
        if let l3 = stages["layer3"], let l4 = stages["layer4"] { return forward(layer3: l3, layer4: l4) }
        guard let conv5b = stages["conv5b"] else {
            preconditionFailure(
                "CMD's clip map needs ResNet stages layer3 and layer4 or C3D's conv5b, got \(stages.keys.sorted())")
        }
        return conv5b
    }

    /// Tokens (positions) of the clip map of `config` at input side `size`: for the ResNets
    /// layer3 sits at 1/4 in time and 1/16 in space (ceil) and the map has half its frames; C3D's
    /// conv5b at 1/8 in time and 1/16 in space (floor).
    public static func tokenCount(_ config: BackboneConfig, size: Int) -> Int {
        if config.architecture == .c3d { return (config.frames / 8) * (size / 16) * (size / 16) }
        let t3 = (config.frames + 3) / 4
        let h3 = (size + 15) / 16
        return (t3 / 2) * h3 * h3
    }

    /// The gradients of the stages `clipMap` read, for a gradient `dF` of its output.
    public static func clipMapBackward(_ dF: Tensor, stages: [String: Tensor]) -> [String: Tensor] {
        guard let l3 = stages["layer3"], let l4 = stages["layer4"] else { return ["conv5b": dF] }
        let (g3, g4) = backward(dF, layer3: l3.shape, layer4: l4.shape)
        return ["layer3": g3, "layer4": g4]
    }

    public static func outputShape(layer3 s3: [Int], layer4 s4: [Int]) -> [Int] {
        precondition(s3.count == 5 && s4.count == 5 && s3[0] == s4[0], "fusion takes two [N, C, T, H, W] maps")
        precondition(
            s3[2] % 2 == 0 && s4[1] == 2 * s3[1] && s4[2] == s3[2] / 2,
            "fusion needs layer3 with an even T and layer4 with twice the channels and half the frames: \(s3), \(s4)")
        return [s3[0], 2 * s3[1], s3[2] / 2, s3[3], s3[4]]
    }

    /// PyTorch's nearest-neighbour source index: floor(dst · in / out).
    @inline(__always) static func nearest(_ i: Int, _ inSize: Int, _ outSize: Int) -> Int {
        min(inSize - 1, i * inSize / outSize)
    }

    public static func forward(layer3 a: Tensor, layer4 b: Tensor) -> Tensor {
        let o = outputShape(layer3: a.shape, layer4: b.shape)
        let (n, c3, t3, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3], a.shape[4])
        let (t4, h4, w4) = (b.shape[2], b.shape[3], b.shape[4])
        let c = o[1]
        let t = o[2]
        let hw = h * w
        var out = Tensor(shape: o)
        out.withUnsafeMutableBufferPointer { op in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    for s in 0..<n {
                        for ch in 0..<c {
                            for tt in 0..<t {
                                // Folded layer3: channel ch < C3 is time 2t, else time 2t + 1.
                                let src = ((s * c3 + ch % c3) * t3 + 2 * tt + ch / c3) * hw
                                let dst = ((s * c + ch) * t + tt) * hw
                                let t4i = nearest(tt, t4, t)
                                for y in 0..<h {
                                    let y4 = nearest(y, h4, h)
                                    let row4 = (((s * c + ch) * t4 + t4i) * h4 + y4) * w4
                                    for x in 0..<w {
                                        op[dst + y * w + x] = ap[src + y * w + x] + bp[row4 + nearest(x, w4, w)]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Gradients for layer3 (unfolded) and layer4 (summed over the positions it was copied to).
    public static func backward(_ dy: Tensor, layer3 s3: [Int], layer4 s4: [Int]) -> (layer3: Tensor, layer4: Tensor) {
        let o = outputShape(layer3: s3, layer4: s4)
        precondition(dy.shape == o, "fusion gradient must be \(o), got \(dy.shape)")
        let (n, c3, t3, h, w) = (s3[0], s3[1], s3[2], s3[3], s3[4])
        let (t4, h4, w4) = (s4[2], s4[3], s4[4])
        let c = o[1]
        let t = o[2]
        let hw = h * w
        var g3 = Tensor(shape: s3)
        var g4 = Tensor(shape: s4)
        dy.withUnsafeBufferPointer { dp in
            g3.withUnsafeMutableBufferPointer { ap in
                g4.withUnsafeMutableBufferPointer { bp in
                    for s in 0..<n {
                        for ch in 0..<c {
                            for tt in 0..<t {
                                let src = ((s * c + ch) * t + tt) * hw
                                let dst = ((s * c3 + ch % c3) * t3 + 2 * tt + ch / c3) * hw
                                let t4i = nearest(tt, t4, t)
                                for y in 0..<h {
                                    let y4 = nearest(y, h4, h)
                                    let row4 = (((s * c + ch) * t4 + t4i) * h4 + y4) * w4
                                    for x in 0..<w {
                                        let g = dp[src + y * w + x]
                                        ap[dst + y * w + x] = g
                                        bp[row4 + nearest(x, w4, w)] += g
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (g3, g4)
    }

    /// `[N, C, T, H, W]` → tokens `[N, T·H·W, C]` (token order t, h, w).
    public static func tokens(_ x: Tensor) -> Tensor {
        let (n, c) = (x.shape[0], x.shape[1])
        let p = x.count / (n * c)
        return swapLastTwo(x, batches: n, rows: c, columns: p, shape: [n, p, c])
    }

    /// Vectors of `samples` samples, `P` rows each (`[samples · P, D]`, a sample's rows
    /// together) → their means `[samples, D]`: one vector per clip from a vector per position.
    public static func meanOverPositions(_ x: Tensor, samples n: Int) -> Tensor {
        let d = x.shape[1]
        let p = x.shape[0] / n
        var mean = [Float](repeating: 0, count: n * d)
        x.withUnsafeBufferPointer { v in
            for s in 0..<n {
                for t in 0..<p {
                    for k in 0..<d { mean[s * d + k] += v[(s * p + t) * d + k] / Float(p) }
                }
            }
        }
        return Tensor(shape: [n, d], data: mean)
    }

    /// The inverse of `tokens`: `[N, P, C]` → `[N, C, ...spatial]` shaped like `shape`.
    public static func untokens(_ x: Tensor, shape: [Int]) -> Tensor {
        swapLastTwo(x, batches: x.shape[0], rows: x.shape[1], columns: x.shape[2], shape: shape)
    }

    /// `x` read as `[batches, rows, columns]`, transposed to `[batches, columns, rows]` and
    /// shaped `shape` (the two directions of the token permutation).
    static func swapLastTwo(_ x: Tensor, batches: Int, rows: Int, columns: Int, shape: [Int]) -> Tensor {
        var out = Tensor(shape: shape)
        out.withUnsafeMutableBufferPointer { op in
            x.withUnsafeBufferPointer { xp in
                for b in 0..<batches {
                    for r in 0..<rows {
                        for c in 0..<columns { op[(b * columns + c) * rows + r] = xp[(b * rows + r) * columns + c] }
                    }
                }
            }
        }
        return out
    }
}
