#!/usr/bin/env python3
"""Writes the PyTorch fixtures of the training core (assets/fixtures/training/):

1. `r2p1d_step.safetensors`: one full training step of a narrow R(2+1)D (planes 6,8,12,16,
   stem 10, clips 3x8x48x48, batch 4) with a linear head, L2 normalisation and InfoNCE
   (temperature 0.1) against fixed keys, then one SGD step (momentum 0.9, Nesterov, weight
   decay 1e-3, lr 0.05). Batch norms in training mode. Stored: `input`, `keys`, `loss`,
   `param.<name>` (before), `grad.<name>`, `after.<name>` (parameters and BN running
   statistics after the step).
2. `predictor_step.safetensors`: the same for the DETR-style predictor (scripts/cmd_predictor
   layout below; dropout 0) with pointwise InfoNCE against fixed target tokens, plus
   `grad.tokens` (the gradient flowing back to the clip features).
3. `optimizers.safetensors`: five steps of SGD (Nesterov, weight decay, warm-up+cosine
   learning rates, gradient clipping at 1.0) and of AdamW on random tensors with random
   gradients: `<opt>.param.<i>` before and `<opt>.step<k>.<i>` after each step, the gradients
   `grad.step<k>.<i>` and the rates `<opt>.lr`.

Everything is computed in float64 (the truth) and stored as float32. Regenerate with

    /tmp/torch-venv/bin/python scripts/make_training_fixtures.py --out assets/fixtures/training

The Swift build and tests never run Python; MANIFEST.json records torch's version, the seed
and every file's sha256 (safetensors writes its metadata keys in random order, so hashes can
differ between runs while the tensors are bit-identical).
"""
import argparse
import hashlib
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402

SEED = 2021
TAU = 0.1


def infonce(q, k, targets):
    return F.cross_entropy(q @ k.t() / TAU, targets)


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def sgd(params, lr=0.05):
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-3, dampening=0)


def r2p1d_step(out):
    g = torch.Generator().manual_seed(SEED)
    model = cmd_backbones.ResNet26(True, widths=(6, 8, 12, 16), stem=10)
    # Batch norms that are not the identity, and running statistics to update.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm3d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=g) + 0.5
            m.bias.data = torch.randn(c, generator=g) * 0.2
            m.running_mean = torch.randn(c, generator=g) * 0.1
            m.running_var = torch.rand(c, generator=g) + 0.5
    head = nn.Linear(64, 16)
    model.double().train()
    head.double()
    x = torch.randn(4, 3, 8, 48, 48, generator=g, dtype=torch.float32).double()
    keys = F.normalize(torch.randn(6, 16, generator=g, dtype=torch.float32).double(), dim=1)
    named = [(n, p) for n, p in model.named_parameters()] + [("fc." + n, p) for n, p in head.named_parameters()]
    t = {"input": f32(x), "keys": f32(keys)}
    for n, p in named:
        t["param." + n] = f32(p)
    for n, b in model.named_buffers():
        if not n.endswith("num_batches_tracked"):
            t["param." + n] = f32(b)
    # The float32 starting point is what Swift gets; run the float64 model from exactly it.
    with torch.no_grad():
        for n, p in named:
            p.copy_(t["param." + n].double())
        for n, b in model.named_buffers():
            if not n.endswith("num_batches_tracked"):
                b.copy_(t["param." + n].double())
    q = F.normalize(head(model(x)), dim=1)
    loss = infonce(q, keys, torch.arange(4))
    opt = sgd([p for _, p in named])
    opt.zero_grad()
    loss.backward()
    t["loss"] = torch.tensor([loss.item()], dtype=torch.float32)
    for n, p in named:
        t["grad." + n] = f32(p.grad)
    opt.step()
    f32_error = torch_float32_error(lambda: cmd_backbones.ResNet26(True, widths=(6, 8, 12, 16), stem=10), lambda: nn.Linear(64, 16), t)
    for n, p in named:
        t["after." + n] = f32(p)
    for n, b in model.named_buffers():
        if not n.endswith("num_batches_tracked"):
            t["after." + n] = f32(b)
    save_file(t, os.path.join(out, "r2p1d_step.safetensors"))
    return {"name": "r2p1d_step", "config": "planes=6,8,12,16 stem=10 frames=8 size=48", "batch": 4, "head": [64, 16],
            "loss": loss.item(), "optimizer": "SGD lr 0.05 momentum 0.9 nesterov weight_decay 1e-3",
            "torch_float32_gradient_error": f32_error}


def torch_float32_error(make_model, make_head, t):
    """PyTorch's own float32 step against the float64 reference: the noise floor of the
    comparison (max over tensors of max |f32 - f64| / max |f64|)."""
    model, head = make_model(), make_head()
    model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("param.") and not k.startswith("param.fc.")}, strict=False)
    head.weight.data, head.bias.data = t["param.fc.weight"].clone(), t["param.fc.bias"].clone()
    model.train()
    q = F.normalize(head(model(t["input"])), dim=1)
    infonce(q, t["keys"], torch.arange(4)).backward()
    named = list(model.named_parameters()) + [("fc." + n, p) for n, p in head.named_parameters()]
    return max(((p.grad - t["grad." + n]).abs().max() / t["grad." + n].abs().max()).item() for n, p in named)


class EncoderLayer(nn.Module):
    """DETR's TransformerEncoderLayer, post-norm."""

    def __init__(self, d, heads, ffn, dropout):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout)
        self.linear1 = nn.Linear(d, ffn)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, src, pos):
        q = k = src + pos
        src = self.norm1(src + self.dropout1(self.self_attn(q, k, value=src)[0]))
        src2 = self.linear2(self.dropout(F.relu(self.linear1(src))))
        return self.norm2(src + self.dropout2(src2))


class DecoderLayer(nn.Module):
    """DETR's TransformerDecoderLayer, post-norm."""

    def __init__(self, d, heads, ffn, dropout):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout)
        self.multihead_attn = nn.MultiheadAttention(d, heads, dropout=dropout)
        self.linear1 = nn.Linear(d, ffn)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(self, tgt, memory, pos, query_pos):
        q = k = tgt + query_pos
        tgt = self.norm1(tgt + self.dropout1(self.self_attn(q, k, value=tgt)[0]))
        tgt2 = self.multihead_attn(query=tgt + query_pos, key=memory + pos, value=memory)[0]
        tgt = self.norm2(tgt + self.dropout2(tgt2))
        tgt2 = self.linear2(self.dropout(F.relu(self.linear1(tgt))))
        return self.norm3(tgt + self.dropout3(tgt2))


class Encoder(nn.Module):
    def __init__(self, n, *a):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(*a) for _ in range(n)])


class Decoder(nn.Module):
    def __init__(self, n, d, *a):
        super().__init__()
        self.layers = nn.ModuleList([DecoderLayer(d, *a) for _ in range(n)])
        self.norm = nn.LayerNorm(d)


class Transformer(nn.Module):
    def __init__(self, d, heads, enc, dec, ffn, dropout):
        super().__init__()
        self.encoder = Encoder(enc, d, heads, ffn, dropout)
        self.decoder = Decoder(dec, d, heads, ffn, dropout)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)


class Predictor(nn.Module):
    """CMD's motion predictor: fc, k/q embeddings, the DETR transformer (sequence-first inside)."""

    def __init__(self, cin, d, heads, enc, dec, ffn, src, tgt):
        super().__init__()
        self.fc = nn.Linear(cin, d, bias=False)
        self.k_embedding = nn.Embedding(src, d)
        self.q_embedding = nn.Embedding(tgt, d)
        nn.init.uniform_(self.k_embedding.weight)
        nn.init.uniform_(self.q_embedding.weight)
        self.transformer = Transformer(d, heads, enc, dec, ffn, 0.0)

    def forward(self, tokens):  # [B, S, cin] -> [B, T, d]
        b = tokens.shape[0]
        src = self.fc(tokens).transpose(0, 1)
        pos = self.k_embedding.weight.unsqueeze(1).repeat(1, b, 1)
        query_pos = self.q_embedding.weight.unsqueeze(1).repeat(1, b, 1)
        memory = src
        for layer in self.transformer.encoder.layers:
            memory = layer(memory, pos)
        tgt = torch.zeros_like(query_pos)
        for layer in self.transformer.decoder.layers:
            tgt = layer(tgt, memory, pos, query_pos)
        return self.transformer.decoder.norm(tgt).transpose(0, 1)


def predictor_step(out):
    g = torch.Generator().manual_seed(SEED + 1)
    torch.manual_seed(SEED + 1)
    cfg = dict(cin=12, d=8, heads=2, enc=2, dec=2, ffn=10, src=6, tgt=4)
    model = Predictor(**cfg)
    # Non-trivial LayerNorm and bias values, so every gradient path carries signal.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_((torch.rand(p.shape, generator=g) + 0.5) if n.endswith("norm1.weight") or ".norm" in n and n.endswith("weight") else torch.randn(p.shape, generator=g) * 0.2)
    model.double().train()
    b, m = 2, 3  # clips; motion clips per clip in the key set (1 positive + 2 negatives)
    tokens = torch.randn(b, cfg["src"], cfg["cin"], generator=g, dtype=torch.float32).double().requires_grad_(True)
    keys = F.normalize(torch.randn(b * m * cfg["tgt"], cfg["d"], generator=g, dtype=torch.float32).double(), dim=1)
    targets = torch.tensor([bi * m * cfg["tgt"] + p for bi in range(b) for p in range(cfg["tgt"])])
    t = {"tokens": f32(tokens), "keys": f32(keys), "targets": targets.to(torch.float32)}
    named = list(model.named_parameters())
    for n, p in named:
        t["param." + n] = f32(p)
    with torch.no_grad():
        for n, p in named:
            p.copy_(t["param." + n].double())
    pred = model(tokens)
    q = F.normalize(pred.reshape(-1, cfg["d"]), dim=1)
    loss = infonce(q, keys, targets)
    opt = sgd([p for _, p in named])
    opt.zero_grad()
    loss.backward()
    t["loss"] = torch.tensor([loss.item()], dtype=torch.float32)
    t["output"] = f32(pred)
    t["grad.tokens"] = f32(tokens.grad)
    for n, p in named:
        t["grad." + n] = f32(p.grad)
    opt.step()
    for n, p in named:
        t["after." + n] = f32(p)
    save_file(t, os.path.join(out, "predictor_step.safetensors"))
    return {"name": "predictor_step", "config": cfg, "batch": b, "motion_clips": m, "loss": loss.item(),
            "optimizer": "SGD lr 0.05 momentum 0.9 nesterov weight_decay 1e-3"}


def optimizers(out):
    g = torch.Generator().manual_seed(SEED + 2)
    shapes = [(4, 3), (5,), (2, 2, 2)]
    init = [torch.randn(s, generator=g, dtype=torch.float32) for s in shapes]
    grads = [[torch.randn(s, generator=g, dtype=torch.float32) * 0.7 for s in shapes] for _ in range(5)]
    t = {}
    for i, p in enumerate(init):
        t[f"param.{i}"] = p
    for k, gs in enumerate(grads):
        for i, gr in enumerate(gs):
            t[f"grad.step{k}.{i}"] = gr
    # lr per step: warm-up 2 steps from 0.01 to 0.1, cosine to 0.001 at step 5.
    def lr_at(s):
        if s < 2:
            return 0.01 + (0.1 - 0.01) * s / 2
        return 0.001 + (0.1 - 0.001) * 0.5 * (1 + math.cos(math.pi * (s - 2) / 3))
    meta = {}
    for name in ["sgd", "adamw"]:
        ps = [p.clone().double().requires_grad_(True) for p in init]
        if name == "sgd":
            # Two groups: the first two tensors with decay, the third without.
            opt = torch.optim.SGD([{"params": ps[:2], "weight_decay": 1e-3}, {"params": ps[2:], "weight_decay": 0.0}],
                                  lr=0.1, momentum=0.9, nesterov=True)
        else:
            opt = torch.optim.AdamW(ps, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
        lrs, norms = [], []
        for k, gs in enumerate(grads):
            lr = lr_at(k)
            for group in opt.param_groups:
                group["lr"] = lr
            for p, gr in zip(ps, gs):
                p.grad = gr.clone().double()
            if name == "sgd":
                norms.append(torch.nn.utils.clip_grad_norm_(ps, 1.0).item())
            opt.step()
            lrs.append(lr)
            for i, p in enumerate(ps):
                t[f"{name}.step{k}.{i}"] = f32(p)
        t[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float32)
        if norms:
            t[f"{name}.norm"] = torch.tensor(norms, dtype=torch.float32)
        meta[name] = {"lr": lrs}
    save_file(t, os.path.join(out, "optimizers.safetensors"))
    return {"name": "optimizers", "steps": 5, "sgd": "two groups (wd 1e-3, wd 0), momentum 0.9, nesterov, clip 1.0",
            "adamw": "betas 0.9/0.999, eps 1e-8, wd 0.05", "schedule": "warm-up 2 steps 0.01 -> 0.1, cosine to 0.001 at step 5"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="assets/fixtures/training")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(SEED)
    entries = [r2p1d_step(args.out), predictor_step(args.out), optimizers(args.out)]
    files = ["r2p1d_step.safetensors", "predictor_step.safetensors", "optimizers.safetensors"]
    sha = {f: hashlib.sha256(open(os.path.join(args.out, f), "rb").read()).hexdigest() for f in files}
    manifest = {"generator": "scripts/make_training_fixtures.py", "torch": torch.__version__, "seed": SEED,
                "precision": "float64 computation, stored as float32", "fixtures": entries, "sha256": sha}
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    for e in entries:
        print(e["name"], e.get("loss", ""))


if __name__ == "__main__":
    main()
