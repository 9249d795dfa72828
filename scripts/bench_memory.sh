#!/usr/bin/env bash
# Peak memory of `decouple probe` and `decouple extract` on a 10-minute 720p H.264 video.
#
# The video is the bundled 720p sample looped 114 times with `-c copy` (15,048 frames, 25 fps,
# 10 min 2 s; every loop starts with an IDR frame), so it costs seconds to make. Peak memory is
# the maximum resident set size that GNU time reports. Extraction writes its default outputs
# (PNG keyframes, CSV, 4x4 float32 fields) to a scratch directory that is removed afterwards:
# about 11 GB of disk while it runs.
#
# Usage: scripts/bench_memory.sh [path/to/decouple]   (default .build/release/decouple)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/decouple}
WORK=$(mktemp -d /tmp/decouple-memory-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
VIDEO=$WORK/ten_minutes_720p.mp4
ffmpeg -v error -stream_loop 113 -i assets/videos/bigbuckbunny_720p.mp4 -c copy -an "$VIDEO"

peak() {  # peak RSS in MB and wall seconds of a command
  /usr/bin/time -v "$@" > "$WORK/out.txt" 2> "$WORK/time.txt" || { cat "$WORK/time.txt" >&2; exit 1; }
  local kb wall
  kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$WORK/time.txt")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$WORK/time.txt")
  echo "$((kb / 1024)) MB peak, $wall wall"
}

echo "video: $(stat -c %s "$VIDEO" | numfmt --to=si)B, $("$BIN" probe --json "$VIDEO" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["info"]["frame_count"], "frames,", round(d["info"]["duration"],1), "s,", d["info"]["width"], "x", d["info"]["height"])' 2>/dev/null || echo '?')"
echo "probe:   $(peak "$BIN" probe "$VIDEO")"
echo "extract: $(peak "$BIN" extract "$VIDEO" -o "$WORK/out")  ($(du -sh "$WORK/out" | cut -f1) written)"
rm -rf "$WORK/out"
echo "extract --fields none --no-csv: $(peak "$BIN" extract "$VIDEO" -o "$WORK/out2" --fields none --no-csv)"
