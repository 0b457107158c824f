"""How fast ``concerto-nb train`` steps with its batches made ahead by worker processes, against the
training process making each batch in turn (the baseline), measured in the same run.

    .venv/bin/python benchmarks/train_speed.py [--steps N] [--workers 1,2] [--rounds R]

Each setting trains the shipped recipe (:func:`concerto_nb.train.train`: batch 12, seed 0, one torch
thread) for N steps (default 30) from scratch into a temporary folder, the settings in turn for R rounds
(default 3), and reports the median seconds per step (the rendered stems are loaded before the clock
starts; the first step's worker start is counted) and whether its weights are bit for bit the
baseline's. Run it with nothing else on the cores: two jobs sharing them measure each other.
"""
import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import train  # noqa: E402  (scripts/train.py)

SHARED = ROOT / "data" / "sources"


def main():
    warnings.simplefilter("ignore")
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--workers", default="1", help="comma-separated worker counts to compare with 0")
    p.add_argument("--rounds", type=int, default=3, help="each setting runs once per round, in turn (the "
                   "machine's speed drifts; the median of the rounds is reported)")
    args = p.parse_args()
    settings = [0] + [int(w) for w in args.workers.split(",")]
    train.render_training_stems(SHARED, train.DEFAULT_CACHE, progress=False)  # rendered once, before timing
    print(f"{args.steps} steps of batch 12, one torch thread, median of {args.rounds} rounds")
    seconds, weights = {w: [] for w in settings}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for workers in settings:
                out = Path(tmp) / f"w{workers}.pt"
                (Path(tmp) / "ck.pt").unlink(missing_ok=True)
                result = train.train(SHARED, out_path=out, checkpoint=Path(tmp) / "ck.pt", steps=args.steps,
                                     progress=False, log_every=args.steps, workers=workers)
                seconds[workers].append(result["seconds"] / args.steps)
                weights[workers] = torch.load(out)
    print(f"{'workers':>8s}{'s/step':>9s}{'speed-up':>10s}  rounds (s/step)          weights")
    base = np.median(seconds[0])
    for workers in settings:
        same = "(baseline)" if workers == 0 else "identical" if all(
            torch.equal(weights[0][k], weights[workers][k]) for k in weights[0] if k != "_config") else "DIFFERENT"
        per_step = np.median(seconds[workers])
        rounds = " ".join(f"{x:.3f}" for x in seconds[workers])
        print(f"{workers:8d}{per_step:9.3f}{base / per_step:9.2f}x  {rounds:24s} {same}")


if __name__ == "__main__":
    main()
