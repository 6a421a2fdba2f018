#!/usr/bin/env python3
"""Reads `perf script -F comm,pid,cpu,time,event,trace` output of sched_waking/sched_wakeup/sched_switch (gzip or
plain) and reports, for wake-ups of the benchmark's threads (ferry-* and java) that waited over 100 us to run:
whether the woken thread was queued on its waker's own CPU, and how long the other CPU sat idle meanwhile.
Usage: sched-stalls.py read1-sched-trace.txt.gz"""
import collections
import gzip
import re
import statistics
import sys

path = sys.argv[1]
text = (gzip.open(path, "rt") if path.endswith(".gz") else open(path)).read().splitlines()
ev = []
for line in text:
    m = re.match(r"\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)", line)
    if m:
        comm, pid, cpu, t, e, rest = m.groups()
        ev.append((float(t), int(cpu), e, comm, rest))
idle = collections.defaultdict(list)
idle_since = {}
woken = {}
lat = []
stalls = []
for t, cpu, e, comm, rest in ev:
    if e == "sched_wakeup":
        m = re.search(r"comm=(.*?) pid=(\d+) prio=\d+ target_cpu=(\d+)", rest)
        woken[int(m.group(2))] = (t, int(m.group(3)), m.group(1), cpu)
    elif e == "sched_switch":
        m = re.search(r"next_comm=(.*?) next_pid=(\d+)", rest)
        nxt = int(m.group(2))
        if nxt == 0:
            idle_since[cpu] = t
        elif idle_since.get(cpu) is not None:
            idle[cpu].append((idle_since[cpu], t))
            idle_since[cpu] = None
        if nxt in woken:
            tw, target, name, waker_cpu = woken.pop(nxt)
            lat.append((t - tw) * 1e6)
            if (t - tw) * 1e6 > 100 and (name.startswith("ferry") or name == "java"):
                stalls.append((tw, t, target, waker_cpu))


def idle_overlap(cpu, a, b):
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in idle[cpu])


cpus = sorted({c for _, c, *_ in ev})
print(f"wake-ups: {len(lat)}, p50 {statistics.median(lat):.1f} us, p99 {sorted(lat)[int(len(lat) * 0.99)]:.1f} us")
print(f"benchmark threads that waited > 100 us to run: {len(stalls)}")
print(f"  queued on their waker's own CPU: {sum(1 for s in stalls if s[2] == s[3])}")
if len(cpus) == 2:
    other = [idle_overlap(1 - s[2], s[0], s[1]) for s in stalls]
    print(f"  the other CPU idle for > 50 us meanwhile: {sum(1 for o in other if o > 50e-6)}; "
          f"mean idle of the other CPU per stall: {statistics.mean(other) * 1e6:.0f} us")
