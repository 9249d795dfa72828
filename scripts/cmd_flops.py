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
    frame_net, motion_net = cmd_backbones.ResNet10(True, 3, widths), cmd_backbones.ResNet10(False, 2, widths)
    counts = {}
    with FlopCounterMode(display=False) as fc:
        clips = torch.randn(b, 3, frames, size, size)
        out = backbone(clips)
        out.sum().backward()
    counts["backbone"] = fc.get_total_flops()
    fused = out.shape[1]
    with FlopCounterMode(display=False) as fc:
        f = frame_net(torch.randn(b, 3, 1, size, size))
        f.sum().backward()
    counts["frame_net"] = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc:
        m = dict(motion_net.forward_stages(torch.randn(b * (1 + a.negatives), 2, 8, a.motion_size, a.motion_size)))["layer4"]
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
