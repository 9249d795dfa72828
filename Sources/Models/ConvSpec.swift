import NN
import SafeTensors
import Tensor

/// One conv of a backbone and the batch norm after it, as the checkpoint names them. The key
/// table, random initialisation and loading are all derived from these specs, so the names
/// live in one place per architecture (R2Plus1D.swift, R3D.swift, C3D.swift).
struct ConvSpec: Sendable {
    /// Checkpoint prefix of the conv: `<conv>.weight`, and `<conv>.bias` when `hasBias`.
    var conv: String
    /// Checkpoint prefix of the batch norm: `<bn>.weight`, `.bias`, `.running_mean`, `.running_var`.
    var bn: String
    var inChannels: Int
    var outChannels: Int
    var kernel: Dim3
    var stride: Dim3 = Dim3(all: 1)
    var padding: Dim3 = Dim3(all: 0)
    var hasBias = false
    /// Random init sets this BN's weight to 0 instead of 1 (ResNet `zero_init_residual`).
    var zeroInitBN = false

    var weightShape: [Int] { [outChannels, inChannels, kernel.t, kernel.h, kernel.w] }

    /// The conv with its BN folded in (bias = BN shift), from a checked source: the weight is
    /// read in place and written once, scaled, in the layout the conv runs on.
    func folded(_ source: TensorSource) -> Conv3d {
        let c = [outChannels]
        let b = hasBias ? source.tensor(conv + ".bias", shape: c) : nil
        let norm = BatchNorm3d(
            weight: source.tensor(bn + ".weight", shape: c), bias: source.tensor(bn + ".bias", shape: c),
            runningMean: source.tensor(bn + ".running_mean", shape: c),
            runningVar: source.tensor(bn + ".running_var", shape: c))
        return source.withFloats(conv + ".weight") { w in
            Conv3d.folding(weight: w, shape: weightShape, bias: b, batchNorm: norm, stride: stride, padding: padding)
        }
    }
}

extension FloatTensor {
    /// The same values as a `Tensor`.
    var tensor: Tensor { Tensor(shape: shape, data: values) }
}
