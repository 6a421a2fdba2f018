#!/usr/bin/env python3
"""PyTorch anchors for bench/gpu/run: device-to-device copy_ bandwidth on one GPU and between two (peer copy).
Prints `key GB/s` lines, median of timed iterations after warm-up, bytes moved / time."""
import statistics
import sys
import time

import torch

WARMUP, ITERATIONS, WARMUP_S = 3, 31, 1.0  # as CudaBench: at least 1 s and 3 iterations of warm-up


def gbps(fn, nbytes):
    samples = []
    start = time.perf_counter()
    warm = 0
    while warm < WARMUP or time.perf_counter() - start < WARMUP_S:
        fn()
        torch.cuda.synchronize()
        warm += 1
    for i in range(WARMUP, WARMUP + ITERATIONS):
        torch.cuda.synchronize()
        start = time.perf_counter_ns()
        fn()
        torch.cuda.synchronize()
        ns = time.perf_counter_ns() - start
        if i >= WARMUP:
            samples.append(nbytes / ns)
    return statistics.median(samples)


def index_copies():
    """KV-style block copies in PyTorch: dst[perm] = src as index_copy_ and as indexed assignment, on [blocks, bytes]
    views (32,768 x 32 KiB = 1 GiB, 131,072 x 4 KiB = 512 MiB), and host<->device for 32 KiB blocks."""
    for blocks, block, name in ((32768, 32768, "32k"), (131072, 4096, "4k")):
        src = torch.empty(blocks, block, dtype=torch.uint8, device="cuda:0")
        dst = torch.empty_like(src)
        perm = torch.randperm(blocks, device="cuda:0")
        n = blocks * block
        print(f"torch_index_copy_{name} {gbps(lambda: dst.index_copy_(0, perm, src), n):.1f}")
        print(f"torch_index_put_{name} {gbps(lambda: dst.__setitem__(perm, src), n):.1f}")
        del src, dst, perm
        torch.cuda.empty_cache()


def main():
    if sys.argv[1:] == ["index"]:
        index_copies()
        return
    sizes = [int(a) for a in sys.argv[1:]] or [64, 256, 1024]
    devices = torch.cuda.device_count()
    print(f"torch {torch.__version__} gpus {devices} {torch.cuda.get_device_name(0).replace(' ', '_')}")
    for mib in sizes:
        n = mib << 20
        a = torch.empty(n, dtype=torch.uint8, device="cuda:0")
        b = torch.empty_like(a)
        print(f"torch_d2d_{mib}MiB {gbps(lambda: b.copy_(a, non_blocking=True), n):.1f}")
        if devices > 1:
            c = torch.empty(n, dtype=torch.uint8, device="cuda:1")
            print(f"torch_peer_{mib}MiB {gbps(lambda: c.copy_(a, non_blocking=True), n):.1f}")
            del c
        del a, b
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
