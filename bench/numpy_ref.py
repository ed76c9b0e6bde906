"""numpy doing the same work as the foundation bench's cases, on the same files.

Usage: numpy_ref.py header FILE ITERATIONS
       numpy_ref.py tile FILE OFFSET ROWS COLS MAX_ROWS MAX_COLS REPEATS   (BF16 tensor)
       numpy_ref.py stats FILE OFFSET NUMEL BINS REPEATS                   (F32 tensor)
Prints JSON: {"ms": median milliseconds of the warm runs, ...}. Timed with perf_counter
inside Python, so interpreter start-up does not count.
"""

import json
import math
import struct
import sys
import time

import numpy as np


def median(xs):
    return float(np.median(xs))


def timed(fn, repeats, warmup=1):
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return median(times), result


def header(path, iterations):
    def run():
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            h = json.loads(f.read(n))
        start = 8 + n
        tensors = []
        for name, e in h.items():
            if name == "__metadata__":
                continue
            b, end = e["data_offsets"]
            tensors.append((name, e["dtype"], e["shape"], (b, end), start + b))
        return tensors

    ms, tensors = timed(run, iterations, warmup=10)
    return {"ms": ms, "tensors": len(tensors)}


def tile(path, offset, rows, cols, max_rows, max_cols, repeats):
    cell_rows = max(1, math.ceil(rows / max_rows))
    cell_cols = max(1, math.ceil(cols / max_cols))

    def run():
        raw = np.fromfile(path, dtype=np.uint16, count=rows * cols, offset=offset)
        x = (raw.astype(np.uint32) << 16).view(np.float32).reshape(rows, cols)
        tr, tc = rows // cell_rows, cols // cell_cols  # the bench shape divides evenly
        means = x.reshape(tr, cell_rows, tc, cell_cols).mean(axis=(1, 3))
        lo, hi = float(np.nanmin(means)), float(np.nanmax(means))
        codes = np.clip(np.rint((means - lo) * (254 / (hi - lo))), 0, 254).astype(np.uint8)
        return codes

    ms, codes = timed(run, repeats)
    return {"ms": ms, "rows": int(codes.shape[0]), "cols": int(codes.shape[1])}


def stats(path, offset, numel, bins, repeats):
    def run():
        a = np.fromfile(path, dtype=np.float32, count=numel, offset=offset)
        nan = int(np.count_nonzero(np.isnan(a)))
        inf = int(np.count_nonzero(np.isinf(a)))
        zeros = int(np.count_nonzero(a == 0))
        f = a[np.isfinite(a)] if nan + inf else a
        mn, mx = float(f.min()), float(f.max())
        mean = float(f.mean(dtype=np.float64))
        std = float(f.std(dtype=np.float64))
        counts, _ = np.histogram(f, bins=bins, range=(mn, mx))
        cum = np.cumsum(counts)
        qs = [float(np.searchsorted(cum, p * (f.size - 1))) for p in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)]
        return {"nan": nan, "inf": inf, "zeros": zeros, "min": mn, "max": mx, "mean": mean, "std": std, "q": qs}

    ms, result = timed(run, repeats)
    return {"ms": ms, **{k: v for k, v in result.items() if k != "q"}}


def main(argv):
    mode = argv[0]
    if mode == "header":
        out = header(argv[1], int(argv[2]))
    elif mode == "tile":
        out = tile(argv[1], *map(int, argv[2:8]))
    elif mode == "stats":
        out = stats(argv[1], *map(int, argv[2:6]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
