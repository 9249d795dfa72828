#!/usr/bin/env python3
"""The ModelScope `damo/cv_r2p1d_video_embedding` pipeline reproduced in Python: the peer that
`decouple embed` is measured and checked against (`decouple bench embed`, Tests/EmbedTests).

It follows `modelscope/pipelines/cv/cmdssl_video_embedding_pipeline.py` step by step:
decord `VideoReader` (native bridge) and one `get_batch` of every needed index; clip starts by
the linspace-midpoint rule, indices past the end replaced by 0; per clip `VRescale` (short side
to 128 with `PIL.Image.resize(..., BILINEAR)`), `VCenterCrop(112)`, `VToTensor` (torchvision's
`to_tensor`, written out here as `permute(2, 0, 1).float().div(255)` so torchvision is not
needed), `VNormalize` (ImageNet mean/std); the clips stacked into one batch, the backbone in
eval mode under `torch.no_grad()`, `mean(0)` over the clips.

The backbone is `scripts/cmd_backbones.py` (the same state-dict names as resnet26_2p1d), with
weights from `--weights FILE.safetensors` (strict) or PyTorch's default initialisation after
`torch.manual_seed(--seed)` ("random weights"). Other decoders: `--decoder ffmpeg` pipes every
frame from the system ffmpeg CLI with MediaIO's swscale flags (bilinear, accurate rounding,
full chroma interpolation): the same FFmpeg libraries, hence the same RGB bytes as MediaIO,
which isolates the rest of the pipeline for parity tests; `--decoder pyav` uses PyAV (its own,
newer FFmpeg) with those flags.

Prints one JSON object per video: frame count, clip starts, seconds spent decoding,
preprocessing and in the forward pass (median of --repeat runs; model construction is
excluded and reported as `load_seconds`; `--warmup` runs are not timed), the embedding, and with --per-clip every clip's.

Usage:
    /tmp/torch-venv/bin/python scripts/modelscope_reference.py assets/videos/tears_320x240.mp4
    /tmp/torch-venv/bin/python scripts/modelscope_reference.py VIDEO --weights w.safetensors \
        --config "planes=6,8,12,16 stem=10" --decoder pyav --per-clip
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmd_backbones  # noqa: E402

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def clip_indices(n, clips, frames, stride):
    """cmdssl_video_embedding_pipeline.preprocess: starts and the flat index list."""
    clip_len = (frames - 1) * stride + 1
    if n <= clip_len:
        init_frames = np.zeros(clips, dtype=int)
    else:
        init_frames = np.linspace(0, n - clip_len, clips + 1)
        init_frames = ((init_frames[1:] + init_frames[:-1]) / 2.).astype(int)
    indices = np.arange(0, clip_len, stride)
    indices = (init_frames[:, None] + indices[None, :]).reshape(-1)
    indices[indices >= n] = 0
    return init_frames, indices


def decode_decord(path, clips, frames, stride):
    import decord
    decord.bridge.set_bridge("native")
    vr = decord.VideoReader(path, ctx=decord.cpu(0))
    starts, indices = clip_indices(len(vr), clips, frames, stride)
    return len(vr), starts, vr.get_batch(indices).asnumpy()


def decode_pyav(path, clips, frames, stride):
    """Every frame decoded in display order on one thread; the needed ones converted to RGB."""
    import av
    from av.video.reformatter import Interpolation
    flags = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
    with av.open(path) as container:
        n = sum(1 for _ in container.demux(video=0) if _.size > 0)
    starts, indices = clip_indices(n, clips, frames, stride)
    wanted = set(int(i) for i in indices)
    last = max(wanted)
    images = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                images[i] = frame.reformat(format="rgb24", interpolation=flags).to_ndarray()
            if i >= last:
                break
    return n, starts, np.stack([images[int(i)] for i in indices])


def decode_ffmpeg(path, clips, frames, stride):
    """Every frame through the system ffmpeg CLI (the FFmpeg libraries MediaIO links) with
    MediaIO's swscale flags: the same RGB bytes as MediaIO (Tests/MediaIOTests checks it)."""
    import subprocess
    size = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                           "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout.strip()
    w, h = map(int, size.split(","))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-vsync", "0",
                          "-sws_flags", "bilinear+accurate_rnd+full_chroma_int", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    all_frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w, 3)
    starts, indices = clip_indices(len(all_frames), clips, frames, stride)
    return len(all_frames), starts, all_frames[indices]


def preprocess(batch, clips, scale_size=128, crop_size=112):
    out = []
    for u in np.split(batch, clips, axis=0):
        vclip = [Image.fromarray(f) for f in u]
        w, h = vclip[0].size
        scale = scale_size / min(w, h)
        out_w, out_h = int(round(w * scale)), int(round(h * scale))
        vclip = [v.resize((out_w, out_h), Image.BILINEAR) for v in vclip]
        x1, y1 = (out_w - crop_size) // 2, (out_h - crop_size) // 2
        vclip = [v.crop((x1, y1, x1 + crop_size, y1 + crop_size)) for v in vclip]
        t = torch.stack([torch.from_numpy(np.asarray(v).copy()).permute(2, 0, 1).float().div(255) for v in vclip], dim=1)
        mean = t.new_tensor(MEAN).view(-1, 1, 1, 1)
        std = t.new_tensor(STD).view(-1, 1, 1, 1)
        out.append(t.clone().sub_(mean).div_(std))
    return torch.stack(out, dim=0)


def load_model(model_id, config, weights, seed):
    torch.manual_seed(seed)
    model, _, _ = cmd_backbones.build(model_id, config)
    if weights:
        from safetensors.torch import load_file
        state = load_file(weights)
        model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def run(path, model, args):
    t0 = time.perf_counter()
    decode = {"pyav": decode_pyav, "ffmpeg": decode_ffmpeg}.get(args.decoder, decode_decord)
    n, starts, batch = decode(path, args.clips, args.frames, args.stride)
    t1 = time.perf_counter()
    x = preprocess(batch, args.clips)
    t2 = time.perf_counter()
    with torch.no_grad():
        # The pipeline runs all clips as one batch; --batch splits them (faster in PyTorch 2.x
        # on this CPU, so the benchmark can also compare with that stronger variant).
        size = args.batch or len(x)
        feature = torch.cat([model(x[i:i + size]) for i in range(0, len(x), size)])
        embedding = feature.mean(0)
    t3 = time.perf_counter()
    return {"frames": n, "starts": [int(s) for s in starts], "decode": t1 - t0, "preprocess": t2 - t1,
            "forward": t3 - t2, "total": t3 - t0, "embedding": embedding.numpy(), "clips": feature.numpy()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--model", default="r2p1d-26")
    ap.add_argument("--config", default="", help="narrow configuration, as BackboneConfig overrides")
    ap.add_argument("--weights", help="safetensors state dict (default: random weights from --seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--decoder", choices=["decord", "pyav", "ffmpeg"], default="decord")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=0, help="clips per forward call (default: all, as the pipeline does)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per video (medians reported)")
    ap.add_argument("--warmup", type=int, default=0, help="untimed runs per video first (oneDNN set-up, caches)")
    ap.add_argument("--per-clip", action="store_true", help="also print every clip's embedding")
    ap.add_argument("--serve", action="store_true",
                    help="after loading the model, read video paths from stdin, one per line, and answer each "
                         "with one JSON line (one timed run): lets a benchmark interleave its runs with ours")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    model = load_model(args.model, args.config, args.weights, args.seed)
    load = time.perf_counter() - t
    if args.serve:
        for line in sys.stdin:
            path = line.strip()
            if not path:
                continue
            r = run(path, model, args)
            print(json.dumps({"video": path, "seconds": {k: r[k] for k in ("decode", "preprocess", "forward", "total")},
                              "embedding": [float(v) for v in r["embedding"]]}))
            sys.stdout.flush()
        return
    for path in args.videos:
        for _ in range(args.warmup):
            run(path, model, args)
        runs = [run(path, model, args) for _ in range(max(1, args.repeat))]
        last = runs[-1]
        out = {
            "video": path, "decoder": args.decoder, "model": args.model, "config": args.config,
            "weights": args.weights or f"random (torch.manual_seed({args.seed}))", "threads": args.threads,
            "torch": torch.__version__, "batch": args.batch or args.clips, "frames": last["frames"], "starts": last["starts"],
            "load_seconds": load, "runs": len(runs),
            "seconds": {k: statistics.median(r[k] for r in runs) for k in ("decode", "preprocess", "forward", "total")},
            "all_total_seconds": [r["total"] for r in runs],
            "dimension": int(last["embedding"].shape[0]),
            "embedding": [float(v) for v in last["embedding"]],
        }
        if args.per_clip:
            out["clip_embeddings"] = [[float(v) for v in row] for row in last["clips"]]
        print(json.dumps(out))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
