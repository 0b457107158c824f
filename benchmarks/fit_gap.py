"""How close the network gets to the oracle on the very mixes it trained on.

    .venv/bin/python benchmarks/fit_gap.py [--weights PATH [--steps S]] [--batches N]

``benchmarks/soundfont_shift.py`` splits the gap to the oracle on held-out excerpts into what a new
soundfont costs and what is left on the training soundfonts. This goes one step further in: the
training batches themselves (:func:`concerto_nb.mixes.step_batch` with the shipped recipe's seed, N
batches of 12 six-second mixes spread over its 4000 steps, or over the S steps of other weights), and
as many fresh mixes of the same stems (another seed: music, soundfonts and rooms the network knows,
pairings it never heard). For each mix with both sources present: piano SDR of the ideal ratio mask
and of the network (soft mask), and the gap between them (the orchestra's is the same: in both
methods the estimates add up to the mixture). If the gap on its own training mixes is already near
the target's 3 dB, what is missing on held-out music is generalisation; if it is well above, what
is missing is mostly fit, which changes of training data or augmentation hardly move.
"""
import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import evaluation, mixes as random_mixes, model, separation  # noqa: E402
sys.path.insert(0, str(ROOT / "scripts"))
import train  # noqa: E402  (scripts/train.py)

SHARED = ROOT / "data" / "sources"
TRAINING_SEED, FRESH_SEED = 0, 12345


def gaps(net, mixes, seed, steps):
    """(oracle, network) piano SDR of each mix of the batches of ``steps`` with both sources present."""
    rows = []
    for step in steps:
        batch = random_mixes.step_batch(mixes, 12, seed, step)
        for piano, mixture in zip(batch["piano"].numpy(), batch["mixture"].numpy()):
            orch = mixture - piano
            if np.max(np.abs(piano)) == 0 or np.max(np.abs(orch)) == 0:
                continue  # a tutti or a cadenza: SDR of a silent source is undefined
            oracle = evaluation.sdr(piano, evaluation.oracle_irm(piano, orch)[0])
            network = evaluation.sdr(piano, separation.separate(mixture, model.SR, net=net)[0])
            rows.append((oracle, network))
    return np.array(rows)


def main():
    warnings.simplefilter("ignore")
    p = argparse.ArgumentParser()
    p.add_argument("--weights", default=None)
    p.add_argument("--steps", type=int, default=4000, help="the steps the weights were trained for (seed 0)")
    p.add_argument("--batches", type=int, default=40)
    args = p.parse_args()
    net = model.load_model(args.weights)
    # one set of stems for both seeds: step_batch draws each batch from (seed, step) alone
    mixes = train.training_mixes(SHARED)
    steps = np.linspace(0, args.steps - 1, args.batches).astype(int)
    print(f"network: {args.weights or model.WEIGHTS}; batches of steps {steps[0]}..{steps[-1]} ({args.batches})")
    print(f"{'mixes':38s}{'n':>5s}{'oracle':>8s}{'network':>9s}{'gap':>7s}{'median gap':>12s}")
    # the fresh mixes are the same for any weights, so their gaps compare across networks
    for name, seed, at in ((f"training batches (seed {TRAINING_SEED})", TRAINING_SEED, steps),
                           (f"fresh mixes, same stems (seed {FRESH_SEED})", FRESH_SEED, range(args.batches))):
        rows = gaps(net, mixes, seed, at)
        gap = rows[:, 0] - rows[:, 1]
        print(f"{name:38s}{len(rows):5d}{rows[:, 0].mean():8.2f}{rows[:, 1].mean():9.2f}{gap.mean():7.2f}"
              f"{np.median(gap):12.2f}", flush=True)


if __name__ == "__main__":
    main()
