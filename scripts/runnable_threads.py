#!/usr/bin/env python3
"""Average number of runnable threads of a command: how many cores it keeps busy.

    python3 scripts/runnable_threads.py decouple embed synth --random-weights -o store

Sums, over all threads of the process, the time on a CPU and the time waiting in the run
queue for one (/proc/PID/task/*/schedstat, polled every 20 ms), divided by the wall time.
Unlike CPU %, this does not drop when other processes share the cores: a thread waiting for a
CPU still counts. Threads that exit between two polls lose at most 20 ms each, so the figure
is a slight underestimate. Linux only; standard library only.
"""
import os, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
seen = {}
start = time.time()
while p.poll() is None:
    try:
        for tid in os.listdir(f"/proc/{p.pid}/task"):
            try:
                run, wait, _ = open(f"/proc/{p.pid}/task/{tid}/schedstat").read().split()
                seen[tid] = (int(run), int(wait))
            except OSError:
                pass
    except OSError:
        pass
    time.sleep(0.02)
wall = time.time() - start
run = sum(r for r, _ in seen.values()) / 1e9
wait = sum(w for _, w in seen.values()) / 1e9
print(f"wall {wall:.1f} s, on CPU {run:.1f} s, waiting for a CPU {wait:.1f} s, runnable threads on average {(run + wait) / wall:.2f}, threads seen {len(seen)}, exit {p.returncode}")
