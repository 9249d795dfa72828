#!/usr/bin/env python3
"""FLOPs of one CMD pretraining step (forward + backward) of Decouple's compact configuration,
counted by PyTorch's FlopCounterMode on modules re-typed from docs/method.md §4 (the same layer
lists as Sources/Models/TrainableBackbone.swift and Sources/Pretrain/CMDModel.swift).
Convolutions, matrix products and attention are counted; BN, ReLU, pooling are not (they are
memory-bound and small). Prints one JSON object. The compute floor in docs/training.md divides this
by the FMA peak of docs/backbone.md §3 (228 GFLOP/s on 2 cores).

    /tmp/torch-venv/bin/python scripts/cmd_flops.py [--batch 16]
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402
from make_training_fixtures import Predictor  # noqa: E402


def conv_bn(cin, cout, k, s, p):
    return nn.Sequential(nn.Conv3d(cin, cout, k, s, p, bias=False), nn.BatchNorm3d(cout), nn.ReLU())


class Basic(nn.Module):
    def __init__(self, cin, cout, stride, flat):
        super().__init__()
        k, p = ((1, 3, 3), (0, 1, 1)) if flat else (3, 1)
        s = (1, stride, stride) if flat else stride
        self.c1 = conv_bn(cin, cout, k, s, p)
        self.c2 = nn.Sequential(nn.Conv3d(cout, cout, k, 1, p, bias=False), nn.BatchNorm3d(cout))
        self.down = nn.Sequential(nn.Conv3d(cin, cout, 1, s, bias=False), nn.BatchNorm3d(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        r = x if self.down is None else self.down(x)
        return torch.relu(self.c2(self.c1(x)) + r)


class ResNet10(nn.Module):
    """frame2D (the I-frame net) or motion3D (the motion-vector net), BasicBlocks [1, 1, 1, 1]."""

    def __init__(self, flat, cin, widths):
        super().__init__()
        stem = conv_bn(cin, widths[0], (1, 7, 7), (1, 2, 2), (0, 3, 3)) if flat else conv_bn(cin, widths[0], (3, 7, 7), 1, (1, 3, 3))
        layers = [stem, nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))]
        cin = widths[0]
        for i, w in enumerate(widths):
            layers.append(Basic(cin, w, 2 if i > 0 else 1, flat))
            cin = w
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def head(cin, hidden, out):
    return nn.Sequential(nn.Linear(cin, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out, bias=False), nn.BatchNorm1d(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--config", default="planes=16,32,64,128 stem=16 size=64")
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--motion-size", type=int, default=32)
    a = ap.parse_args()
    b = a.batch
    backbone, frames, size = cmd_backbones.build("r2p1d-26", a.config)
    widths = [16, 32, 64, 128]
    frame_net, motion_net = ResNet10(True, 3, widths), ResNet10(False, 2, widths)
    counts = {}
    with FlopCounterMode(display=False) as fc:
        clips = torch.randn(b, 3, frames, size, size)
        out = backbone(clips)
        out.sum().backward()
    counts["backbone"] = fc.get_total_flops()
    fused = out.shape[1]
    with FlopCounterMode(display=False) as fc:
        f = frame_net(torch.randn(b, 3, 1, size, size)).mean((2, 3, 4))
        f.sum().backward()
    counts["frame_net"] = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc:
        m = motion_net(torch.randn(b * (1 + a.negatives), 2, 8, a.motion_size, a.motion_size))
        m.sum().backward()
    counts["motion_net"] = fc.get_total_flops()
    src = 2 * (size // 16) ** 2
    tgt = m.shape[2] * m.shape[3] * m.shape[4]
    pred = Predictor(fused, 128, 4, 2, 2, 128, src, tgt)
    heads = [head(128, 512, 128), head(widths[3], 512, 128), head(fused, 512, 128), head(widths[3], 512, 128)]
    with FlopCounterMode(display=False) as fc:
        p = pred(torch.randn(b, src, fused))
        q = heads[0](p.reshape(-1, 128))
        k = heads[1](torch.randn(b * (1 + a.negatives) * tgt, widths[3]))
        iq = heads[2](torch.randn(b, fused))
        ik = heads[3](torch.randn(b, widths[3]))
        (q @ k.t()).sum().add((iq @ ik.t()).sum()).backward()
    counts["predictor_heads_losses"] = fc.get_total_flops()
    total = sum(counts.values())
    print(json.dumps({"batch": b, "config": a.config, "gflop_per_step": total / 1e9,
                      "gflop_per_clip": total / 1e9 / b,
                      "parts_gflop": {k: v / 1e9 for k, v in counts.items()},
                      "fma_peak_floor_s_2_cores": total / 228e9,
                      "fma_peak_clips_per_s_2_cores": b / (total / 228e9)}, indent=1))


if __name__ == "__main__":
    main()
