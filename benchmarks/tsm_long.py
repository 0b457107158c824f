"""TSM of 10 minutes of 44.1 kHz stereo orchestra (issue 4: <= 30 s and < 3 GB on 2 cores).

    .venv/bin/python benchmarks/tsm_long.py [--minutes 10]

The KV488 I orchestra stem from ``benchmarks/full_movements.py``'s cache (rendered there on first use),
resampled to 44.1 kHz, made stereo (the right channel 7 ms behind, as a spaced pair would hear it),
warped along the movement's known time map by each method in a fresh process: wall time, the process's
peak memory, and the ratio to libtsm's own ``hps_tsm`` (the baseline: the same algorithm that ``tsm.warp``'s
default compiles, run on the same 30 s chunks) measured in the same run.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SR = 44100


def one(method, minutes):
    from concerto_nb import io, sync, tsm
    from full_movements import rendered

    d = rendered("kv488")
    n = int(minutes * 60 * sync.SYNC_SR)
    mono = io.resample(d["orchestra"][:n], sync.SYNC_SR, SR)
    delay = int(0.007 * SR)
    y = np.stack([mono, np.concatenate([np.zeros(delay, mono.dtype), mono[:-delay]])])
    time_map = d["time_map"][d["time_map"][:, 0] < len(mono) / SR - 0.01]
    time_map = np.vstack([time_map, [len(mono) / SR, sync.map_times(d["time_map"], len(mono) / SR)]])
    del d
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if method == "libtsm hps_tsm":
        import libtsm

        # the baseline: libtsm's Python loops in place of the compiled ones, chunking unchanged
        tsm._hps_tsm = lambda x, anchors: libtsm.hps_tsm(x.T.astype(np.float64), anchors, Fs=SR)
    t0 = time.perf_counter()
    out = tsm.warp(y, SR, time_map, method="hps" if method == "libtsm hps_tsm" else method)
    seconds = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    assert out.shape == (2, round(time_map[-1, 1] * SR))
    print(json.dumps({"method": method, "seconds": seconds, "peak_gb": peak_gb, "input_gb": y.nbytes / 2**30,
                      "before_gb": base_kb / 2**20, "minutes": len(mono) / SR / 60}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args.one, args.minutes)
    rows = []
    for method in ("libtsm hps_tsm", "hps", "rubberband", "wsola"):
        done = subprocess.run([sys.executable, __file__, "--one", method, "--minutes", str(args.minutes)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{rows[0]['minutes']:.1f} min of 44.1 kHz stereo; peak memory = the whole process "
          f"({rows[0]['before_gb']:.2f} GB before warping)")
    print(f"{'tsm.warp method':18s}{'time s':>8s}{'x real time':>12s}{'peak GB':>9s}{'time / libtsm':>15s}")
    for r in rows:
        print(f"{r['method']:18s}{r['seconds']:8.1f}{r['seconds'] / (r['minutes'] * 60):12.3f}{r['peak_gb']:9.2f}"
              f"{r['seconds'] / rows[0]['seconds']:15.2f}")


if __name__ == "__main__":
    main()
