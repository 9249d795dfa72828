#!/usr/bin/env python3
"""Regenerates assets/fixtures/embed: the Python reference pipeline's embeddings of the bundled
videos with a narrow R(2+1)D, for the end-to-end parity test of `decouple embed`
(Tests/EmbedTests/PipelineParityTests.swift).

The weights are the narrow R(2+1)D-26 state dict the backbone parity tests already commit
(assets/fixtures/backbones/r2p1d_narrow_weights.safetensors, `planes=6,8,12,16 stem=10`, BN
statistics randomised), so nothing large is added; its sha256 is recorded here too. Each video
runs through scripts/modelscope_reference.py (ModelScope's sampling, Pillow resize, crop,
normalisation, the PyTorch module, mean over clips) at the pipeline's real sizes: 10 clips of
16 frames at stride 4, 112x112 crops. Two decoders:

- `ffmpeg`: the system ffmpeg CLI with MediaIO's swscale flags: the same FFmpeg libraries, so
  the same RGB bytes as MediaIO (checked in Tests/MediaIOTests), and the comparison isolates
  sampling, preprocessing, the backbone and pooling (tight tolerance);
- `decord`: what the ModelScope pipeline itself uses (its own FFmpeg build and RGB conversion),
  for the looser end-to-end comparison.

reference.json holds per video and decoder: the frame count, clip starts, every clip's 64-d
embedding and their mean.

Usage: /tmp/torch-venv/bin/python scripts/make_embed_fixtures.py
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import PIL
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import modelscope_reference as ref  # noqa: E402

ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "assets", "fixtures", "embed")
WEIGHTS = "assets/fixtures/backbones/r2p1d_narrow_weights.safetensors"
CONFIG = "planes=6,8,12,16 stem=10"
VIDEOS = ["assets/videos/tears_320x240.mp4", "assets/videos/bigbuckbunny_720p.mp4"]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    os.chdir(ROOT)
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    model = ref.load_model("r2p1d-26", CONFIG, WEIGHTS, 0)
    args = argparse.Namespace(clips=10, frames=16, stride=4, batch=0)
    results = []
    for video in VIDEOS:
        for decoder in ("ffmpeg", "decord"):
            args.decoder = decoder
            r = ref.run(video, model, args)
            results.append({
                "video": video, "decoder": decoder, "frames": r["frames"], "starts": r["starts"],
                "clip_embeddings": r["clips"].astype(np.float32).tolist(),
                "embedding": r["embedding"].astype(np.float32).tolist(),
            })
            print(f"{video} ({decoder}): {r['frames']} frames, starts {r['starts']}")
    import av
    import decord
    versions = {"torch": torch.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
                "av": av.__version__, "decord": decord.__version__}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"model": "r2p1d-26", "config": CONFIG, "weights": WEIGHTS, "clips": 10, "frames": 16,
                   "stride": 4, "results": results}, f)
        f.write("\n")
    manifest = {
        "generator": "scripts/make_embed_fixtures.py",
        "reference": "scripts/modelscope_reference.py",
        "versions": versions,
        "weights": WEIGHTS,
        "weights_sha256": sha256(WEIGHTS),
        "sha256": {"reference.json": sha256(os.path.join(OUT, "reference.json"))},
    }
    with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
