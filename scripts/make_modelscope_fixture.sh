#!/usr/bin/env bash
# Regenerates assets/fixtures/modelscope (the parity fixture made by the real ModelScope
# pipeline's own code; see scripts/make_modelscope_fixture.py) in a throwaway virtual
# environment. Never part of `make test`.
#
#   scripts/make_modelscope_fixture.sh            # venv in /tmp/modelscope-venv (kept for reruns)
#   VENV=/somewhere/else scripts/make_modelscope_fixture.sh
#   scripts/make_modelscope_fixture.sh --no-swscale-check   # extra arguments go to the Python script
#
# Needs python3 (3.11), ffmpeg/ffprobe (libx264 only if the short test video is missing) and
# PyPI. torch's CPU wheel comes from the machine's pip find-links (/opt/wheels) or, elsewhere,
# from the PyTorch CPU index (set PIP_EXTRA_INDEX_URL to it). On 2 cores: about 45 s to make
# the venv (once), about 50 s to run (15 s of it the pipeline, the rest the ffmpeg CLI
# comparison, which --no-swscale-check skips). The weights check runs .build/release/decouple
# or .build/debug/decouple forward when one is built (read-only), else is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-/tmp/modelscope-venv}"
PYTHON="${PYTHON:-python3}"

# Everything the pipeline's import chain needs, pinned (the fixture depends on Pillow's resize,
# decord's bundled FFmpeg and torch's convolutions): modelscope's pipelines import
# modelscope.msdatasets (-> datasets), its Config (-> addict) and its JSON reader
# (-> simplejson, sortedcontainers; python-dateutil comes with datasets' pandas);
# the pipeline itself imports decord, torch, torchvision (to_tensor), numpy and PIL.
REQUIREMENTS=(
    "modelscope==1.40.2"
    "decord==0.6.0"
    "torch==2.13.0+cpu"
    "torchvision==0.28.0"
    "numpy==2.4.6"
    "pillow==13.0.0"
    "safetensors==0.8.0"
    "addict==2.4.0"
    "datasets==5.2.0"
    "simplejson==4.3.0"
    "sortedcontainers==2.4.0"
)

stamp="$VENV/.decouple-requirements"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${REQUIREMENTS[*]}" ]; then
    start=$(date +%s)
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "${REQUIREMENTS[@]}"
    echo "${REQUIREMENTS[*]}" > "$stamp"
    echo "venv $VENV ready in $(( $(date +%s) - start )) s"
fi

start=$(date +%s)
"$VENV/bin/python" scripts/make_modelscope_fixture.py "$@"
echo "fixture written in $(( $(date +%s) - start )) s"
