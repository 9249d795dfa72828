#!/usr/bin/env python3
"""Regenerates assets/fixtures/checkpoints: small files written by torch.save, for
`decouple convert` and the Swift checkpoint reader (Tests/SafeTensorsTests).

Every .pt file here is what torch.save itself writes (zip archive, data.pkl, storages):

- r2p1d_narrow.pt           the state dict (OrderedDict, num_batches_tracked included) of a narrow
                            R(2+1)D-26 (`planes=6,8,12,16 stem=10`, the Swift BackboneConfig
                            override string is in the manifest), seeded, BN statistics randomised
                            as in make_backbone_fixtures.py so no layer is an identity.
- r2p1d_narrow_legacy.pt    the same state dict in the format of PyTorch before 1.6
                            (`_use_new_zipfile_serialization=False`: pickles, then raw storages).
- r2p1d_narrow_wrapped.pt   {"epoch", "best_acc", "arch", "state_dict": {"module." + key: ...},
                            "optimizer": SGD state with momentum buffers of the stem}: a training checkpoint of
                            the same weights, as nn.DataParallel training scripts save them.
- cmd_pretrain_narrow.pt    {"model": {"rgb_backbone." + key, two "m_backbone." keys, "fc.weight"}}:
                            the layout of a CMD pretraining checkpoint (convert with
                            --prefix rgb_backbone.).
- r2p1d_narrow_wrong_shape.pt, r2p1d_narrow_missing_key.pt: broken state dicts for the errors.
- views.pt                  tensors that are views (transposed, sliced, offset) and of every
                            storage type; views_expected.safetensors holds their values as
                            contiguous float32 (written by safetensors, not torch.save).
- whole_module.pt           torch.save of a module object rather than its state dict.
- r2p1d_narrow_io.safetensors  `input` [1, 3, 8, 28, 28] and PyTorch's `output` for it (eval mode),
                            plus `output_fp64` from the same weights in float64.

Usage (PyTorch is needed only to regenerate these files, never by the build or the tests):
    /tmp/torch-venv/bin/python scripts/make_checkpoint_fixtures.py
"""
import collections
import copy
import hashlib
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402
from make_backbone_fixtures import randomise_batch_norm  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "fixtures", "checkpoints")
MODEL = "r2p1d-26"
CONFIG = "planes=6,8,12,16 stem=10 frames=8 size=28"
SEED = 20213


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    model, frames, size = cmd_backbones.build(MODEL, CONFIG)
    randomise_batch_norm(model, frames, size, generator)
    model.eval()
    state = model.state_dict()
    files = {}

    def save(obj, name):
        torch.save(obj, os.path.join(OUT, name))
        files[name] = None

    save(state, "r2p1d_narrow.pt")
    torch.save(state, os.path.join(OUT, "r2p1d_narrow_legacy.pt"), _use_new_zipfile_serialization=False)
    files["r2p1d_narrow_legacy.pt"] = None

    # A training checkpoint: DataParallel prefix, optimizer state with momentum buffers.
    trained = copy.deepcopy(model)
    # Momentum buffers for the stem only: enough to put tensors in the optimizer state.
    stem = [trained.conv1_s.weight, trained.bn1_s.weight, trained.conv1_t.weight]
    optimizer = torch.optim.SGD(stem, lr=0.1, momentum=0.9, weight_decay=1e-4)
    for p in stem:
        p.grad = torch.zeros_like(p)
    optimizer.step()
    wrapped = collections.OrderedDict((f"module.{k}", v) for k, v in state.items())
    save({"epoch": 7, "best_acc": 0.625, "arch": "resnet26_2p1d", "state_dict": wrapped,
          "optimizer": optimizer.state_dict()}, "r2p1d_narrow_wrapped.pt")

    # The CMD pretraining layout: several sub-networks in one dict.
    pretrain = collections.OrderedDict()
    for k, v in state.items():
        pretrain[f"rgb_backbone.{k}"] = v
    pretrain["m_backbone.conv1_s.weight"] = torch.randn(12, 2, 1, 7, 7, generator=generator)
    pretrain["m_backbone.bn1_s.num_batches_tracked"] = torch.tensor(3)
    pretrain["fc.weight"] = torch.randn(8, 64, generator=generator)
    save({"model": pretrain, "epoch": 1}, "cmd_pretrain_narrow.pt")

    # Broken state dicts.
    wrong = collections.OrderedDict(state)
    wrong["layer2.0.conv2_s.weight"] = torch.randn(19, 8, 1, 3, 3, generator=generator)
    wrong["bn1_s.running_var"] = torch.ones(12)
    save(wrong, "r2p1d_narrow_wrong_shape.pt")
    missing = collections.OrderedDict(state)
    del missing["conv1_t.weight"]
    del missing["layer3.1.bn2_t.running_mean"]
    save(missing, "r2p1d_narrow_missing_key.pt")

    # Views and storage types.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    views = collections.OrderedDict([
        ("transposed", base.t()),
        ("sliced", base[1:3, 2:5]),
        ("row", base[2]),
        ("strided", base[:, ::2]),
        ("float16", (base - 1.5).half()),
        ("bfloat16", (base * 3.25).bfloat16()),
        ("float64", base.double() / 3),
        ("int64", torch.tensor([-5, 0, 7, 1 << 40])),
        ("int32", torch.tensor([-3, 2], dtype=torch.int32)),
        ("uint8", torch.tensor([0, 200, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
    ])
    save(views, "views.pt")
    expected = {k: v.float().contiguous().numpy() for k, v in views.items()}
    save_numpy(expected, os.path.join(OUT, "views_expected.safetensors"))
    files["views_expected.safetensors"] = None

    save(torch.nn.Linear(3, 2), "whole_module.pt")

    # PyTorch's output on a fixture input, for the convert -> load -> forward check.
    x = torch.randn(1, 3, frames, size, size, generator=generator)
    with torch.inference_mode():
        out = model(x)
        out64 = copy.deepcopy(model).double()(x.double())
    save_file({"input": x.contiguous(), "output": out.contiguous(), "output_fp64": out64.contiguous()},
              os.path.join(OUT, "r2p1d_narrow_io.safetensors"), metadata={"model": MODEL, "config": CONFIG})
    files["r2p1d_narrow_io.safetensors"] = None

    manifest = {
        "generator": "scripts/make_checkpoint_fixtures.py",
        "modules": "scripts/cmd_backbones.py",
        "torch": torch.__version__,
        "seed": SEED,
        "model": MODEL,
        "config": CONFIG,
        "state_dict_keys": len(state),
        "broken": {
            "r2p1d_narrow_wrong_shape.pt": {"layer2.0.conv2_s.weight": [19, 8, 1, 3, 3], "bn1_s.running_var": [12]},
            "r2p1d_narrow_missing_key.pt": ["conv1_t.weight", "layer3.1.bn2_t.running_mean"],
        },
        "sha256": {name: sha256(os.path.join(OUT, name)) for name in sorted(files)},
    }
    with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in files)
    print(f"wrote {len(files)} files, {total / 1e3:.0f} KB, torch {torch.__version__}, {len(state)} keys")


if __name__ == "__main__":
    main()
