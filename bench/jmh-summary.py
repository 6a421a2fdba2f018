#!/usr/bin/env python3
"""Summarises a JMH JSON result: median over forks of each fork's mean, per benchmark and parameter set.
For PostPathBenchmark it adds the per-descriptor overhead over rawCopies; for LargeCopyBenchmark the ratio to
segmentCopy.  Usage: bench/jmh-summary.py result.json"""
import json, statistics, sys

rows = {}
for r in json.load(open(sys.argv[1])):
    name = r["benchmark"].rsplit(".", 2)
    cls, bench = name[-2], name[-1]
    params = tuple(sorted((r.get("params") or {}).items()))
    forks = [statistics.mean(f) for f in r["primaryMetric"]["rawData"]]
    rows[(cls, params, bench)] = (statistics.median(forks), r["primaryMetric"]["scoreUnit"], len(forks))

for (cls, params, bench), (med, unit, n) in sorted(rows.items()):
    p = dict(params)
    extra = ""
    if cls == "PostPathBenchmark" and bench != "rawCopies":
        raw = rows.get((cls, params, "rawCopies"))
        if raw:
            d = int(p["descriptors"])
            extra = f"  overhead {(med - raw[0]) * 1000 / d:7.1f} ns/desc"
    if cls == "LargeCopyBenchmark" and bench != "segmentCopy":
        base = rows.get((cls, params, "segmentCopy"))
        if base:
            extra = f"  {med / base[0]:.3f} x segmentCopy"
    print(f"{cls:20} {bench:26} {str(p):28} {med:12.3f} {unit}  (median of {n} forks){extra}")
