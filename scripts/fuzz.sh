#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer harnesses (Fuzz/Harness, FuzzTargets) with
# -sanitize=fuzzer,address in .build/fuzz and runs each for FUZZ_SECONDS (default 60), starting
# from its seed corpus in Fuzz/corpus/<name>. Prints executions, coverage and crashes per
# harness; a crash input is minimised into .build/fuzz/crashes/<name>/. FUZZ_TARGETS picks
# harnesses (default: all, in FuzzTargets.names order); FUZZ_SECONDS_<name> (e.g.
# FUZZ_SECONDS_torch=600) gives one harness its own time. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-safetensors torch pickle npy store card config keys video}
OUT=.build/fuzz

swiftc=$(command -v swiftc || true)
runtime=""
if [ -n "$swiftc" ]; then
  runtime=$(ls "$(dirname "$(readlink -f "$swiftc")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a 2>/dev/null | head -1 || true)
fi
if [ -z "$runtime" ]; then
  echo "make fuzz needs the libFuzzer runtime (libclang_rt.fuzzer) of the Swift toolchain, which this toolchain does not ship." >&2
  exit 1
fi

DECOUPLE_FUZZ=1 nice -n 10 "$SWIFT" build --scratch-path "$OUT" -c release --product DecoupleFuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
BIN="$OUT/release/DecoupleFuzz"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
# libFuzzer, not the Swift runtime's backtracer, handles a trap, so the crash input is saved.
export SWIFT_BACKTRACE=enable=no
# The harnesses write each input to a scratch file (the parsers take paths): keep it in memory.
if [ -d /dev/shm ]; then export TMPDIR=/dev/shm/; fi
summary="$OUT/summary.txt"
printf '%-12s %12s %8s %10s %8s %8s %8s %s\n' harness executions seconds exec/s cov ft corpus crashes | tee "$summary"
failed=0
for name in $TARGETS; do
  work="$OUT/corpus/$name"
  artifacts="$OUT/artifacts/$name"
  rm -rf "$artifacts"
  mkdir -p "$work" "$artifacts" "$OUT/crashes/$name"
  log="$OUT/$name.log"
  start=$(date +%s)
  seconds_var="FUZZ_SECONDS_$name"
  budget=${!seconds_var:-$SECONDS_EACH}
  execs=0
  stalls=0
  : >"$log"
  # libFuzzer stops at the first timeout. One that does not come back when the input is run
  # again three times was the machine stalling (the 2 cores are shared), not a hang: it is
  # kept as stall-* and fuzzing resumes from the saved corpus for the time left.
  while :; do
    left=$(( budget - ($(date +%s) - start) ))
    [ "$left" -gt 0 ] || break
    set +e
    DECOUPLE_FUZZ_TARGET=$name nice -n 10 "$BIN" -max_total_time="$left" -timeout=1 -rss_limit_mb=2048 \
      -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "Fuzz/corpus/$name" >"$log.part" 2>&1
    set -e
    cat "$log.part" >>"$log"
    run=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log.part" | grep -o '[0-9]*$' | tail -1)
    # A run stopped by a timeout prints no final stats: its last status line counts instead.
    [ -n "$run" ] || run=$(grep -oE '^#[0-9]+' "$log.part" | tail -1 | tr -d '#')
    execs=$(( execs + ${run:-0} ))
    timeout=$(ls "$artifacts"/timeout-* 2>/dev/null | head -1 || true)
    [ -n "$timeout" ] || break
    if DECOUPLE_FUZZ_TARGET=$name "$BIN" -runs=3 -timeout=1 -detect_leaks=0 "$timeout" >/dev/null 2>&1; then
      mv "$timeout" "$artifacts/stall-$(basename "$timeout" | cut -d- -f2)"
      stalls=$((stalls + 1))
      [ "$stalls" -lt 20 ] || break
    else
      break
    fi
  done
  rm -f "$log.part"
  elapsed=$(( $(date +%s) - start ))
  [ "$stalls" -eq 0 ] || echo "  $name: $stalls timeouts that ran under 1 s when repeated (machine stalls), kept in $artifacts" >&2
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  corpus=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  crashes=0
  # slow-unit-* files (an input over 10 s once, e.g. while the machine was stalled) are kept
  # in the artifacts folder but not counted: a real hang fails -timeout=1 as timeout-*.
  for artifact in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-*; do
    [ -e "$artifact" ] || continue
    crashes=$((crashes + 1))
    minimised="$OUT/crashes/$name/$(basename "$artifact")"
    DECOUPLE_FUZZ_TARGET=$name nice -n 10 "$BIN" -minimize_crash=1 -max_total_time=60 -runs=100000 -timeout=1 \
      -detect_leaks=0 -exact_artifact_path="$minimised" "$artifact" >"$OUT/$name.minimize.log" 2>&1 || true
    [ -e "$minimised" ] || cp "$artifact" "$minimised"
    echo "  $name: crash input minimised to $minimised ($(wc -c <"$minimised") bytes); log $log" >&2
  done
  [ "$crashes" -eq 0 ] || failed=1
  rate=$(( ${execs:-0} / (elapsed > 0 ? elapsed : 1) ))
  printf '%-12s %12s %8s %10s %8s %8s %8s %s\n' "$name" "${execs:-?}" "$elapsed" "$rate" "${cov:-?}" "${ft:-?}" \
    "${corpus:-?}" "$crashes" | tee -a "$summary"
done
if [ "$failed" -ne 0 ]; then
  echo "make fuzz found crashes: fix each in its parser, then move the minimised input into Fuzz/corpus/<name>/ (make test replays it)." >&2
  exit 1
fi
