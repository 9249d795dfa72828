import Tensor

/// Batch normalisation over the channels of a video tensor, in eval mode (PyTorch
/// `nn.BatchNorm3d` after `.eval()`): `y = (x - running_mean) / sqrt(running_var + eps) · weight + bias`.
///
/// Shapes: `x [N, C, T, H, W]` → same; every parameter `[C]`.
///
/// The backbones never run this layer on its own: `Conv3d.folding(_:)` merges it into the conv
/// before it, when the weights load. It stays as a layer for tests and, later, for training
/// (where batch statistics and a `backward` join it).
public struct BatchNorm3d: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let eps: Float

    /// - Precondition: all four parameters are `[C]` for the same C.
    public init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5) {
        let c = weight.shape
        precondition(
            c.count == 1 && bias.shape == c && runningMean.shape == c && runningVar.shape == c,
            "batch norm parameters must all be [C]")
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.eps = eps
    }

    /// PyTorch's initial state for `channels`: weight 1, bias 0, mean 0, variance 1.
    public init(channels: Int, eps: Float = 1e-5) {
        self.init(
            weight: Tensor(shape: [channels], repeating: 1), bias: Tensor(shape: [channels]),
            runningMean: Tensor(shape: [channels]), runningVar: Tensor(shape: [channels], repeating: 1), eps: eps)
    }

    public var channels: Int { weight.count }

    /// The affine map the layer applies per channel, `y = scale · x + shift`, computed in double.
    public var scaleAndShift: (scale: [Double], shift: [Double]) {
        var scale = [Double](repeating: 0, count: channels)
        var shift = scale
        for c in 0..<channels {
            scale[c] = Double(weight.data[c]) / (Double(runningVar.data[c]) + Double(eps)).squareRoot()
            shift[c] = Double(bias.data[c]) - Double(runningMean.data[c]) * scale[c]
        }
        return (scale, shift)
    }

    /// `x [N, C, T, H, W]` → normalised, same shape.
    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] == channels, "batch norm over \(channels) channels got \(x.shape)")
        let (scale, shift) = scaleAndShift
        let inner = x.shape.dropFirst(2).reduce(1, *)
        var y = x
        for i in 0..<y.count {
            let c = i / inner % channels
            y.data[i] = Float(Double(x.data[i]) * scale[c] + shift[c])
        }
        return y
    }
}

extension Conv3d {
    /// This conv followed by `bn` (eval mode), as one conv with a bias:
    /// `W'[o] = W[o] · s[o]`, `b'[o] = b[o] · s[o] + shift[o]` with `s = weight / sqrt(var + eps)`.
    public func folding(_ bn: BatchNorm3d) -> Conv3d {
        Conv3d.folding(weight: weight, bias: bias, batchNorm: bn, stride: stride, padding: padding)
    }

    /// The conv `weight [Cout, Cin, kT, kH, kW]` (+ `bias`) followed by `batchNorm`, built
    /// folded in one step.
    public static func folding(weight: Tensor, bias: Tensor?, batchNorm bn: BatchNorm3d, stride: Dim3, padding: Dim3)
        -> Conv3d
    {
        precondition(weight.rank == 5, "conv3d weight must be [Cout, Cin, kT, kH, kW], got \(weight.shape)")
        return weight.withUnsafeBufferPointer {
            folding(weight: $0, shape: weight.shape, bias: bias, batchNorm: bn, stride: stride, padding: padding)
        }
    }

    /// The same from weights anywhere in memory (the loader's path: values read in place from a
    /// mapped file, scaled and packed in one pass, `W'[o] = Float(Double(W[o]) · s[o])`).
    public static func folding(
        weight: UnsafeBufferPointer<Float>, shape: [Int], bias: Tensor?, batchNorm bn: BatchNorm3d, stride: Dim3,
        padding: Dim3
    ) -> Conv3d {
        let outChannels = shape.first ?? 0
        precondition(
            bn.channels == outChannels, "batch norm of \(bn.channels) channels after a conv with \(outChannels)")
        let (scale, shift) = bn.scaleAndShift
        var b = Tensor(shape: [outChannels])
        for o in 0..<outChannels { b.data[o] = Float(Double(bias?.data[o] ?? 0) * scale[o] + shift[o]) }
        return Conv3d(weights: weight, shape: shape, scale: scale, bias: b, stride: stride, padding: padding)
    }
}
