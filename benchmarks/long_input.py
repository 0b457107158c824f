"""Peak memory and time of `concerto-nb playalong` on a 30-minute, 44.1 kHz stereo movement.

    .venv/bin/python benchmarks/long_input.py [--minutes 30] [--separation model|hpss]

The long input is the demo tiled end to end (concerto and pianist alike), written as stereo
FLAC. Tiling makes the music repeat every 75 s, which blurs the "same piece?" confidence, so this
run passes --accept-low-confidence: it measures time and memory, not alignment quality.
The 75 s demo runs first in the same script as the baseline; the ratios show how time and
memory grow with length (chunked separation and TSM; synctoolbox's features grow linearly).
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import data, io  # noqa: E402


def run(concerto, pianist, out, separation):
    """playalong in a child process; returns (wall s, peak RSS GB, report)."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-c", "import sys, resource; from concerto_nb.cli import main; rc = main(sys.argv[1:]); "
           "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)",
           "playalong", str(concerto), str(pianist), "-o", str(out), "-q", "--accept-low-confidence",
           "--separation", separation]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode:
        sys.exit(r.stderr)
    peak_kb = int(r.stdout.rsplit("PEAK_KB", 1)[1].split()[0])
    return time.perf_counter() - t0, peak_kb / 1e6, json.loads((Path(out) / "report.json").read_text())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--separation", default="model", choices=["model", "hpss"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = run(data.demo_path("concerto"), data.demo_path("pianist"), tmp / "base", args.separation)
        concerto, sr = io.load_audio(data.demo_path("concerto"))
        pianist, _ = io.load_audio(data.demo_path("pianist"))
        reps = int(np.ceil(args.minutes * 60 / (len(concerto) / sr)))
        for name, y in (("concerto", concerto), ("pianist", pianist)):
            with sf.SoundFile(tmp / f"{name}.flac", "w", sr, 2, subtype="PCM_16") as f:
                for k in range(reps):  # slightly different channels: a real stereo file
                    f.write(np.stack([y, 0.8 * y], axis=1))
        long = run(tmp / "concerto.flac", tmp / "pianist.flac", tmp / "long", args.separation)
    minutes = reps * len(concerto) / sr / 60
    print(f"separation: {args.separation}")
    print(f"{'input':28s}{'wall s':>8s}{'peak GB':>9s}  stage timings (s)")
    print(f"{'demo 75 s mono':28s}{base[0]:8.1f}{base[1]:9.2f}  {base[2]['timings_s']}")
    print(f"{f'{minutes:.1f} min stereo 44.1 kHz':28s}{long[0]:8.1f}{long[1]:9.2f}  {long[2]['timings_s']}")
    print(f"ratio long/demo: duration x{minutes * 60 / 75:.1f}, time x{long[0] / base[0]:.1f}, "
          f"peak memory x{long[1] / base[1]:.1f}; alignment confidence {long[2]['alignment']['confidence']}")


if __name__ == "__main__":
    main()
