"""The three CMD backbones in PyTorch, re-typed from docs/method.md §7 (Hara's 3D-ResNets-PyTorch
ResNet2p1d / ResNet with Bottleneck [2, 2, 2, 2], and C3D with batch norm after DavideA's
c3d-pytorch), with the same state-dict names and shapes as the released checkpoints.

Used only by the scripts in this directory (fixtures and the benchmark's PyTorch peer); the
Swift build and tests never need Python. `widths`, `stem` and `blocks` give the narrow
configurations the Swift `BackboneConfig` builds; the defaults are the published networks.

Every model has `forward(x) -> [N, D]` and `forward_stages(x) -> list of (name, tensor)` with
the stage names of the Swift `Backbone.stageNames`.
`ResNet10` is CMD's I-frame or motion-vector network (Swift `ResNet10Config`), with the same
key names as the Swift `TrainableBackbone(resnet10:)`.
"""
import torch
import torch.nn as nn


def conv1x1x1(in_planes, out_planes, stride=1):
    return nn.Conv3d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck2p1d(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1x1(in_planes, planes)
        self.bn1 = nn.BatchNorm3d(planes)
        n_3d_parameters = planes * planes * 3 * 3 * 3
        n_2p1d_parameters = planes * 3 * 3 + 3 * planes
        mid_planes = n_3d_parameters // n_2p1d_parameters
        self.conv2_s = nn.Conv3d(planes, mid_planes, kernel_size=(1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
        self.bn2_s = nn.BatchNorm3d(mid_planes)
        self.conv2_t = nn.Conv3d(mid_planes, planes, kernel_size=(3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False)
        self.bn2_t = nn.BatchNorm3d(planes)
        self.conv3 = conv1x1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm3d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2_s(self.conv2_s(out)))
        out = self.relu(self.bn2_t(self.conv2_t(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class Bottleneck3d(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1x1(in_planes, planes)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = conv1x1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm3d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class ResNet26(nn.Module):
    """resnet26_2p1d (factorised=True) or resnet26_3d (factorised=False), num_classes=None."""

    def __init__(self, factorised, widths=(64, 128, 256, 512), stem=64, blocks=(2, 2, 2, 2)):
        super().__init__()
        self.factorised = factorised
        self.in_planes = stem
        if factorised:
            n_3d_parameters = 3 * stem * 3 * 7 * 7
            n_2p1d_parameters = 3 * 7 * 7 + 3 * stem
            mid_planes = n_3d_parameters // n_2p1d_parameters
            self.conv1_s = nn.Conv3d(3, mid_planes, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False)
            self.bn1_s = nn.BatchNorm3d(mid_planes)
            self.conv1_t = nn.Conv3d(mid_planes, stem, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False)
            self.bn1_t = nn.BatchNorm3d(stem)
            block = Bottleneck2p1d
        else:
            self.conv1 = nn.Conv3d(3, stem, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
            self.bn1 = nn.BatchNorm3d(stem)
            block = Bottleneck3d
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.layer1 = self._make_layer(block, widths[0], blocks[0], 1)
        self.layer2 = self._make_layer(block, widths[1], blocks[1], 2)
        self.layer3 = self._make_layer(block, widths[2], blocks[2], 2)
        self.layer4 = self._make_layer(block, widths[3], blocks[3], 2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        for m in self.modules():
            if isinstance(m, (Bottleneck2p1d, Bottleneck3d)):
                nn.init.constant_(m.bn3.weight, 0)

    def _make_layer(self, block, planes, n, stride):
        downsample = None
        if stride != 1 or self.in_planes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1x1(self.in_planes, planes * block.expansion, stride), nn.BatchNorm3d(planes * block.expansion))
        layers = [block(self.in_planes, planes, stride, downsample)]
        self.in_planes = planes * block.expansion
        for _ in range(1, n):
            layers.append(block(self.in_planes, planes))
        return nn.Sequential(*layers)

    def forward_stages(self, x):
        stages = []
        if self.factorised:
            x = self.relu(self.bn1_s(self.conv1_s(x)))
            x = self.relu(self.bn1_t(self.conv1_t(x)))
        else:
            x = self.relu(self.bn1(self.conv1(x)))
        stages.append(("stem_conv", x))
        x = self.maxpool(x)
        stages.append(("stem", x))
        for li, layer in enumerate([self.layer1, self.layer2, self.layer3, self.layer4]):
            for bi, blk in enumerate(layer):
                x = blk(x)
                name = f"layer{li + 1}" if bi == len(layer) - 1 else f"layer{li + 1}.{bi}"
                stages.append((name, x))
        x = self.avgpool(x).flatten(1)
        stages.append(("output", x))
        return stages

    def forward(self, x):
        return self.forward_stages(x)[-1][1]


class C3DBN(nn.Module):
    """C3D with BN, no pool5/fc: global average of conv5b."""

    def __init__(self, widths=(64, 128, 256, 512, 512)):
        super().__init__()
        c = widths
        def conv(i, o):
            return nn.Conv3d(i, o, kernel_size=(3, 3, 3), padding=(1, 1, 1))
        self.conv1, self.bn1 = conv(3, c[0]), nn.BatchNorm3d(c[0])
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2, self.bn2 = conv(c[0], c[1]), nn.BatchNorm3d(c[1])
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv3a, self.bn3a = conv(c[1], c[2]), nn.BatchNorm3d(c[2])
        self.conv3b, self.bn3b = conv(c[2], c[2]), nn.BatchNorm3d(c[2])
        self.pool3 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv4a, self.bn4a = conv(c[2], c[3]), nn.BatchNorm3d(c[3])
        self.conv4b, self.bn4b = conv(c[3], c[3]), nn.BatchNorm3d(c[3])
        self.pool4 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv5a, self.bn5a = conv(c[3], c[4]), nn.BatchNorm3d(c[4])
        self.conv5b, self.bn5b = conv(c[4], c[4]), nn.BatchNorm3d(c[4])
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward_stages(self, x):
        stages = []
        order = ["1", "pool1", "2", "pool2", "3a", "3b", "pool3", "4a", "4b", "pool4", "5a", "5b"]
        for step in order:
            if step.startswith("pool"):
                x = getattr(self, step)(x)
                stages.append((step, x))
            else:
                x = self.relu(getattr(self, "bn" + step)(getattr(self, "conv" + step)(x)))
                stages.append(("conv" + step, x))
        x = self.avgpool(x).flatten(1)
        stages.append(("output", x))
        return stages

    def forward(self, x):
        return self.forward_stages(x)[-1][1]


class BasicBlock(nn.Module):
    """Hara's BasicBlock: conv1, bn1, ReLU, conv2, bn2, + shortcut (downsample.0/1), ReLU.
    `flat` makes the 3x3x3 convs 1x3x3 with stride (1, s, s) (CMD's 2D I-frame network)."""

    def __init__(self, in_planes, planes, stride, flat):
        super().__init__()
        k, p = ((1, 3, 3), (0, 1, 1)) if flat else (3, 1)
        s = (1, stride, stride) if flat else stride
        self.conv1 = nn.Conv3d(in_planes, planes, k, s, p, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, k, 1, p, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv3d(in_planes, planes, 1, s, bias=False), nn.BatchNorm3d(planes))

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + residual)


class ResNet10(nn.Module):
    """CMD's helper networks (Swift `ResNet10Config`), BasicBlocks [1, 1, 1, 1], Hara's key
    names: `frame` is the I-frame network (1x7x7 stem stride (1, 2, 2), 1x3x3 convs), otherwise
    the motion-vector network (3x7x7 stem with stride (1, s, s), 3x3x3 convs, layers 2-4
    stride 2 in time and space); both with max pool 1x3x3 stride (1, 2, 2) after the stem."""

    def __init__(self, frame, in_channels, widths=(64, 128, 256, 512), stem=None, stem_stride=1):
        super().__init__()
        stem = stem or widths[0]
        if frame:
            self.conv1 = nn.Conv3d(in_channels, stem, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False)
        else:
            self.conv1 = nn.Conv3d(in_channels, stem, (3, 7, 7), (1, stem_stride, stem_stride), (1, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        cin = stem
        for i, w in enumerate(widths):
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, w, 2 if i > 0 else 1, frame)))
            cin = w

    def forward_stages(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        stages = [("stem", x)]
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
            stages.append((f"layer{i + 1}", x))
        stages.append(("output", x.mean((2, 3, 4))))
        return stages

    def forward(self, x):
        return self.forward_stages(x)[-1][1]


def parse_config(model, config=""):
    """Mirror of BackboneConfig.applying(overrides:): returns (kwargs for build, frames, size)."""
    kw = {}
    frames, size = 16, 112
    for item in config.replace(";", " ").split():
        key, value = item.split("=", 1)
        values = [int(v) for v in value.split(",")]
        if key in ("planes", "channels", "widths"):
            kw["widths"] = tuple(values)
        elif key == "stem":
            kw["stem"] = values[0]
        elif key == "blocks":
            kw["blocks"] = tuple(values)
        elif key == "frames":
            frames = values[0]
        elif key == "size":
            size = values[0]
        else:
            raise ValueError(f"unknown config key {key}")
    return kw, frames, size


def build(model, config=""):
    """The module for a Swift model id (r2p1d-26, r3d-26, c3d) and config string."""
    kw, frames, size = parse_config(model, config)
    if model == "r2p1d-26":
        return ResNet26(True, **kw), frames, size
    if model == "r3d-26":
        return ResNet26(False, **kw), frames, size
    if model == "c3d":
        return C3DBN(**kw), frames, size
    raise ValueError(f"unknown model {model}")
