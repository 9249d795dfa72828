import NN
import Tensor

/// A `TrainableBackbone` frozen for inference, as the scene and motion views run CMD's helper
/// networks: every batch norm folded into its conv with its running statistics, each conv's
/// engine (weight layout, Winograd form) built once instead of on every call, the residual
/// add and ReLU fused into the conv, max pools without the indices a backward pass needs.
/// Its maps are the evaluation-mode `forward`'s up to rounding (`FrozenBackboneTests`).
///
/// A copy: later changes to the trainable network's parameters do not reach it.
public struct FrozenBackbone: Sendable {
    enum Step: Sendable {
        case conv(Conv3d)
        case pool(MaxPool3d)
        /// Convs in a chain (ReLU after each), the shortcut (`downsample` or the identity)
        /// added into the last before its ReLU.
        case block(convs: [Conv3d], downsample: Conv3d?)
    }

    let steps: [(step: Step, stage: String?)]
    public var stageNames: [String] { steps.compactMap(\.stage) }

    public init(_ net: TrainableBackbone) {
        func folded(_ u: TrainableBackbone.Unit) -> Conv3d {
            let bn = u.bn
            return Conv3d.folding(
                weight: u.conv.weight.value, bias: u.conv.bias?.value,
                batchNorm: BatchNorm3d(
                    weight: bn.weight.value, bias: bn.bias.value, runningMean: bn.runningMean.value,
                    runningVar: bn.runningVar.value, eps: bn.eps),
                stride: u.conv.stride, padding: u.conv.padding)
        }
        steps = net.steps.map { step, stage in
            switch step {
            case .unit(let u): return (.conv(folded(u)), stage)
            case .pool(let p): return (.pool(p.pool), stage)
            case .block(let b): return (.block(convs: b.units.map(folded), downsample: b.downsample.map(folded)), stage)
            }
        }
    }

    /// `x [N, Cin, T, H, W]` → the stages and the global average of the last map computed;
    /// with `through`, the pass stops after that stage. Convs run clips across `threads`.
    public func forward(_ x: Tensor, threads: Int = 1, through: String? = nil) -> (
        stages: [String: Tensor], pooled: Tensor
    ) {
        precondition(through.map(stageNames.contains) ?? true, "no stage named \(through!)")
        var h = x
        var stages: [String: Tensor] = [:]
        for (step, stage) in steps {
            switch step {
            case .conv(let c):
                h = Conv3dLayer.convolve(c, h, relu: true, threads: threads)
            case .pool(let p):
                h = p.forward(h, threads: threads)
            case .block(let convs, let downsample):
                let shortcut = downsample.map { Conv3dLayer.convolve($0, h, threads: threads) } ?? h
                for (i, c) in convs.enumerated() {
                    let last = i == convs.count - 1
                    h = Conv3dLayer.convolve(c, h, residual: last ? shortcut : nil, relu: true, threads: threads)
                }
            }
            if let stage { stages[stage] = h }
            if let through, stage == through { break }
        }
        return (stages, GlobalAveragePool3d.forward(h))
    }
}
