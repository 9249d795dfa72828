import NN
import Tensor
import Testing

@Suite("BatchNorm3d, pooling, Linear, Dropout")
struct LayerTests {
    @Test("batch norm in eval mode normalises with the running statistics")
    func batchNorm() {
        let bn = BatchNorm3d(
            weight: Tensor(shape: [2], data: [2, 0.5]), bias: Tensor(shape: [2], data: [1, -1]),
            runningMean: Tensor(shape: [2], data: [3, -2]), runningVar: Tensor(shape: [2], data: [4, 0.25]), eps: 0)
        let x = Tensor(shape: [1, 2, 1, 1, 2], data: [3, 5, -2, -1.5])
        // (x - 3) / 2 * 2 + 1 and (x + 2) / 0.5 * 0.5 - 1
        #expect(bn.forward(x).data == [1, 3, -1, -0.5])
    }

    @Test("a conv folded with its batch norm equals the conv followed by the batch norm")
    func folding() {
        var rng = SeededRandom(seed: 5)
        let x = Tensor.normal(shape: [2, 3, 4, 5, 6], using: &rng)
        for bias in [false, true] {
            let conv = Conv3d(
                weight: Tensor.normal(shape: [4, 3, 3, 3, 3], using: &rng),
                bias: bias ? Tensor.normal(shape: [4], using: &rng) : nil, padding: Dim3(all: 1))
            let bn = BatchNorm3d(
                weight: Tensor.uniform(shape: [4], low: 0.5, high: 1.5, using: &rng),
                bias: Tensor.normal(shape: [4], using: &rng),
                runningMean: Tensor.normal(shape: [4], using: &rng),
                runningVar: Tensor.uniform(shape: [4], low: 0.5, high: 2, using: &rng))
            let separate = bn.forward(conv.forward(x))
            let folded = conv.folding(bn).forward(x)
            #expect(folded.maxAbsDifference(separate) <= 1e-5 * separate.maxAbs())
        }
    }

    /// Max pooling by brute force over the padded window, -inf outside.
    func maxPoolReference(_ x: Tensor, _ p: MaxPool3d) -> Tensor {
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let o = p.outputSize(size)
        var y = Tensor(shape: [x.shape[0], x.shape[1], o.t, o.h, o.w])
        for n in 0..<x.shape[0] {
            for c in 0..<x.shape[1] {
                for t in 0..<o.t {
                    for h in 0..<o.h {
                        for w in 0..<o.w {
                            var m = -Float.infinity
                            for dt in 0..<p.kernel.t {
                                for dh in 0..<p.kernel.h {
                                    for dw in 0..<p.kernel.w {
                                        let (it, ih, iw) = (
                                            t * p.stride.t - p.padding.t + dt, h * p.stride.h - p.padding.h + dh,
                                            w * p.stride.w - p.padding.w + dw
                                        )
                                        if it >= 0 && it < size.t && ih >= 0 && ih < size.h && iw >= 0 && iw < size.w {
                                            m = max(m, x[n, c, it, ih, iw])
                                        }
                                    }
                                }
                            }
                            y[n, c, t, h, w] = m
                        }
                    }
                }
            }
        }
        return y
    }

    @Test(
        "max pooling equals the brute-force window maximum",
        arguments: [
            MaxPool3d(kernel: Dim3(1, 3, 3), stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1)),
            MaxPool3d(kernel: Dim3(1, 2, 2)),
            MaxPool3d(kernel: Dim3(all: 2)),
            MaxPool3d(kernel: Dim3(3, 3, 2), stride: Dim3(2, 1, 3), padding: Dim3(1, 1, 1)),
        ])
    func maxPool(_ p: MaxPool3d) {
        var rng = SeededRandom(seed: 11)
        // Negative values make sure padding (-inf) never wins over real entries.
        let x = Tensor.normal(shape: [2, 3, 5, 7, 9], mean: -5, using: &rng)
        for threads in [1, 2] {
            #expect(p.forward(x, threads: threads) == maxPoolReference(x, p))
        }
    }

    @Test("global average pooling gives each channel's mean")
    func globalAverage() {
        let x = Tensor(shape: [2, 2, 1, 1, 3], data: [1, 2, 3, -3, 0, 0, 10, 20, 30, 4, 4, 4])
        #expect(GlobalAveragePool3d.forward(x) == Tensor(shape: [2, 2], data: [2, -1, 20, 4]))
    }

    @Test("global max pooling gives each channel's maximum over time and space, negative maps included")
    func globalMax() {
        // [1, 2, T 2, H 1, W 2]: the maximum sits in the second frame of channel 0, first of channel 1.
        let x = Tensor(shape: [1, 2, 2, 1, 2], data: [1, -2, 3, 0, -1, -4, -7, -5])
        #expect(GlobalMaxPool3d.forward(x) == Tensor(shape: [1, 2], data: [3, -1]))
    }

    @Test("linear equals x · Wᵀ + b; dropout in eval mode is the identity")
    func linearAndDropout() {
        var rng = SeededRandom(seed: 3)
        let x = Tensor.normal(shape: [3, 5], using: &rng)
        let w = Tensor.normal(shape: [4, 5], using: &rng)
        let b = Tensor.normal(shape: [4], using: &rng)
        let y = Linear(weight: w, bias: b).forward(x)
        for i in 0..<3 {
            for j in 0..<4 {
                var s = Double(b[j])
                for k in 0..<5 { s += Double(x[i, k]) * Double(w[j, k]) }
                #expect(abs(Double(y[i, j]) - s) < 1e-5)
            }
        }
        #expect(Dropout(p: 0.5).forward(x) == x)
        #expect(ReLU.forward(x) == x.relu())
    }
}
