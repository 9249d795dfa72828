#!/usr/bin/env python3
"""Regenerates assets/fixtures/preprocess: real decoded frames before and after Pillow's
bilinear resize, and one clip through the whole ModelScope preprocessing.

The inputs are frames of the bundled videos decoded to rgb24 by the ffmpeg CLI and stored as
PNG (lossless, so the Swift tests read back exactly the pixels Pillow saw). Each case resizes
an input with `Image.resize(size, Image.BILINEAR)`, the call the ModelScope pipeline makes
(`VRescale`), and stores Pillow's output as PNG. `clip_tears_f8.npy` is the ModelScope
`VRescale -> VCenterCrop -> VToTensor -> VNormalize` of two frames (the first two of the first
ModelScope clip of that video), as float32 [3, 2, 112, 112].
`VToTensor` is torchvision's `to_tensor`, which for 8-bit RGB is `permute(2, 0, 1).float() / 255`;
it is written out here so torchvision need not be installed.

Usage (from the repository root, in a venv with pillow, numpy and torch):
    /tmp/torch-venv/bin/python scripts/make_preprocess_fixtures.py
"""
import hashlib
import json
import os
import subprocess

import numpy as np
import PIL
import torch
from PIL import Image

OUT = "assets/fixtures/preprocess"
TEARS = "assets/videos/tears_320x240.mp4"
BUNNY = "assets/videos/bigbuckbunny_720p.mp4"


def decode(video, index):
    """Frame `index` (display order) of `video` as an RGB array, via the ffmpeg CLI."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", video], check=True, capture_output=True, text=True).stdout.strip()
    w, h = map(int, probe.split(","))
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", video, "-vf", f"select=eq(n\\,{index})", "-vsync", "0",
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3)


def modelscope_size(w, h, short=128):
    """VRescale's output size: Python's round (halves to even) of each side times the scale."""
    scale = short / min(w, h)
    return int(round(w * scale)), int(round(h * scale))


def save_png(array, name):
    Image.fromarray(array).save(os.path.join(OUT, name), compress_level=9)
    return name


def sha256(name):
    with open(os.path.join(OUT, name), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    os.makedirs(OUT, exist_ok=True)
    inputs = {
        "tears_f8": decode(TEARS, 8),
        "tears_f12": decode(TEARS, 12),
        "bunny_f60": decode(BUNNY, 60),
    }
    tears100 = decode(TEARS, 100)
    inputs["tears_f100_317x239"] = np.ascontiguousarray(tears100[1:240, 2:319])
    inputs["tears_f100_64x48"] = np.ascontiguousarray(tears100[100:148, 150:214])
    inputs["tears_f100_37x29"] = np.ascontiguousarray(tears100[50:79, 200:237])
    inputs["bunny_f60_300x700"] = np.ascontiguousarray(inputs["bunny_f60"][10:710, 500:800])

    # (input, output size, why)
    cases = [
        ("tears_f8", modelscope_size(320, 240), "ModelScope downscale 320x240 -> 171x128"),
        ("tears_f12", modelscope_size(320, 240), "ModelScope downscale, clip frame 2"),
        ("bunny_f60", modelscope_size(1280, 720), "ModelScope downscale 1280x720 -> 228x128 (5.6x)"),
        ("bunny_f60", (333, 187), "odd downscale, non-integer factors"),
        ("tears_f100_317x239", modelscope_size(317, 239), "odd input, ModelScope rule -> 170x128"),
        ("tears_f100_317x239", (101, 77), "odd input, odd output"),
        ("tears_f100_317x239", (640, 480), "upscale about 2x"),
        ("tears_f100_64x48", modelscope_size(64, 48), "upscale 64x48 -> 171x128 (ModelScope rule)"),
        ("tears_f100_37x29", modelscope_size(37, 29), "odd upscale 37x29 -> 163x128"),
        ("tears_f100_317x239", (400, 100), "up horizontally, down vertically (Pillow 13: vertical pass first)"),
        ("bunny_f60_300x700", modelscope_size(300, 700), "portrait taller than 2:1 (Pillow 13: vertical pass first)"),
    ]

    files = {}
    for name, array in inputs.items():
        files[save_png(array, f"{name}.png")] = None
    records = []
    for source, (w, h), why in cases:
        out = np.asarray(Image.fromarray(inputs[source]).resize((w, h), Image.BILINEAR))
        name = save_png(out, f"{source}_to_{w}x{h}.png")
        files[name] = None
        ih, iw = inputs[source].shape[:2]
        records.append({"input": f"{source}.png", "input_size": [iw, ih], "output": name,
                        "output_size": [w, h], "why": why})

    # One clip through the whole pipeline, as cmdssl_video_embedding_pipeline.py does it.
    clip = [Image.fromarray(inputs[k]) for k in ("tears_f8", "tears_f12")]
    w, h = clip[0].size
    ow, oh = modelscope_size(w, h)
    clip = [u.resize((ow, oh), Image.BILINEAR) for u in clip]
    x1, y1 = (ow - 112) // 2, (oh - 112) // 2
    clip = [u.crop((x1, y1, x1 + 112, y1 + 112)) for u in clip]
    tensor = torch.stack([torch.from_numpy(np.asarray(u).copy()).permute(2, 0, 1).float().div(255) for u in clip], dim=1)
    mean = tensor.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1, 1)
    std = tensor.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1, 1)
    tensor = tensor.clone().sub_(mean).div_(std)
    np.save(os.path.join(OUT, "clip_tears_f8.npy"), tensor.numpy().astype(np.float32))
    files["clip_tears_f8.npy"] = None

    manifest = {
        "generator": "scripts/make_preprocess_fixtures.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "ffmpeg": subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0],
        "resize": "PIL.Image.resize(size, Image.BILINEAR)",
        "cases": records,
        "clip": {"inputs": ["tears_f8.png", "tears_f12.png"],
                 "output": "clip_tears_f8.npy", "shape": [3, 2, 112, 112],
                 "steps": "VRescale(128) -> VCenterCrop(112) -> to_tensor -> VNormalize(ImageNet mean/std)"},
        "sha256": {name: sha256(name) for name in sorted(files)},
    }
    with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in files)
    print(f"wrote {len(files)} files, {total / 1e6:.2f} MB, Pillow {PIL.__version__}")


if __name__ == "__main__":
    main()
