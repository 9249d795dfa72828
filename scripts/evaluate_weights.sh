#!/usr/bin/env bash
# Evaluates the trained run of `make weights` and installs it (called by make_weights.sh; run it
# alone to redo the evaluation of "$WORK/run"). Extra arguments are more eval scene-bias rows
# (e.g. --weights OTHER.safetensors).
#
# The video view has variants to choose from (weights choose); the choice is made on one fresh
# synth set and every number reported comes from sets it was not chosen on:
# 1. choice: a synth set of seed 7 over the BOTTOM halves of the photos (no background or actor
#    pixel was seen in training), every video variant; weights choose picks the variant with the
#    best out-of-context R@1 among those at 0.5 or more in context;
# 2. report: a synth set of seed 8 (test region), and the real-footage camera-move set
#    (decouple camera-set, seed 7), each with the colour and motion-vector histograms, random
#    weights, and the shipped weights in the video (chosen variant), scene and motion views;
#    then a second set of each (synth seed 10, camera seed 11), since a set of 70-90 queries
#    moves by a few queries from one seed to the next.
# The model card gets the seed-8 rows; weights/scene-bias.txt and weights/camera-moves.txt the
# tables as printed, weights/more-sets.txt the second sets' tables; the camera sets' tables add
# each class's out-of-context R@1 (--per-class); weights/held-out.txt, when HOLD_OUT names shared
# videos kept out of training, the camera set cut from them (seed 15). MOTION_READOUT (default layer2-max) is what the
# motion view reads of the motion network (decouple export --motion-readout); MOVE_HEAD_SHARE
# (default 0.8) the move head's share beside it when make_weights.sh trained a move network.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/decouple}
WORK=${WORK:-/tmp/decouple-weights}
CONFIG="planes=16,32,64,128 stem=16 size=64"
W=weights/r2p1d-compact.safetensors
MOTION_READOUT=${MOTION_READOUT:-layer2-max}
# The move head's share of the motion view's cosine beside the CMD network's layer2 maximum,
# chosen on the choice sets (docs/training.md#the-move-network-trained-apart-pretrain---move-only).
MOVE_HEAD_SHARE=${MOVE_HEAD_SHARE:-0.8}
VARIANTS=video:pooled,video:fused,video:projected,video:residual,video:projected-residual,video:predicted,video:predicted-residual

$BIN synth -o "$WORK/synth-choose" --per-class 10 --seed 7 --region test --force
$BIN synth -o "$WORK/synth-report" --per-class 10 --seed 8 --region test --force
$BIN camera-set -o "$WORK/camera" --per-class 10 --seed 7 --force
$BIN synth -o "$WORK/synth-report-2" --per-class 10 --seed 10 --region test --force
$BIN camera-set -o "$WORK/camera-2" --per-class 10 --seed 11 --force

# The CMD run's export, then the move network beside it when make_weights.sh trained one.
export_weights() {
  $BIN export "$WORK/run" -o $W --motion-readout "$MOTION_READOUT" "$@"
  if [ -d "$WORK/move-run" ]; then
    $BIN export "$WORK/move-run" --add-to $W -o $W --move-head-share "$MOVE_HEAD_SHARE" "$@"
  fi
}
export_weights
$BIN eval scene-bias "$WORK/synth-choose" --weights $W "$@" --config "$CONFIG" --views $VARIANTS,scene,motion \
  --json-out "$WORK/choose.json" | tee "$WORK/choose.txt"
$BIN weights choose "$WORK/choose.json" --weights r2p1d-compact.safetensors --model r2p1d-26 --config "$CONFIG" -o weights/default.json
VARIANT=video:$(sed -n 's/.*"view" *: *"\([^"]*\)".*/\1/p' weights/default.json)

$BIN eval scene-bias "$WORK/synth-report" --weights $W "$@" --config "$CONFIG" --views "$VARIANT,scene,motion" \
  --json-out "$WORK/scene-bias.json" | tee weights/scene-bias.txt
$BIN eval scene-bias "$WORK/camera" --weights $W "$@" --config "$CONFIG" --views "$VARIANT,scene,motion" --per-class \
  --json-out "$WORK/camera.json" | tee weights/camera-moves.txt
{
  $BIN eval scene-bias "$WORK/synth-report-2" --weights $W "$@" --config "$CONFIG" --views "$VARIANT,scene,motion"
  echo
  $BIN eval scene-bias "$WORK/camera-2" --weights $W "$@" --config "$CONFIG" --views "$VARIANT,scene,motion" --per-class
} | tee weights/more-sets.txt
# Footage held out of training (make_weights.sh's HOLD_OUT): a camera-move set cut from it alone,
# the only one of footage the weights never saw (weights/held-out.txt).
HELD=()
for name in ${HOLD_OUT:-}; do [ -f "../shared/media/videos/$name" ] && HELD+=("../shared/media/videos/$name"); done
if [ ${#HELD[@]} -gt 0 ]; then
  $BIN camera-set "${HELD[@]}" -o "$WORK/camera-held-out" --per-class 10 --seed 15 --force
  $BIN eval scene-bias "$WORK/camera-held-out" --weights $W "$@" --config "$CONFIG" --views "$VARIANT,scene,motion" \
    --per-class | tee weights/held-out.txt
fi
export_weights --scene-bias "$WORK/scene-bias.json"
cp "$WORK/run/loss.png" weights/r2p1d-compact.loss.png
cat weights/default.json
