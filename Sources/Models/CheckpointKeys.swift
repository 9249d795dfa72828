/// One tensor a backbone checkpoint must hold: its state-dict name (as PyTorch names it, no
/// prefix) and shape.
public struct CheckpointKey: Sendable, Equatable, CustomStringConvertible {
    /// What the tensor is, which decides its random initialisation.
    public enum Role: Sendable, Equatable {
        case convWeight
        case convBias
        case bnWeight
        case bnBias
        case bnRunningMean
        case bnRunningVar
    }

    public var name: String
    public var shape: [Int]
    public var role: Role

    public var description: String { "\(name) \(shape)" }
}

/// The checkpoint key table: every tensor of a backbone's state dict, in module order, derived
/// from the same layer lists that build the model (R2Plus1D.swift, R3D.swift, C3D.swift).
///
/// The full-width R(2+1)D-26 has 190 float tensors (38 convs + 38 BNs), docs/method.md §7.1;
/// PyTorch files add one `num_batches_tracked` per BN, which loading ignores.
public enum CheckpointKeys {
    /// Every key of `config`'s state dict with its shape.
    public static func table(for config: BackboneConfig) -> [CheckpointKey] {
        var keys: [CheckpointKey] = []
        for s in convSpecs(config) {
            keys.append(CheckpointKey(name: s.conv + ".weight", shape: s.weightShape, role: .convWeight))
            if s.hasBias { keys.append(CheckpointKey(name: s.conv + ".bias", shape: [s.outChannels], role: .convBias)) }
            keys.append(CheckpointKey(name: s.bn + ".weight", shape: [s.outChannels], role: .bnWeight))
            keys.append(CheckpointKey(name: s.bn + ".bias", shape: [s.outChannels], role: .bnBias))
            keys.append(CheckpointKey(name: s.bn + ".running_mean", shape: [s.outChannels], role: .bnRunningMean))
            keys.append(CheckpointKey(name: s.bn + ".running_var", shape: [s.outChannels], role: .bnRunningVar))
        }
        return keys
    }

    /// The batch-norm prefixes of `config` (whose `<prefix>.num_batches_tracked` is ignored).
    public static func batchNormPrefixes(for config: BackboneConfig) -> [String] {
        convSpecs(config).map(\.bn)
    }

    /// Number of trainable parameters (conv weights and biases, BN weights and biases).
    public static func parameterCount(for config: BackboneConfig) -> Int {
        table(for: config).filter { $0.role != .bnRunningMean && $0.role != .bnRunningVar }.reduce(0) {
            $0 + $1.shape.reduce(1, *)
        }
    }

    static func convSpecs(_ config: BackboneConfig) -> [ConvSpec] {
        switch config.architecture {
        case .r2plus1d: return ResNetSpec.r2plus1d(config).convs
        case .r3d: return ResNetSpec.r3d(config).convs
        case .c3d: return C3DSpec(config: config).convs
        }
    }
}
