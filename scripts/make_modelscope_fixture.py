#!/usr/bin/env python3
"""Regenerates assets/fixtures/modelscope: what the REAL ModelScope video-embedding pipeline
(`modelscope` 1.40.2 from PyPI, `CMDSSLVideoEmbeddingPipeline`, decord 0.6.0) computes on the
bundled videos, for the parity test of `decouple embed` (issue 16, item 3).

Run it through scripts/make_modelscope_fixture.sh, which makes the throwaway virtual
environment this needs (modelscope, decord, torch, torchvision, ...); never part of `make test`.

What runs unmodified: the pipeline class's own code, i.e. `pipeline(Tasks.video_embedding,
model=DIR)` reading DIR/configuration.json, `torch.load` of DIR/pytorch_model.pt, decord
decoding and clip sampling, `VRescale` (Pillow bilinear), `VCenterCrop`, `VToTensor`,
`VNormalize`, one batch through the backbone, the mean over clips.

What is substituted, at run time and in memory only (no file of modelscope is edited):

1. The backbone's WIDTHS. The pipeline's `__init__` calls `resnet26_2p1d(num_classes=None,
   last_pool=True)`, and modelscope's `ResNet2p1d.__init__` hard-codes the stem (64) and the
   layer widths (64, 128, 256, 512); its only width knob (`width_per_group`) narrows the
   bottleneck but keeps the 4x64..4x512 outputs and the 64-channel stem, which neither makes
   small weights nor matches a Decouple `BackboneConfig`. So, before the pipeline is built,
   the name `resnet26_2p1d` in the pipeline's module namespace is replaced by a builder of
   `NarrowResNet2p1d`, a subclass of modelscope's `ResNet2p1d` that runs modelscope's own
   `__init__`, `_make_layer`, `Bottleneck` and `forward`, with only the four layer widths
   and the stem width (its conv1_s/bn1_s/conv1_t/bn1_t rebuilt by the same formula) changed:
   the Decouple configuration CONFIG below. The parameter names and the computation are those
   of the real model; `decouple forward --config CONFIG` loads the same state dict strictly.
2. torchvision: the pipeline imports `torchvision.transforms.functional` for `to_tensor`
   (pure Python). The only torchvision wheel on PyPI for torch 2.13 is a CUDA build whose C++
   ops library cannot load next to the CPU torch, and torchvision's import then fails while
   registering fake kernels for `torchvision::nms`/`qnms`. Those two op SCHEMAS are defined
   (no kernels) before torchvision is imported; nothing in the pipeline calls them.

Weights: seeded (`torch.manual_seed(SEED)`) default init of the narrow network, then every
batch norm made non-trivial: affine weights U(0.5, 1.5), U(0.15, 0.45) for the residual
branches' bn3 (which undoes their zero-init and keeps float32 rounding near 1e-6 of the
output), biases N(0, 0.2); then running statistics from one calibration pass on a seeded
smooth random clip (so activations stay of order 1 on real frames), rounded to float16
precision and perturbed (mean + 0.1 sd x N(0, 1), variance x U(0.8, 1.25)).
They are written as weights.safetensors (the state dict as the pipeline's model holds it,
num_batches_tracked included) and, in a temporary model directory, as pytorch_model.pt.

Captured by hooks (wrappers installed at run time): every frame decord's
`VideoReader.get_batch` returned (uint8 RGB), every frame entering `VToTensor` (after
`VRescale` + `VCenterCrop`: the uint8 112x112 crop), the backbone's output per clip
(a forward hook, before the mean), and the pipeline's returned `video_embedding`.

Also (not part of reference.json; in MANIFEST.json under `swscale_check`): every frame decord
decodes compared with the system ffmpeg CLI's rgb24 conversion under several `-sws_flags`
(bilinear, bicubic, +accurate_rnd, +full_chroma_int, both), to pin down which swscale path
decord takes.

Deterministic: run twice, the same bytes (one torch thread; floats written as the shortest
decimal that reads back as the same float32; the safetensors metadata keys sorted).

Usage: scripts/make_modelscope_fixture.sh   (or VENV/bin/python scripts/make_modelscope_fixture.py)
"""
import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

# --- torchvision import shim (see the docstring, point 2) -----------------------------------
_tv_schemas = torch.library.Library("torchvision", "DEF")  # kept alive: the schemas live with it
_tv_schemas.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_tv_schemas.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "assets", "fixtures", "modelscope")

SEED = 20220416
# Decouple BackboneConfig overrides of the narrow network: layer widths and stem width.
WIDTHS = (6, 8, 12, 16)
STEM = 10
CONFIG = "planes=%s stem=%d" % (",".join(map(str, WIDTHS)), STEM)

# The model card's configuration.json: task, framework and pipeline type as the pipeline
# registry needs them (no "model" key: with one, modelscope would try to build a registered
# Model class, which this model has none of), and the keys the pipeline reads (cfg.DATA.*).
# The card's own file was not available here; the values are those of docs/method.md §8 (the
# pipeline's defaults and the official fine-tuning configuration).
CONFIGURATION = {
    "framework": "pytorch",
    "task": "video-embedding",
    "pipeline": {"type": "cmdssl-r2p1d_video_embedding"},
    "DATA": {
        "video_frames": 16,
        "video_stride": 4,
        "multi_crop": 10,
        "scale_size": 128,
        "crop_size": 112,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    },
}

# The videos, all H.264 yuv420p. LONG (660 frames, B-frames; made by the team from the original
# Tears of Steel clip, see assets/README.md, so this script cannot remake it) is longer than the
# ten clips' span (10 x 61 = 610 frames): its clips do not overlap. tears (B-frames, 240 frames),
# friday (B-frames, 185) and bigbuckbunny (I/P only, 720p, 132) are longer than one clip's span
# (61 frames), so their clips start at the linspace midpoints and overlap. SHORT (48 frames,
# B-frames) is shorter than a clip: every clip starts at 0 and the indices 48, 52, 56, 60 become 0.
LONG = "assets/fixtures/modelscope/tears_battle_240x100.mp4"
SHORT = "assets/fixtures/modelscope/tears_short_160x120.mp4"
VIDEOS = [
    LONG,
    "assets/videos/tears_320x240.mp4",
    "assets/videos/friday_480p.mp4",
    "assets/videos/bigbuckbunny_720p.mp4",
    SHORT,
]
# How SHORT was made (once; it is committed, and made again only when missing, because another
# x264 may encode other bytes).
SHORT_COMMAND = ["ffmpeg", "-v", "error", "-nostdin", "-i", "assets/videos/tears_320x240.mp4", "-frames:v", "48",
                 "-vf", "scale=160:120", "-c:v", "libx264", "-preset", "medium", "-crf", "26", "-an",
                 "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-movflags", "+faststart"]


# --- the narrow backbone, built from modelscope's own class ---------------------------------

def narrow_builder(widths, stem):
    """A drop-in for modelscope's `resnet26_2p1d(**kwargs)` at the given widths."""
    import torch.nn as nn
    from modelscope.models.cv.cmdssl_video_embedding import resnet2p1d as ms

    class NarrowResNet2p1d(ms.ResNet2p1d):
        """modelscope's ResNet2p1d(Bottleneck, [2, 2, 2, 2]) with the layer widths 64/128/256/512
        mapped to `widths` and a stem of `stem` channels; everything else is the parent's code."""

        _layer_widths = dict(zip((64, 128, 256, 512), widths))

        def __init__(self, **kwargs):
            super().__init__(ms.Bottleneck, [2, 2, 2, 2], **kwargs)
            norm_layer = self._norm_layer
            # The parent's stem lines, with the stem width in place of its literal 64.
            midplanes = (3 * stem * 3 * 7 * 7) // (3 * 7 * 7 + stem * 3)
            self.conv1_s = nn.Conv3d(3, midplanes, kernel_size=(1, 7, 7),
                                     stride=(1, self.first_stride, self.first_stride),
                                     padding=(0, 3, 3), bias=False)
            self.bn1_s = norm_layer(midplanes)
            self.conv1_t = nn.Conv3d(midplanes, stem, kernel_size=(3, 1, 1), stride=(1, 1, 1),
                                     padding=(1, 0, 0), bias=False)
            self.bn1_t = norm_layer(stem)
            self.out_planes = widths[3] * ms.Bottleneck.expansion
            for m in (self.conv1_s, self.conv1_t):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
            if planes == 64:  # layer1 follows the stem
                self.inplanes = stem
            return super()._make_layer(block, self._layer_widths[planes], blocks, stride, dilate)

    def resnet26_2p1d_narrow(**kwargs):
        return NarrowResNet2p1d(**kwargs)

    return resnet26_2p1d_narrow


def make_weights(builder):
    """Seeded narrow network with non-trivial batch norms; returns the state dict."""
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    model = builder(num_classes=None, last_pool=True)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    residual = {id(m.bn3) for m in model.modules() if hasattr(m, "bn3")}
    with torch.no_grad():
        # Affine parameters first (this also undoes the zero-init of every bn3), so that the
        # calibration below sees the residual branches the final network has. The residual
        # branches' last BN (bn3) gets U(0.15, 0.45), like a trained ResNet's small branches:
        # with U(0.5, 1.5) there too, float32 rounding alone (torch fp32 against fp64) reached
        # 1.4e-5 of the largest output on these videos, above the parity test's 1e-5; now 1e-6.
        for m in bns:
            c = m.num_features
            low, high = (0.15, 0.45) if id(m) in residual else (0.5, 1.5)
            m.weight.copy_(torch.empty(c).uniform_(low, high, generator=generator))
            m.bias.copy_(0.2 * torch.randn(c, generator=generator))
    # Calibration: a smooth random clip (image-like: low-pass noise scaled to unit standard
    # deviation), one pass in train mode with momentum 1 so the running stats are that batch's
    # statistics: activations stay of order 1 on real frames.
    coarse = torch.randn(2, 3, 4, 14, 14, generator=generator)
    clip = torch.nn.functional.interpolate(coarse, size=(16, 112, 112), mode="trilinear", align_corners=False)
    clip = clip / clip.std()
    for m in bns:
        m.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(clip)
    model.eval()
    with torch.no_grad():
        for m in bns:
            c = m.num_features
            m.momentum = 0.1
            # float16 rounding: the calibration's last float bits cannot change the file.
            mean = m.running_mean.half().float()
            var = m.running_var.clamp_min(1e-3).half().float()
            m.running_mean.copy_(mean + 0.1 * var.sqrt() * torch.randn(c, generator=generator))
            m.running_var.copy_(var * torch.empty(c).uniform_(0.8, 1.25, generator=generator))
            m.num_batches_tracked.zero_()
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def check_with_decouple(builder, state, binary, workdir):
    """The torch module and `decouple forward --config CONFIG` on one random input."""
    from safetensors.torch import save_file
    model = builder(num_classes=None, last_pool=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    g = torch.Generator().manual_seed(SEED + 1)
    x = torch.randn(2, 3, 16, 112, 112, generator=g)
    with torch.no_grad():
        y = model(x).numpy()
    w = os.path.join(workdir, "check.safetensors")
    save_file(state, w)
    np.save(os.path.join(workdir, "x.npy"), x.numpy())
    subprocess.run([binary, "forward", "--model", "r2p1d-26", "--config", CONFIG, "--weights", w,
                    "--input", os.path.join(workdir, "x.npy"), "-o", os.path.join(workdir, "y.npy")],
                   check=True, capture_output=True)
    z = np.load(os.path.join(workdir, "y.npy"))
    rel = float(np.abs(z - y).max() / max(np.abs(y).max(), 1e-30))
    return rel, y.shape


# --- hooks ----------------------------------------------------------------------------------

class Capture:
    def __init__(self):
        self.reset()

    def reset(self):
        self.batches = []   # (len(vr), indices, uint8 [N, H, W, 3])
        self.crops = []     # uint8 [112, 112, 3] in pipeline order
        self.features = []  # backbone outputs [clips, D]


def install_hooks(capture, pipeline_module):
    import decord
    from PIL import Image  # noqa: F401  (the pipeline's own import)

    original_get_batch = decord.VideoReader.get_batch

    def get_batch(self, indices):
        out = original_get_batch(self, indices)
        capture.batches.append((len(self), np.asarray(indices).copy(), np.ascontiguousarray(out.asnumpy()).copy()))
        return out

    decord.VideoReader.get_batch = get_batch

    to_tensor_call = pipeline_module.VToTensor.__call__

    def v_to_tensor(self, vclip):
        for u in vclip:
            capture.crops.append(np.asarray(u).copy())
        return to_tensor_call(self, vclip)

    pipeline_module.VToTensor.__call__ = v_to_tensor


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


def canonical_safetensors(path):
    """Rewrites the header with the metadata keys sorted: safetensors writes `__metadata__` from
    a hash map, in an order that changes from run to run."""
    import struct
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= n
    with open(path, "wb") as f:
        f.write(blob[:8] + text + b" " * (n - len(text)) + blob[8 + n:])


def f32(values):
    """float32 values as Python floats whose repr is the shortest decimal of the float32."""
    return [float(str(np.float32(v))) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


# --- swscale comparison ---------------------------------------------------------------------

def ffmpeg_frames(path, flags):
    size = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=width,height", "-of", "csv=p=0", path],
                          check=True, capture_output=True, text=True).stdout.strip()
    w, h = map(int, size.split(","))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
                          "-sws_flags", flags, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w, 3)


def swscale_check(path, pipeline_batch):
    """decord's frames (all of them, sequential get_batch; and the pipeline's own batch) vs
    the ffmpeg CLI with and without accurate_rnd/full_chroma_int."""
    import decord
    decord.bridge.set_bridge("native")
    vr = decord.VideoReader(path, ctx=decord.cpu(0))
    n = len(vr)
    everything = vr.get_batch(list(range(n))).asnumpy()
    result = {"frames": n}
    for flags in ("bilinear", "bicubic", "bilinear+accurate_rnd", "bilinear+full_chroma_int",
                  "bilinear+accurate_rnd+full_chroma_int"):
        name = flags
        ref = ffmpeg_frames(path, flags)
        entry = {"ffmpeg_frames": int(len(ref))}
        if len(ref) == n:
            d = np.abs(everything.astype(np.int16) - ref.astype(np.int16))
            entry.update({"max_abs_diff": int(d.max()), "mean_abs_diff": round(float(d.mean()), 4),
                          "frames_equal": int(sum(1 for i in range(n) if not d[i].any()))})
            _, idx, got = pipeline_batch
            dp = np.abs(got.astype(np.int16) - ref[idx].astype(np.int16))
            entry["pipeline_batch_max_abs_diff"] = int(dp.max())
        result[name] = entry
    return result


# --- main -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--decouple", default=None,
                    help="decouple binary for the weights check (default: .build/release or .build/debug if built)")
    ap.add_argument("--no-swscale-check", action="store_true", help="skip the ffmpeg CLI comparison")
    args = ap.parse_args()

    t_start = time.perf_counter()
    os.chdir(ROOT)
    torch.set_num_threads(1)
    work = tempfile.mkdtemp(prefix="modelscope-fixture-")
    os.environ.setdefault("MODELSCOPE_CACHE", os.path.join(work, "cache"))
    os.environ.setdefault("MODELSCOPE_LOG_LEVEL", "40")
    try:
        import decord
        import PIL
        import modelscope
        from modelscope.outputs import OutputKeys
        from modelscope.pipelines import pipeline
        from modelscope.utils.constant import Tasks
        import modelscope.pipelines.cv.cmdssl_video_embedding_pipeline as pm
        from safetensors.torch import save_file

        os.makedirs(OUT, exist_ok=True)
        if not os.path.exists(LONG):
            sys.exit(f"{LONG} is missing: it is committed (see assets/README.md for how it was made)")
        if not os.path.exists(SHORT):
            subprocess.run(SHORT_COMMAND + [SHORT], check=True)
        builder = narrow_builder(WIDTHS, STEM)
        state = make_weights(builder)
        weights_path = os.path.join(OUT, "weights.safetensors")
        save_file(state, weights_path, metadata={"config": CONFIG, "seed": str(SEED), "model": "r2p1d-26",
                                                 "torch": torch.__version__})
        canonical_safetensors(weights_path)
        os.chmod(weights_path, 0o644)

        binary = args.decouple
        if binary is None:
            for c in (".build/release/decouple", ".build/debug/decouple"):
                if os.path.exists(c):
                    binary = c
                    break
        if binary:
            rel, shape = check_with_decouple(builder, state, binary, work)
            print(f"weights check: torch vs {binary} forward --config \"{CONFIG}\": output {list(shape)}, "
                  f"max relative difference {rel:.2e}")
            if rel > 1e-4:
                sys.exit(f"the narrow network and decouple's {CONFIG} disagree ({rel:.2e})")

        model_dir = os.path.join(work, "cv_r2p1d_video_embedding")
        os.makedirs(model_dir)
        with open(os.path.join(model_dir, "configuration.json"), "w") as f:
            json.dump(CONFIGURATION, f, indent=2)
        torch.save(state, os.path.join(model_dir, "pytorch_model.pt"))

        # The substitution (docstring, point 1), then the pipeline exactly as a user builds it.
        pm.resnet26_2p1d = builder
        capture = Capture()
        install_hooks(capture, pm)
        p = pipeline(Tasks.video_embedding, model=model_dir)
        assert type(p) is pm.CMDSSLVideoEmbeddingPipeline, type(p)
        assert type(p.model).__mro__[1] is sys.modules[
            "modelscope.models.cv.cmdssl_video_embedding.resnet2p1d"].ResNet2p1d
        p.model.register_forward_hook(lambda module, inputs, output: capture.features.append(output.detach().clone()))

        data = CONFIGURATION["DATA"]
        clips, frames = data["multi_crop"], data["video_frames"]
        videos, checks = [], {}
        for video in VIDEOS:
            capture.reset()
            result = p(video)
            embedding = np.asarray(result[OutputKeys.VIDEO_EMBEDDING], dtype=np.float32)
            assert len(capture.batches) == 1 and len(capture.features) == 1, "one get_batch, one forward"
            n, indices, decoded = capture.batches[0]
            feats = capture.features[0].numpy()
            assert feats.shape[0] == clips and len(indices) == clips * frames == len(capture.crops)
            assert np.array_equal(torch.from_numpy(feats).mean(0).numpy(), embedding)
            entries = {}
            for k, i in enumerate(indices.tolist()):
                fr, crop = decoded[k], capture.crops[k]
                e = {"index": i, "decoded_sha256": sha256_bytes(np.ascontiguousarray(fr).tobytes()),
                     "width": int(fr.shape[1]), "height": int(fr.shape[0]),
                     "cropped_sha256": sha256_bytes(np.ascontiguousarray(crop).tobytes())}
                assert crop.shape == (data["crop_size"], data["crop_size"], 3) and crop.dtype == np.uint8
                if i in entries:
                    assert entries[i] == e, f"frame {i} differs between its uses"
                entries[i] = e
            starts = [int(indices[c * frames]) for c in range(clips)]
            videos.append({
                "path": video, "frame_count": int(n), "clip_starts": starts,
                "frames": [entries[i] for i in sorted(entries)],
                "clip_embeddings": [f32(row) for row in feats],
                "embedding": f32(embedding),
            })
            print(f"{video}: {n} frames, starts {starts}, {len(entries)} distinct frames, "
                  f"embedding |x| {float(np.linalg.norm(embedding)):.4g}, "
                  f"clip range [{float(feats.min()):.4g}, {float(feats.max()):.4g}], "
                  f"zero fraction {float((feats == 0).mean()):.2f}")
            if not args.no_swscale_check:
                checks[video] = swscale_check(video, capture.batches[0])
                print("  swscale:", json.dumps(checks[video]))

        reference = {
            "modelscope": modelscope.__version__, "decord": decord.__version__, "torch": torch.__version__,
            "pillow": PIL.__version__, "config": CONFIG, "clips": clips, "frames": frames,
            "stride": data["video_stride"], "scale_size": data["scale_size"], "crop_size": data["crop_size"],
            "mean": data["mean"], "std": data["std"], "seed": SEED, "weights": "assets/fixtures/modelscope/weights.safetensors",
            "videos": videos,
        }
        ref_path = os.path.join(OUT, "reference.json")
        with open(ref_path, "w") as f:
            json.dump(reference, f, separators=(",", ":"))
            f.write("\n")

        packages = {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions()}
        manifest = {
            "generator": "scripts/make_modelscope_fixture.sh (scripts/make_modelscope_fixture.py)",
            "pipeline": "modelscope.pipelines.cv.cmdssl_video_embedding_pipeline.CMDSSLVideoEmbeddingPipeline, "
                        "via modelscope.pipelines.pipeline(Tasks.video_embedding, model=DIR)",
            "substitutions": [
                "pipeline module's resnet26_2p1d -> NarrowResNet2p1d(ResNet2p1d) at " + CONFIG,
                "torchvision::nms/qnms op schemas defined before importing torchvision (CUDA-only wheel on PyPI)",
            ],
            "configuration.json": CONFIGURATION,
            "config": CONFIG,
            "seed": SEED,
            "python": platform.python_version(),
            "packages": dict(sorted(packages.items())),
            "sha256": {"reference.json": sha256_file(ref_path), "weights.safetensors": sha256_file(weights_path)},
            "videos_sha256": {v: sha256_file(v) for v in VIDEOS},
            "short_video_command": " ".join(SHORT_COMMAND + [SHORT]),
        }
        if checks:
            ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()[0]
            manifest["swscale_check"] = {
                "what": "decord's RGB frames (every frame, get_batch) minus the system ffmpeg CLI's "
                        "`-pix_fmt rgb24 -sws_flags FLAGS`; pipeline_batch_* = the frames the pipeline got",
                "ffmpeg": ffmpeg_version, "videos": checks,
            }
        with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"wrote {ref_path} ({os.path.getsize(ref_path)} bytes), {weights_path} "
              f"({os.path.getsize(weights_path)} bytes) in {time.perf_counter() - t_start:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
