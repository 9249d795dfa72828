#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures for the Swift backbones (Tests/ModelsTests).

Run (PyTorch is never needed by the build or the tests, only to regenerate these files):

    python3 -m venv /tmp/torch-venv
    /tmp/torch-venv/bin/pip install 'torch==2.13.0+cpu' safetensors numpy \
        --extra-index-url https://download.pytorch.org/whl/cpu
    /tmp/torch-venv/bin/python scripts/make_backbone_fixtures.py            # committed set
    /tmp/torch-venv/bin/python scripts/make_backbone_fixtures.py --full --out /tmp/full-fixture
    DECOUPLE_FULL_FIXTURE=/tmp/full-fixture swift test --filter "BackboneParityTests/fullSize"

The committed set (assets/fixtures/backbones/) holds narrow configurations of all three
architectures; --full writes the published R(2+1)D-26 at 1x3x16x112x112 (about 140 MB,
not for the repository).

For each fixture: the module from cmd_backbones.py (same state-dict names as the released
checkpoints), seeded, its default init, then batch-norm statistics and affine parameters
randomised so that no BN is an identity: running stats are set to the batch statistics of a
calibration pass on another random clip and then perturbed; BN weights U(0.5, 1.5), biases
N(0, 0.2). Files:

- <name>_weights.safetensors: the state dict (num_batches_tracked included, int64).
- <name>_io.safetensors: `input` [N, 3, T, H, W], every stage of forward_stages() in float32
  under its stage name, and `output_fp64` (the same weights in float64).

MANIFEST.json lists each fixture (model id, Swift config string, input shape, stages, file
names, torch's own float32-vs-float64 relative error per stage), the torch version, the seed
and a `sha256` table of every file. Tensor contents regenerate bit for bit; file hashes can change with the safetensors
version (header key order).
"""
import argparse
import copy
import hashlib
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402

SEED = 20211

# name, model id, Swift config string, batch. Odd widths and map sizes on purpose: maps of
# 7, 4, 2 and 1 exercise every padding edge; batch 2 exercises the clip loop.
NARROW = [
    ("r2p1d_narrow", "r2p1d-26", "planes=6,8,12,16 stem=10 frames=8 size=28", 2),
    ("r3d_narrow", "r3d-26", "planes=6,8,12,16 stem=10 frames=8 size=28", 2),
    ("c3d_narrow", "c3d", "channels=4,8,12,16,12 frames=8 size=24", 2),
]
FULL = [("r2p1d_full", "r2p1d-26", "", 1)]


def randomise_batch_norm(model, frames, size, generator):
    """Running stats from a calibration pass (momentum 1 keeps the last batch's statistics),
    then perturbed; affine parameters random."""
    calibration = torch.randn(2, 3, frames, size, size, generator=generator)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(calibration)
    model.eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                c = m.num_features
                m.momentum = 0.1
                std = m.running_var.clamp_min(1e-6).sqrt()
                m.running_mean += 0.1 * std * torch.randn(c, generator=generator)
                m.running_var *= torch.empty(c).uniform_(0.8, 1.25, generator=generator)
                m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=generator))
                m.bias.copy_(0.2 * torch.randn(c, generator=generator))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make(name, model_id, config, batch, out_dir, seed):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model, frames, size = cmd_backbones.build(model_id, config)
    randomise_batch_norm(model, frames, size, generator)
    x = torch.randn(batch, 3, frames, size, size, generator=generator)
    with torch.inference_mode():
        stages = model.forward_stages(x)
        stages64 = copy.deepcopy(model).double().forward_stages(x.double())
    weights = {k: v.contiguous() for k, v in model.state_dict().items()}
    io = {"input": x.contiguous()}
    spread = {}
    for (n, t), (_, t64) in zip(stages, stages64):
        io[n] = t.contiguous()
        spread[n] = float((t.double() - t64).abs().max() / t64.abs().max().clamp_min(1e-30))
    io["output_fp64"] = stages64[-1][1].contiguous()
    meta = {"model": model_id, "config": config, "seed": str(seed), "torch": torch.__version__}
    wpath = os.path.join(out_dir, f"{name}_weights.safetensors")
    iopath = os.path.join(out_dir, f"{name}_io.safetensors")
    save_file(weights, wpath, metadata=meta)
    save_file(io, iopath, metadata=meta)
    print(f"{name}: {len(weights)} tensors, input {list(x.shape)}, output {list(stages[-1][1].shape)}, "
          f"{os.path.getsize(wpath) + os.path.getsize(iopath)} bytes")
    return {
        "name": name,
        "model": model_id,
        "config": config,
        "input_shape": list(x.shape),
        "stages": [n for n, _ in stages],
        "stage_shapes": {n: list(t.shape) for n, t in stages},
        "torch_fp32_vs_fp64": spread,
        "weights": os.path.basename(wpath),
        "io": os.path.basename(iopath),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "assets", "fixtures", "backbones"))
    ap.add_argument("--full", action="store_true", help="write the full-size R(2+1)D-26 fixture instead")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    entries = [make(n, m, c, b, args.out, args.seed + i) for i, (n, m, c, b) in enumerate(FULL if args.full else NARROW)]
    manifest = {
        "generator": "scripts/make_backbone_fixtures.py",
        "modules": "scripts/cmd_backbones.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "seed": args.seed,
        "tolerance": "max |swift - torch| / max |torch| <= 1e-4 for every stage",
        "fixtures": entries,
        "sha256": {f: sha256(os.path.join(args.out, f)) for e in entries for f in (e["weights"], e["io"])},
    }
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
