import NN
import Tensor

// resnet26_3d (docs/method.md §7; Hara's `ResNet(Bottleneck, [2,2,2,2])` with a 3x7x7 stem):
// the same bottleneck network as R(2+1)D-26 with full 3x3x3 convs.

extension ResNetSpec {
    /// The R3D-26 layer list for `config`.
    static func r3d(_ config: BackboneConfig) -> ResNetSpec {
        let stemConvs = [
            ConvSpec(
                conv: "conv1", bn: "bn1", inChannels: 3, outChannels: config.stemChannels, kernel: Dim3(3, 7, 7),
                stride: Dim3(1, 2, 2), padding: Dim3(1, 3, 3))
        ]
        return ResNetSpec(config: config, stem: stemConvs) { prefix, inPlanes, planes, stride in
            [
                ConvSpec(
                    conv: prefix + "conv2", bn: prefix + "bn2", inChannels: planes, outChannels: planes,
                    kernel: Dim3(all: 3), stride: Dim3(all: stride), padding: Dim3(all: 1))
            ]
        }
    }
}
