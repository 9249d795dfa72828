import NN
import Tensor

// resnet26_2p1d (docs/method.md §7; Hara's 3D-ResNets-PyTorch `ResNet2p1d(Bottleneck, [2,2,2,2])`):
// every 3x3x3 conv is factorised into a 1x3x3 spatial conv to `mid` channels and a 3x1x1
// temporal conv, with mid chosen so the pair has the parameters of the 3x3x3 conv.

extension ResNetSpec {
    /// The R(2+1)D-26 layer list for `config` (any widths; the published one is 64/128/256/512).
    static func r2plus1d(_ config: BackboneConfig) -> ResNetSpec {
        let stem = config.stemChannels
        // n_3d_parameters // n_2p1d_parameters for the 3x7x7 stem: 83 at stem width 64.
        let stemMid = (3 * stem * 3 * 7 * 7) / (3 * 7 * 7 + 3 * stem)
        let stemConvs = [
            ConvSpec(
                conv: "conv1_s", bn: "bn1_s", inChannels: 3, outChannels: stemMid, kernel: Dim3(1, 7, 7),
                stride: Dim3(1, 2, 2), padding: Dim3(0, 3, 3)),
            ConvSpec(
                conv: "conv1_t", bn: "bn1_t", inChannels: stemMid, outChannels: stem, kernel: Dim3(3, 1, 1),
                padding: Dim3(1, 0, 0)),
        ]
        return ResNetSpec(config: config, stem: stemConvs) { prefix, inPlanes, planes, stride in
            // floor(w*w*27 / (w*9 + w*3)) = floor(2.25 w): 144, 288, 576, 1152 at full width.
            let mid = (planes * planes * 27) / (planes * 9 + 3 * planes)
            return [
                ConvSpec(
                    conv: prefix + "conv2_s", bn: prefix + "bn2_s", inChannels: planes, outChannels: mid,
                    kernel: Dim3(1, 3, 3), stride: Dim3(1, stride, stride), padding: Dim3(0, 1, 1)),
                ConvSpec(
                    conv: prefix + "conv2_t", bn: prefix + "bn2_t", inChannels: mid, outChannels: planes,
                    kernel: Dim3(3, 1, 1), stride: Dim3(stride, 1, 1), padding: Dim3(1, 0, 0)),
            ]
        }
    }
}
