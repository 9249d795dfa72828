#!/usr/bin/env python3
"""The PyTorch peer of `decouple bench model`: times one backbone on the same weights and
input as the Swift run, in both memory layouts, and prints one JSON object.

`decouple bench model` runs this itself when a PyTorch venv exists (/tmp/torch-venv, or the
python named by DECOUPLE_TORCH_PYTHON). To make one:

    python3 -m venv /tmp/torch-venv
    /tmp/torch-venv/bin/pip install 'torch==2.13.0+cpu' safetensors numpy \
        --extra-index-url https://download.pytorch.org/whl/cpu

By hand:

    /tmp/torch-venv/bin/python scripts/bench_backbones_torch.py --model r2p1d-26 \
        --weights W.safetensors --input X.npy --threads 2 --batch 1 --runs 7 [--output Y.npy]

With --serve the script loads the model once and then times one forward pass per line read
from stdin, `THREADS BATCH LAYOUT`, answering one JSON line `{"ms": ...}`; `output PATH`
saves the contiguous output of the last batch size used. The Swift benchmark uses this to
alternate its own runs with PyTorch's, so that load from other processes on a shared machine
falls on both alike.

The model is scripts/cmd_backbones.py's re-typed module (same state-dict names as the
released checkpoints), in eval mode under torch.inference_mode(). Layouts: `contiguous`
(NCTHW) and `channels_last_3d` (model and input converted, docs/backbone.md §6); the best one is
PyTorch's figure. Times are medians of --runs forward passes after one warm-up pass, in ms
for the whole batch of the first --batch clips of the input. --output saves the contiguous
output for a parity check against the Swift output.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--config", default="")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--layouts", default="contiguous,channels_last_3d")
    ap.add_argument("--output")
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model, _, _ = cmd_backbones.build(args.model, args.config)
    missing, unexpected = model.load_state_dict(load_file(args.weights), strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{args.weights}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    if args.serve:
        serve(model, torch.from_numpy(np.load(args.input)))
        return
    x = torch.from_numpy(np.load(args.input))[: args.batch].contiguous()

    result = {"torch": torch.__version__, "threads": args.threads, "batch": args.batch, "ms": {}}
    for layout in args.layouts.split(","):
        fmt = torch.channels_last_3d if layout == "channels_last_3d" else torch.contiguous_format
        m = model.to(memory_format=fmt)
        xi = x.to(memory_format=fmt)
        with torch.inference_mode():
            y = m(xi)  # warm-up (oneDNN primitive creation)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                y = m(xi)
                times.append((time.perf_counter() - t0) * 1000)
        result["ms"][layout] = statistics.median(times)
        if args.output and layout == "contiguous":
            np.save(args.output, y.contiguous().numpy())
    best = min(result["ms"], key=result["ms"].get)
    result["best_layout"] = best
    result["best_ms_per_clip"] = result["ms"][best] / args.batch
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def serve(model, clips):
    """One timed forward pass per stdin line `THREADS BATCH LAYOUT`; `output PATH` saves."""
    warm = set()
    last = None
    with torch.inference_mode():
        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "output":
                np.save(parts[1], last.contiguous().numpy())
                print(json.dumps({"saved": parts[1]}), flush=True)
                continue
            threads, batch, layout = int(parts[0]), int(parts[1]), parts[2]
            torch.set_num_threads(threads)
            fmt = torch.channels_last_3d if layout == "channels_last_3d" else torch.contiguous_format
            m = model.to(memory_format=fmt)
            x = clips[:batch].contiguous().to(memory_format=fmt)
            if (threads, batch, layout) not in warm:
                m(x)  # warm-up (oneDNN primitive creation)
                warm.add((threads, batch, layout))
            t0 = time.perf_counter()
            y = m(x)
            ms = (time.perf_counter() - t0) * 1000
            if layout == "contiguous":
                last = y
            print(json.dumps({"ms": ms}), flush=True)


if __name__ == "__main__":
    main()
