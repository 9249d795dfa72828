#!/usr/bin/env python3
"""The PyTorch peer of `decouple bench pretrain`: the same CMD model and training step as the
Swift side, with the Swift model's freshly initialised weights and the same batch.

`decouple bench pretrain` runs this itself as a line server when a PyTorch venv exists
(/tmp/torch-venv, or the python named by DECOUPLE_TORCH_PYTHON):

    /tmp/torch-venv/bin/python scripts/bench_pretrain_torch.py --state STATE.safetensors --threads 2

STATE.safetensors (written by the Swift side) holds every parameter and batch-norm statistic
under CMD's names (`rgb_backbone.*`, `i_backbone.*`, `m_backbone.*`, `fc`, `k_embedding`,
`q_embedding`, `transformer.*`, `{mq,mk,iq,ik}_head.*`), the batch (`batch.clips`,
`batch.iframes`, `batch.motion`) and, in its metadata, the configuration. Each request line on
stdin is answered with one JSON line on stdout:

- `parity`: one step with dropout off (both sides do this first, from the same weights, so the
  losses can be compared); answers the losses.
- `step`: one timed step; answers `ms` and the losses.
- `stats`: the process's peak resident memory (ru_maxrss) and torch's version.

A step is the Swift `Trainer`'s: zero the gradients, the backbone (train mode) and its clip map
(layer3 folded over time + layer4 upsampled), the predictor on the map's tokens and the mq head,
the motion-vector network on every motion clip (positives, then negatives) and the mk head,
pointwise motion InfoNCE; the iq head on the map's average, the I-frame network and the ik head,
context InfoNCE; the weighted sum backward; gradient clipping; SGD (Nesterov, weight decay on
weights only). The modules come from scripts/cmd_backbones.py (backbones, ResNet-10s) and
scripts/make_training_fixtures.py (the predictor).
"""
import argparse
import copy as copy_module
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402
from make_training_fixtures import Predictor, Transformer  # noqa: E402


def head(cin, hidden, out):
    """CMD's projection head: 1x1 Conv1d, BN, ReLU, 1x1 Conv1d without bias, BN."""
    return nn.Sequential(nn.Conv1d(cin, hidden, 1), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Conv1d(hidden, out, 1, bias=False), nn.BatchNorm1d(out))


def rows(h, x):
    """A head on rows [R, C] (BatchNorm1d statistics over the R rows, as Swift's)."""
    return h(x.unsqueeze(-1)).squeeze(-1)


def clip_map(l3, l4):
    """layer3 with time folded into channels (even times, then odd) + layer4 upsampled
    (nearest) to the same size: Swift's FeatureFusion.forward."""
    n, c, t, h, w = l3.shape
    folded = l3.reshape(n, c, t // 2, 2, h, w).permute(0, 3, 1, 2, 4, 5).reshape(n, 2 * c, t // 2, h, w)
    return folded + F.interpolate(l4, size=(t // 2, h, w), mode="nearest")


def tokens(x):
    """[N, C, T, H, W] -> [N, T*H*W, C]."""
    return x.flatten(2).transpose(1, 2)


def infonce(q, k, tau):
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).t() / tau
    return F.cross_entropy(logits, torch.arange(q.shape[0]))


class CMD(Predictor):
    """The whole CMD model under the Swift CMDModel's names (the predictor's at the top level,
    as in CMD's checkpoint)."""

    def __init__(self, m):
        fused = m["fused_channels"]
        d = m["predictor_dim"]
        super().__init__(fused, d, m["heads"], m["encoder_layers"], m["decoder_layers"], d, m["source_tokens"],
                         m["target_tokens"])
        self.transformer = Transformer(d, m["heads"], m["encoder_layers"], m["decoder_layers"], d, m["dropout"])
        config = f"planes={','.join(map(str, m['widths']))} stem={m['stem']} blocks={','.join(map(str, m['blocks']))}"
        self.rgb_backbone, _, _ = cmd_backbones.build(m["model"], config)
        self.i_backbone = cmd_backbones.ResNet10(True, 3, m["frame_widths"])
        self.m_backbone = cmd_backbones.ResNet10(False, 2, m["motion_widths"])
        hid, emb = m["head_hidden"], m["embedding"]
        self.mq_head = head(d, hid, emb)
        self.mk_head = head(m["motion_widths"][3], hid, emb)
        self.iq_head = head(fused, hid, emb)
        self.ik_head = head(m["frame_widths"][3], hid, emb)
        self.m = m

    def losses(self, clips, iframes, motion):
        m = self.m
        stages = dict(self.rgb_backbone.forward_stages(clips))
        fused = clip_map(stages["layer3"], stages["layer4"])
        context = motion_loss = torch.zeros(())
        if m["motion_weight"] > 0:
            pred = Predictor.forward(self, tokens(fused))
            q = rows(self.mq_head, pred.reshape(-1, pred.shape[-1]))
            m4 = dict(self.m_backbone.forward_stages(motion))["layer4"]
            k = rows(self.mk_head, tokens(m4).reshape(-1, m4.shape[1]))
            motion_loss = infonce(q, k, m["temperature"])
        if m["context_weight"] > 0:
            q = rows(self.iq_head, fused.mean((2, 3, 4)))
            k = rows(self.ik_head, self.i_backbone(iframes))
            context = infonce(q, k, m["temperature"])
        return context, motion_loss


def float64_losses(model, clips, iframes, motion):
    """The same first-step losses in float64 on a copy (the truth both float32 sides are
    compared with)."""
    m = model.m
    copy = copy_module.deepcopy(model).double()
    with torch.no_grad():
        context, motion_loss = copy.losses(clips.double(), iframes.double(), motion.double())
    total = m["context_weight"] * context + m["motion_weight"] * motion_loss
    return {"context": context.item(), "motion": motion_loss.item(), "total": total.item()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with safe_open(args.state, "pt") as f:
        m = json.loads(f.metadata()["cmd"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model = CMD(m)
    state = {k: v for k, v in tensors.items() if not k.startswith("batch.")}
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        sys.exit(f"bench_pretrain_torch.py: the Swift state does not fit the model: missing {missing[:5]}, "
                 f"unexpected {result.unexpected_keys[:5]}")
    model.train()
    clips, iframes, motion = tensors["batch.clips"], tensors["batch.iframes"], tensors["batch.motion"]
    params = list(model.parameters())
    opt = torch.optim.SGD([{"params": [p for p in params if p.dim() > 1], "weight_decay": m["weight_decay"]},
                           {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}],
                          lr=m["lr"], momentum=m["momentum"], nesterov=True)

    def step():
        opt.zero_grad()
        context, motion_loss = model.losses(clips, iframes, motion)
        total = m["context_weight"] * context + m["motion_weight"] * motion_loss
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, m["gradient_clip"])
        opt.step()
        return {"context": context.item(), "motion": motion_loss.item(), "total": total.item()}

    for line in sys.stdin:
        request = line.strip()
        if request == "parity":
            model.transformer.eval()  # dropout off; batch norms stay in training mode
            reference = float64_losses(model, clips, iframes, motion)
            start = time.perf_counter()
            answer = step()
            answer["ms"] = (time.perf_counter() - start) * 1000
            answer["float64"] = reference
            model.transformer.train()
        elif request == "step":
            start = time.perf_counter()
            answer = step()
            answer["ms"] = (time.perf_counter() - start) * 1000
        elif request == "stats":
            answer = {"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}
        else:
            answer = {"error": f"unknown request {request!r}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
