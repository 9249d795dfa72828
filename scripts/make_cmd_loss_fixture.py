#!/usr/bin/env python3
"""Writes assets/fixtures/cmd_loss/: the two CMD losses (docs/method.md §5) computed by PyTorch.

Raw projection-head outputs (before L2 normalisation), seeded, with queries correlated to their
targets so the losses sit well below log(N):
- context matching: `context.clips` [B, D] (iq) against `context.frames` [B, D] (ik), target b;
- pointwise motion prediction: `motion.predicted` [B, P, D] (mq) against every target token of
  the batch, built as the official code gathers them: the positive (future) motion clips
  `motion.positive` [B, P, D] followed by the negative (other-time) clips `motion.negatives`
  [B, N, P, D]; the target of (b, p) is position p of clip b's positive.
Stored per loss: the loss and the gradients of `weight * loss` with respect to the raw inputs
(weights 0.25 for context and 1 for motion, as the Swift step scales them), computed in float64
from the float32 inputs. Regenerate with

    /tmp/torch-venv/bin/python scripts/make_cmd_loss_fixture.py --out assets/fixtures/cmd_loss
"""
import argparse
import hashlib
import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 2021
TAU = 0.1
B, P, N, D = 4, 6, 3, 16
CONTEXT_WEIGHT, MOTION_WEIGHT = 0.25, 1.0


def loss_and_grads(queries, keys, targets, weight):
    q = queries.double().requires_grad_(True)
    k = keys.double().requires_grad_(True)
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).t() / TAU
    loss = F.cross_entropy(logits, targets)
    (weight * loss).backward()
    return loss.detach(), q.grad, k.grad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(SEED)
    t = {}

    frames = torch.randn(B, D, generator=g)
    clips = frames + 1.5 * torch.randn(B, D, generator=g)
    loss, dq, dk = loss_and_grads(clips, frames, torch.arange(B), CONTEXT_WEIGHT)
    t.update({"context.clips": clips, "context.frames": frames, "context.loss": loss.reshape(1),
              "context.dclips": dq, "context.dframes": dk})

    positive = torch.randn(B, P, D, generator=g)
    negatives = torch.randn(B, N, P, D, generator=g)
    predicted = positive + 1.5 * torch.randn(B, P, D, generator=g)
    keys = torch.cat([positive.reshape(B * P, D), negatives.reshape(B * N * P, D)])
    loss, dq, dk = loss_and_grads(predicted.reshape(B * P, D), keys, torch.arange(B * P), MOTION_WEIGHT)
    t.update({"motion.predicted": predicted, "motion.positive": positive, "motion.negatives": negatives,
              "motion.loss": loss.reshape(1), "motion.dpredicted": dq.reshape(B, P, D),
              "motion.dtargets": dk})

    path = os.path.join(out, "cmd_losses.safetensors")
    save_file({k: v.to(torch.float32).contiguous() for k, v in t.items()}, path)
    manifest = {
        "generator": "scripts/make_cmd_loss_fixture.py", "torch": torch.__version__, "seed": SEED, "temperature": TAU,
        "shapes": {"batch": B, "positions": P, "negatives": N, "dim": D},
        "weights": {"context": CONTEXT_WEIGHT, "motion": MOTION_WEIGHT},
        "losses": {"context": float(t["context.loss"]), "motion": float(t["motion.loss"])},
        "sha256": {"cmd_losses.safetensors": hashlib.sha256(open(path, "rb").read()).hexdigest()},
    }
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest["losses"]))


if __name__ == "__main__":
    main()
