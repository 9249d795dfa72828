import Foundation
import NN
import Tensor
import Testing

/// Every backward pass against central finite differences (GradCheck), on small random
/// inputs. Float32 layers: the tolerance (relative to the largest analytic gradient checked)
/// is 2e-3, see `GradCheck` for why; a wrong backward is off by O(1).
@Suite("Backward passes match finite differences")
struct TrainingLayerGradientTests {
    static let tolerance = 2e-3

    /// Expects `result` within the tolerance and prints it (the numbers docs/correctness.md quotes).
    func expectGradient(_ result: GradCheck.Result, _ label: String, sourceLocation: SourceLocation = #_sourceLocation)
    {
        print("gradcheck \(label): \(result)")
        #expect(
            result.checked > 0 && result.relativeError < Self.tolerance, "\(label): \(result)",
            sourceLocation: sourceLocation)
    }

    struct ConvCase: CustomStringConvertible, Sendable {
        var kernel: Dim3, stride: Dim3, padding: Dim3, input: Dim3, bias: Bool
        var inChannels = 3, outChannels = 4
        var description: String {
            "\(inChannels)->\(outChannels) k\(kernel) s\(stride) p\(padding) on \(input)\(bias ? " +bias" : "")"
        }
    }

    static let convCases = [
        // pointwise
        ConvCase(kernel: Dim3(all: 1), stride: Dim3(all: 1), padding: Dim3(all: 0), input: Dim3(3, 4, 5), bias: false),
        // temporal taps
        ConvCase(
            kernel: Dim3(3, 1, 1), stride: Dim3(all: 1), padding: Dim3(1, 0, 0), input: Dim3(4, 3, 3), bias: false),
        // strided temporal
        ConvCase(
            kernel: Dim3(3, 1, 1), stride: Dim3(2, 1, 1), padding: Dim3(1, 0, 0), input: Dim3(5, 3, 2), bias: false),
        // spatial, stride 2
        ConvCase(
            kernel: Dim3(1, 3, 3), stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1), input: Dim3(2, 5, 6), bias: false),
        // Conv2d: one frame
        ConvCase(kernel: Dim3(1, 3, 3), stride: Dim3(all: 1), padding: Dim3(0, 1, 1), input: Dim3(1, 5, 5), bias: true),
        // C3D / R3D 3x3x3
        ConvCase(kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1), input: Dim3(3, 4, 4), bias: true),
        // downsample
        ConvCase(kernel: Dim3(all: 1), stride: Dim3(all: 2), padding: Dim3(all: 0), input: Dim3(4, 5, 5), bias: false),
        // stem
        ConvCase(
            kernel: Dim3(1, 7, 7), stride: Dim3(1, 2, 2), padding: Dim3(0, 3, 3), input: Dim3(2, 9, 8), bias: false),
        // the motion-vector network's stem: frame columns, transposed conv
        ConvCase(
            kernel: Dim3(3, 7, 7), stride: Dim3(all: 1), padding: Dim3(1, 3, 3), input: Dim3(4, 9, 8), bias: false),
        // R3D's stem: frame columns for the weights, col2im for the input
        ConvCase(
            kernel: Dim3(3, 7, 7), stride: Dim3(1, 2, 2), padding: Dim3(1, 3, 3), input: Dim3(3, 9, 8), bias: false),
        // the helper networks' downsampling 3x3x3
        ConvCase(kernel: Dim3(all: 3), stride: Dim3(all: 2), padding: Dim3(all: 1), input: Dim3(5, 6, 7), bias: true),
        // maps large enough for the transposed conv to run as Winograd
        ConvCase(
            kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1), input: Dim3(4, 12, 12), bias: false),
        ConvCase(
            kernel: Dim3(1, 3, 3), stride: Dim3(all: 1), padding: Dim3(0, 1, 1), input: Dim3(2, 12, 14), bias: false),
        // The direct kernels (AVX-512; `DirectConv`): the motion-vector network's stem, its
        // 16-channel 3x3x3 (the transposed conv direct too), a 1x3x3 with 8 input channels
        // (its transposed conv direct with 8 output channels); rows of 32 and 16 positions, odd
        // numbers of 16-position vectors.
        ConvCase(
            kernel: Dim3(3, 7, 7), stride: Dim3(all: 1), padding: Dim3(1, 3, 3), input: Dim3(3, 5, 32), bias: false,
            inChannels: 2, outChannels: 16),
        ConvCase(
            kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1), input: Dim3(3, 5, 16), bias: true,
            inChannels: 16, outChannels: 16),
        ConvCase(
            kernel: Dim3(1, 3, 3), stride: Dim3(all: 1), padding: Dim3(0, 1, 1), input: Dim3(2, 3, 16), bias: true,
            inChannels: 8, outChannels: 32),
        // R(2+1)D's stem: 36 channels (a masked last block), stride 2 in space; direct only
        // without the input gradient (a strided conv's takes col2im tiles).
        ConvCase(
            kernel: Dim3(1, 7, 7), stride: Dim3(1, 2, 2), padding: Dim3(0, 3, 3), input: Dim3(2, 5, 32), bias: false,
            inChannels: 3, outChannels: 36),
    ]

    @Test("Conv3d: weights, bias and input against finite differences and the naive reference", arguments: convCases)
    func conv(_ c: ConvCase) {
        var rng = SeededRandom(seed: 41)
        let (ci, co, n) = (c.inChannels, c.outChannels, 2)
        var x = Tensor.normal(shape: [n, ci, c.input.t, c.input.h, c.input.w], using: &rng)
        let layer = Conv3dLayer(
            name: "conv",
            weight: Tensor.normal(shape: [co, ci, c.kernel.t, c.kernel.h, c.kernel.w], std: 0.3, using: &rng),
            bias: c.bias ? Tensor.normal(shape: [co], using: &rng) : nil, stride: c.stride, padding: c.padding)
        if co >= 16 { #expect(layer.usesDirectWeightGradient(inputGradient: false) == Conv3d.directKernelsAvailable) }
        let (y, cache) = layer.forward(x, threads: 2)
        #expect(
            y.relativeError(
                to: conv3dNaive(
                    x, weight: layer.weight.value, bias: layer.bias?.value, stride: c.stride, padding: c.padding))
                < 1e-5)
        let r = Tensor.normal(shape: y.shape, using: &rng)
        let naive = conv3dBackwardNaive(x, weight: layer.weight.value, dy: r, stride: c.stride, padding: c.padding)
        for threads in [1, 2] {
            // Without the input gradient the weight gradient may take another lowering.
            for wantInput in [true, false] {
                layer.zeroGrad()
                let dx = layer.backward(r, cache: cache, inputGradient: wantInput, threads: threads)
                if wantInput { #expect(dx!.relativeError(to: naive.dx) < 1e-5, "dx, \(threads) threads") }
                #expect(layer.weight.grad.relativeError(to: naive.dW) < 1e-5, "dW, \(threads) threads, dx \(wantInput)")
                if let b = layer.bias { #expect(b.grad.relativeError(to: naive.db) < 1e-5) }
            }
        }
        let loss = { (input: Tensor) in GradCheck.projection(layer.forward(input).0, r) }
        let dx = layer.backward(r, cache: cache)!
        expectGradient(
            GradCheck.check(
                &x, analytic: dx, indices: GradCheck.sample(x.count, count: 40, rng: &rng), eps: 1e-2, loss: loss),
            "conv \(c) input")
        layer.zeroGrad()
        _ = layer.backward(r, cache: cache, inputGradient: false)
        let frozen = x
        for p in layer.parameters {
            let result = GradCheck.check(p, indices: GradCheck.sample(p.value.count, count: 30, rng: &rng), eps: 1e-2) {
                loss(frozen)
            }
            expectGradient(result, "conv \(c) \(p.name)")
        }
    }

    @Test("col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>, and equals the naive version")
    func col2imAdjoint() {
        var rng = SeededRandom(seed: 3)
        let g = Conv3dGeometry(
            inChannels: 2, input: Dim3(3, 6, 7), kernel: Dim3(2, 3, 3), stride: Dim3(1, 2, 2), padding: Dim3(1, 1, 1))
        let x = Tensor.normal(shape: [2 * g.input.volume], using: &rng)
        let c = Tensor.normal(shape: [g.k * g.n], using: &rng)
        var col = [Float](repeating: 0, count: g.k * g.n)
        var back = [Float](repeating: 0, count: x.count)
        var naive = back
        x.withUnsafeBufferPointer { xp in
            col.withUnsafeMutableBufferPointer {
                im2col3d(xp.baseAddress!, geometry: g, columns: 0..<g.n, into: $0.baseAddress!)
            }
        }
        c.withUnsafeBufferPointer { cp in
            // Two tiles, to exercise the column ranges.
            back.withUnsafeMutableBufferPointer { b in
                let half = g.n / 2
                var first = [Float](repeating: 0, count: g.k * half)
                var second = [Float](repeating: 0, count: g.k * (g.n - half))
                for row in 0..<g.k {
                    for j in 0..<half { first[row * half + j] = cp[row * g.n + j] }
                    for j in half..<g.n { second[row * (g.n - half) + j - half] = cp[row * g.n + j] }
                }
                col2im3dAdd(first, geometry: g, columns: 0..<half, into: b.baseAddress!)
                col2im3dAdd(second, geometry: g, columns: half..<g.n, into: b.baseAddress!)
            }
            naive.withUnsafeMutableBufferPointer {
                col2im3dAddNaive(cp.baseAddress!, geometry: g, columns: 0..<g.n, into: $0.baseAddress!)
            }
        }
        let lhs = zip(col, c.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x.data, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(lhs - rhs) < 1e-4 * abs(lhs))
        #expect(
            Tensor(shape: [back.count], data: back).relativeError(to: Tensor(shape: [naive.count], data: naive)) < 1e-6)
    }

    @Test("BatchNorm in training mode (3D with ReLU and residual, and 1D): input, weight and bias gradients")
    func batchNorm() {
        var rng = SeededRandom(seed: 5)
        for shape in [[3, 4, 2, 3, 3], [6, 5]] {
            let bn = BatchNormLayer(name: "bn", channels: shape[1])
            bn.weight.value = Tensor.uniform(shape: [shape[1]], low: 0.5, high: 1.5, using: &rng)
            bn.bias.value = Tensor.normal(shape: [shape[1]], std: 0.3, using: &rng)
            var x = Tensor.normal(shape: shape, mean: 0.5, std: 2, using: &rng)
            let residual = Tensor.normal(shape: shape, using: &rng)
            let fused = shape.count == 5
            let (y, cache) = bn.forward(x, residual: fused ? residual : nil, relu: fused, threads: 2)
            let r = Tensor.normal(shape: y.shape, using: &rng)
            let (dx, dres) = bn.backward(r, cache: cache, threads: 2)
            let loss = { (input: Tensor) in
                GradCheck.projection(bn.forward(input, residual: fused ? residual : nil, relu: fused).0, r)
            }
            let rx = GradCheck.check(
                &x, analytic: dx, indices: GradCheck.sample(x.count, count: 40, rng: &rng), eps: 1e-2, loss: loss)
            expectGradient(rx, "batch norm \(shape) input")
            if fused {
                var res = residual
                let rr = GradCheck.check(
                    &res, analytic: dres!, indices: GradCheck.sample(res.count, count: 20, rng: &rng), eps: 1e-2
                ) { GradCheck.projection(bn.forward(x, residual: $0, relu: true).0, r) }
                expectGradient(rr, "batch norm residual")
            }
            let frozen = x
            for p in bn.parameters {
                let result = GradCheck.check(p, eps: 1e-2) { loss(frozen) }
                expectGradient(result, "batch norm \(shape) \(p.name)")
            }
            // Eval mode: the running statistics are constants.
            bn.training = false
            let (_, evalCache) = bn.forward(x, relu: false)
            let (evalDx, _) = bn.backward(r, cache: evalCache)
            bn.training = true
            var xe = x
            let re = GradCheck.check(
                &xe, analytic: evalDx, indices: GradCheck.sample(x.count, count: 20, rng: &rng), eps: 1e-2
            ) { input in
                bn.training = false
                defer { bn.training = true }
                return GradCheck.projection(bn.forward(input).0, r)
            }
            expectGradient(re, "batch norm eval-mode input")
        }
    }

    @Test("BatchNorm running statistics follow PyTorch: momentum 0.1, unbiased variance")
    func runningStatistics() {
        let bn = BatchNormLayer(name: "bn", channels: 1)
        let x = Tensor(shape: [2, 1, 2], data: [1, 2, 3, 6])  // mean 3, biased var 3.5, unbiased 14/3
        let (y, _) = bn.forward(x)
        #expect(abs(bn.runningMean.value.data[0] - 0.3) < 1e-7)
        #expect(abs(Double(bn.runningVar.value.data[0]) - (0.9 + 0.1 * 14.0 / 3.0)) < 1e-6)
        #expect(abs(Double(y.data[0]) - (1 - 3) / (3.5 + 1e-5).squareRoot()) < 1e-6)
        #expect(bn.batchesTracked == 1)
    }

    @Test("ReLU, GELU, max pooling, global average pooling, Linear, LayerNorm, L2 normalisation")
    func elementwiseAndPooling() {
        var rng = SeededRandom(seed: 9)
        // ReLU: inputs kept away from the kink at 0 so ±eps never crosses it.
        var x = Tensor.normal(shape: [4, 6], using: &rng).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        let r = Tensor.normal(shape: [4, 6], using: &rng)
        let (y, out) = ReLU.forward(training: x)
        #expect(y == x.relu())
        expectGradient(
            GradCheck.check(&x, analytic: ReLU.backward(r, output: out), eps: 1e-3) {
                GradCheck.projection($0.relu(), r)
            }, "ReLU input")
        let gelu = GELU.backward(r, input: x)
        expectGradient(
            GradCheck.check(&x, analytic: gelu, eps: 1e-2) { GradCheck.projection(GELU.forward($0).0, r) }, "GELU input"
        )

        // Max pool: a permutation of well-separated values, so no window has a near-tie.
        let pool = MaxPool3dLayer(kernel: Dim3(1, 3, 3), stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1))
        let count = 2 * 2 * 2 * 5 * 6
        var values = (0..<count).map { Float($0) * 0.1 }
        values.shuffle(using: &rng)
        var px = Tensor(shape: [2, 2, 2, 5, 6], data: values)
        let (py, pc) = pool.forward(px, threads: 2)
        #expect(py == pool.pool.forward(px))
        let pr = Tensor.normal(shape: py.shape, using: &rng)
        expectGradient(
            GradCheck.check(&px, analytic: pool.backward(pr, cache: pc, threads: 2), eps: 1e-2) {
                GradCheck.projection(pool.forward($0).0, pr)
            }, "max pool input")

        // Ties everywhere (values from {0, 1, 2}), odd and even sides, the 3x3 and a 2x3x3
        // window: the argmax is the first maximum in scan order, as PyTorch's.
        for (kernel, side) in [
            (Dim3(1, 3, 3), Dim3(2, 7, 8)), (Dim3(1, 3, 3), Dim3(1, 8, 7)), (Dim3(2, 3, 3), Dim3(3, 6, 5)),
        ] {
            let tied = MaxPool3dLayer(kernel: kernel, stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1))
            let t = Tensor(
                shape: [1, 2, side.t, side.h, side.w],
                data: (0..<(2 * side.volume)).map { _ in Float(Int.random(in: 0..<3, using: &rng)) })
            let (ty, tc) = tied.forward(t, threads: 2)
            #expect(ty == tied.pool.forward(t))
            let o = tied.outputSize(side)
            var expected = [Int32]()
            for m in 0..<2 {
                for ot in 0..<o.t {
                    for oh in 0..<o.h {
                        for ow in 0..<o.w {
                            var best: (Float, Int32)? = nil
                            for dt in 0..<kernel.t {
                                for dh in 0..<3 {
                                    for dw in 0..<3 {
                                        let (it, ih, iw) = (ot + dt, oh * 2 - 1 + dh, ow * 2 - 1 + dw)
                                        if it >= side.t || ih < 0 || ih >= side.h || iw < 0 || iw >= side.w { continue }
                                        let at = Int32((it * side.h + ih) * side.w + iw)
                                        let v = t.data[m * side.volume + Int(at)]
                                        if best == nil || v > best!.0 { best = (v, at) }
                                    }
                                }
                            }
                            expected.append(best!.1)
                        }
                    }
                }
            }
            #expect(tc.argmax == expected, "max pool \(kernel) on \(side): first maximum in scan order")
        }

        var gx = Tensor.normal(shape: [2, 3, 2, 2, 3], using: &rng)
        let gr = Tensor.normal(shape: [2, 3], using: &rng)
        expectGradient(
            GradCheck.check(&gx, analytic: GlobalAveragePool3d.backward(gr, inputShape: gx.shape), eps: 1e-2) {
                GradCheck.projection(GlobalAveragePool3d.forward($0), gr)
            }, "average pool input")

        let linear = LinearLayer(
            name: "fc", weight: Tensor.normal(shape: [5, 7], using: &rng), bias: Tensor.normal(shape: [5], using: &rng))
        var lx = Tensor.normal(shape: [2, 3, 7], using: &rng)
        let (ly, lc) = linear.forward(lx)
        #expect(
            ly.relativeError(
                to: Linear(weight: linear.weight.value, bias: linear.bias!.value).forward(lx.reshaped([6, 7])).reshaped(
                    [2, 3, 5])) < 1e-6)
        let lr = Tensor.normal(shape: ly.shape, using: &rng)
        let ldx = linear.backward(lr, cache: lc)
        expectGradient(
            GradCheck.check(&lx, analytic: ldx, eps: 1e-2) { GradCheck.projection(linear.forward($0).0, lr) },
            "Linear input")
        let lfrozen = lx
        for p in linear.parameters {
            expectGradient(
                GradCheck.check(p, eps: 1e-2) { GradCheck.projection(linear.forward(lfrozen).0, lr) },
                "Linear \(p.name)")
        }

        let ln = LayerNormLayer(name: "ln", features: 8)
        ln.weight.value = Tensor.uniform(shape: [8], low: 0.5, high: 1.5, using: &rng)
        ln.bias.value = Tensor.normal(shape: [8], using: &rng)
        var nx = Tensor.normal(shape: [3, 8], mean: 1, std: 2, using: &rng)
        let (ny, nc) = ln.forward(nx)
        let nr = Tensor.normal(shape: ny.shape, using: &rng)
        let ndx = ln.backward(nr, cache: nc)
        expectGradient(
            GradCheck.check(&nx, analytic: ndx, eps: 1e-2) { GradCheck.projection(ln.forward($0).0, nr) },
            "LayerNorm input")
        let nfrozen = nx
        for p in ln.parameters {
            expectGradient(
                GradCheck.check(p, eps: 1e-2) { GradCheck.projection(ln.forward(nfrozen).0, nr) }, "LayerNorm \(p.name)"
            )
        }

        var vx = Tensor.normal(shape: [4, 6], using: &rng)
        let (vy, vc) = L2Normalize.forward(vx)
        for i in 0..<4 { #expect(abs((0..<6).reduce(0.0) { $0 + Double(vy[i, $1] * vy[i, $1]) } - 1) < 1e-6) }
        let vr = Tensor.normal(shape: vy.shape, using: &rng)
        expectGradient(
            GradCheck.check(&vx, analytic: L2Normalize.backward(vr, cache: vc), eps: 1e-2) {
                GradCheck.projection(L2Normalize.forward($0).0, vr)
            }, "L2 normalise input")
    }

    @Test("Dropout: seeded masks, survivors scaled by 1/(1-p), identity in eval mode, backward applies the mask")
    func dropout() {
        let layer = DropoutLayer(p: 0.25, seed: 7)
        let x = Tensor(shape: [4000], repeating: 1)
        let (y, mask) = layer.forward(x)
        let kept = y.data.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        #expect(abs(Double(kept.count) / 4000 - 0.75) < 0.03)
        #expect(layer.backward(x, cache: mask) == y)
        let again = DropoutLayer(p: 0.25, seed: 7)
        #expect(again.forward(x).0 == y)
        layer.training = false
        #expect(layer.forward(x).0 == x)
    }

    @Test("multi-head attention: query, key, value and every projection against finite differences")
    func attention() {
        var rng = SeededRandom(seed: 17)
        let mha = MultiheadAttention(name: "attn", dim: 8, heads: 2, dropout: 0, rng: &rng)
        for p in [mha.inProjBias, mha.outProj.bias!] { p.value = Tensor.normal(shape: p.shape, std: 0.2, using: &rng) }
        var q = Tensor.normal(shape: [2, 3, 8], using: &rng)
        var k = Tensor.normal(shape: [2, 4, 8], using: &rng)
        var v = Tensor.normal(shape: [2, 4, 8], using: &rng)
        let (y, cache) = mha.forward(query: q, key: k, value: v, threads: 2)
        let r = Tensor.normal(shape: y.shape, using: &rng)
        let (dq, dk, dv) = mha.backward(r, cache: cache, threads: 2)
        let (q0, k0, v0) = (q, k, v)
        expectGradient(
            GradCheck.check(&q, analytic: dq, eps: 1e-2) {
                GradCheck.projection(mha.forward(query: $0, key: k0, value: v0).0, r)
            }, "attention query")
        expectGradient(
            GradCheck.check(&k, analytic: dk, eps: 1e-2) {
                GradCheck.projection(mha.forward(query: q0, key: $0, value: v0).0, r)
            }, "attention key")
        expectGradient(
            GradCheck.check(&v, analytic: dv, eps: 1e-2) {
                GradCheck.projection(mha.forward(query: q0, key: k0, value: $0).0, r)
            }, "attention value")
        for p in mha.parameters {
            let result = GradCheck.check(p, indices: GradCheck.sample(p.value.count, count: 40, rng: &rng), eps: 1e-2) {
                GradCheck.projection(mha.forward(query: q0, key: k0, value: v0).0, r)
            }
            expectGradient(result, "attention \(p.name)")
        }
    }

    @Test("InfoNCE: loss by definition, query and key gradients against finite differences")
    func infoNCE() {
        var rng = SeededRandom(seed: 23)
        var q = L2Normalize.forward(Tensor.normal(shape: [3, 5], using: &rng)).0
        var k = L2Normalize.forward(Tensor.normal(shape: [7, 5], using: &rng)).0
        let targets = [4, 0, 6]
        let (loss, cache) = InfoNCE.forward(queries: q, keys: k, targets: targets, temperature: 0.1)
        var expected = 0.0
        for i in 0..<3 {
            let logits = (0..<7).map { j in (0..<5).reduce(0.0) { $0 + Double(q[i, $1]) * Double(k[j, $1]) } / 0.1 }
            expected += log(logits.map { exp($0) }.reduce(0, +)) - logits[targets[i]]
        }
        #expect(abs(loss - expected / 3) < 1e-5)
        let (dq, dk) = InfoNCE.backward(cache: cache)
        let (q0, k0) = (q, k)
        expectGradient(
            GradCheck.check(&q, analytic: dq, eps: 1e-3) { InfoNCE.forward(queries: $0, keys: k0, targets: targets).0 },
            "InfoNCE queries")
        expectGradient(
            GradCheck.check(&k, analytic: dk, eps: 1e-3) { InfoNCE.forward(queries: q0, keys: $0, targets: targets).0 },
            "InfoNCE keys")
    }
}
