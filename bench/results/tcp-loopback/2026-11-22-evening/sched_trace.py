#!/usr/bin/env python3
"""Reads `perf script -F comm,pid,tid,cpu,time,event,trace` output of sched_switch / sched_wakeup / sched_waking
(gzip or plain) from a 2-CPU host. Usage:
  sched_trace.py timeline TRACE                      run time per thread, then each stretch of >0.5 ms one thread
                                                     ran and what the other CPU ran meanwhile
  sched_trace.py wakes TRACE WAKER READER TARGET     where thread WAKER placed READER and TARGET (its own CPU or the
                                                     other), and whether the other CPU was idle at that moment
  sched_trace.py window TRACE TID N                  the events around the N-th stretch of >0.8 ms that TID ran"""
import collections
import gzip
import re
import sys

LINE = re.compile(r"\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)")
Event = collections.namedtuple("Event", "t cpu event comm pid tid rest line")


def events(path):
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                comm, pid, tid, cpu, t, e, rest = m.groups()
                yield Event(float(t), int(cpu), e, comm, int(pid), int(tid), rest, line.rstrip("\n"))


def timeline(path):
    run = {}  # cpu -> (tid, comm, since)
    intervals = collections.defaultdict(list)  # cpu -> [(start, end, tid, comm)]
    pidof = {}
    for ev in events(path):
        pidof[ev.tid] = (ev.pid, ev.comm)
        if ev.event == "sched_switch":
            m = re.search(r"next_comm=(.*?) next_pid=(\d+)", ev.rest)
            if ev.cpu in run:
                tid, comm, since = run[ev.cpu]
                intervals[ev.cpu].append((since, ev.t, tid, comm))
            run[ev.cpu] = (int(m.group(2)), m.group(1), ev.t)
    total = collections.defaultdict(float)
    for iv in intervals.values():
        for s, e, tid, c in iv:
            total[(tid, c)] += e - s
    for (tid, c), v in sorted(total.items(), key=lambda x: -x[1])[:12]:
        print(f"{tid:7d} {pidof.get(tid, ('?', ''))[0]!s:>7} {c:16s} {v * 1000:8.1f} ms")
    print("runs > 0.5ms:")
    runs = sorted((s, e, cpu, tid, c) for cpu, iv in intervals.items() for s, e, tid, c in iv)
    for s, e, cpu, tid, c in runs:
        if e - s > 0.0005 and c not in ("swapper/0", "swapper/1"):
            other = collections.defaultdict(float)
            for s2, e2, cpu2, t2, c2 in runs:
                if cpu2 != cpu and e2 > s and s2 < e:
                    other[(t2, c2)] += min(e, e2) - max(s, s2)
            print(f"cpu{cpu} {tid} {c} {1e6 * (e - s):.0f}us  other cpu: " + ", ".join(
                f"{t2}:{c2}:{v * 1e6:.0f}us" for (t2, c2), v in sorted(other.items(), key=lambda x: -x[1])[:4]))


def wakes(path, waker, reader, target):
    counts = collections.Counter()
    running = {}
    for ev in events(path):
        if ev.event == "sched_switch":
            running[ev.cpu] = re.search(r"next_pid=(\d+)", ev.rest).group(1)
        if ev.event == "sched_wakeup" and str(ev.tid) == waker:
            m = re.search(r"pid=(\d+) .*target_cpu=(\d+)", ev.rest)
            who, to = m.group(1), int(m.group(2))
            if who in (reader, target):
                other = "idle" if running.get(1 - ev.cpu) == "0" else "busy"
                counts[("reader" if who == reader else "target", "same" if to == ev.cpu else "other",
                        "othercpu " + other)] += 1
    for k, v in sorted(counts.items()):
        print(k, v)


def window(path, tid, n):
    evs = list(events(path))
    entered = {}
    found = 0
    for i, ev in enumerate(evs):
        if ev.event != "sched_switch":
            continue
        if re.search(rf"next_pid={tid}\b", ev.rest):
            entered[ev.cpu] = (ev.t, i)
        elif re.search(rf"prev_pid={tid}\b", ev.rest) and ev.cpu in entered:
            since, j = entered.pop(ev.cpu)
            if ev.t - since > 0.0008:
                found += 1
                if found == n:
                    for k in range(max(0, j - 12), i + 3):
                        print(evs[k].line[:230])
                    return


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "timeline":
        timeline(*args)
    elif mode == "wakes":
        wakes(*args)
    elif mode == "window":
        window(args[0], args[1], int(args[2]))
    else:
        sys.exit(__doc__)
