"""Peak memory of `tsm.warp` along a map with a long pause: cut on both time axes vs in one piece.

    .venv/bin/python benchmarks/bounded_memory.py [--pauses 60 120 240]

A pianist who stops for a while (to turn a page, to think) gives a time map that holds one moment of the
orchestra for the whole pause. The audio: 40 s of the demo concerto (stereo, 44.1 kHz), the map the identity
but for a pause of P seconds at 20 s. Each case runs in a fresh process; the table gives its wall time and peak
memory, and the ratio to the same warp in one piece (``chunk_s=np.inf``: what `warp` did for a reference under
45 s before the cuts on the performance axis), measured in the same run.
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


def one(pause_s, chunk_s):
    from concerto_nb import data, io, tsm

    y, sr = io.load_audio(data.demo_path("concerto"), mono=False)
    y = np.atleast_2d(y)[:, : 40 * sr]
    y = np.vstack([y, y]) if y.shape[0] == 1 else y
    time_map = np.array([[0.0, 0.0], [20.0, 20.0], [20.05, 20.0 + pause_s], [40.0, 40.0 + pause_s]])
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = tsm.warp(y, sr, time_map, chunk_s=chunk_s)
    seconds = time.perf_counter() - t0
    assert out.shape == (2, int(round(time_map[-1, 1] * sr))) and np.all(np.isfinite(out))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": round(seconds, 2), "peak_mb": round(peak_kb / 1024),
            "added_mb": round((peak_kb - base_kb) / 1024)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pauses", type=float, nargs="+", default=[60.0, 120.0, 240.0])
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one(float(args.case[0]), float(args.case[1]))))
        return
    print("| pause (s) | output (s) | warp | time (s) | peak memory (MB) | added by warp (MB) | memory vs one piece |")
    print("|---|---|---|---|---|---|---|")
    for pause in args.pauses:
        rows = {}
        for name, chunk_s in (("one piece (baseline)", np.inf), ("cut on both axes (default)", 30.0)):
            done = subprocess.run([sys.executable, __file__, "--case", str(pause), str(chunk_s)],
                                  capture_output=True, text=True)
            rows[name] = json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-200:]}
        base = rows["one piece (baseline)"]
        for name, r in rows.items():
            if "error" in r:
                print(f"| {pause:.0f} | {40 + pause:.0f} | {name} | failed: {r['error']!r} | | | |")
                continue
            ratio = r["added_mb"] / max(base.get("added_mb", 0), 1)
            print(f"| {pause:.0f} | {40 + pause:.0f} | {name} | {r['seconds']} | {r['peak_mb']} | {r['added_mb']} | "
                  f"{ratio:.2f} |")


if __name__ == "__main__":
    main()
