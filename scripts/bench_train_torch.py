#!/usr/bin/env python3
"""The PyTorch peer of `decouple bench train`: times training steps of the same model and
loss as the Swift benchmark and prints one JSON object.

`decouple bench train` runs this itself when a PyTorch venv exists (/tmp/torch-venv, or the
python named by DECOUPLE_TORCH_PYTHON). By hand:

    /tmp/torch-venv/bin/python scripts/bench_train_torch.py --model r2p1d-26 \
        --config "planes=16,32,64,128 stem=16" --threads 2 --batch 8 --frames 16 --size 112 --runs 3

A step is what the Swift side times: zero_grad, forward of scripts/cmd_backbones.py's
re-typed backbone (train mode, batch statistics), Linear head to 128, L2 normalisation,
InfoNCE (temperature 0.1) against fixed random keys, backward, SGD (momentum 0.9, Nesterov,
weight decay 1e-3). Median of --runs steps after one warm-up step, in ms; peak_mb is the
process's peak resident memory (ru_maxrss).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="r2p1d-26")
    ap.add_argument("--config", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, _, _ = cmd_backbones.build(args.model, args.config)
    model.train()
    dim = model(torch.zeros(2, 3, args.frames, args.size, args.size)).shape[1]
    head = nn.Linear(dim, 128)
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-3)
    x = torch.randn(args.batch, 3, args.frames, args.size, args.size)
    keys = F.normalize(torch.randn(args.batch, 128), dim=1)
    targets = torch.arange(args.batch)

    def step():
        opt.zero_grad()
        q = F.normalize(head(model(x)), dim=1)
        loss = F.cross_entropy(q @ keys.t() / 0.1, targets)
        loss.backward()
        opt.step()
        return loss.item()

    step()
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"step_ms": statistics.median(times), "times_ms": times,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
