"""How much of the network's gap to the oracle comes from a soundfont it never heard.

    .venv/bin/python benchmarks/soundfont_shift.py [--weights PATH]

The same held-out music (Mozart KV488 I, a piece training never sees, at 120 s and 400 s, 75 s each,
in the held-out hall) rendered with the held-out soundfont (MuseScore General, what
``benchmarks/separation.py`` measures) and with each training soundfont (``train.TRAIN_SOUNDFONTS``).
Piano and orchestra SDR of the ideal ratio mask and of the network (soft mask), and the gap between them
(the same for both sources: in both methods the two estimates add up to the mixture, so the piano's
error is the orchestra's with its sign flipped).
On the training soundfonts the gap is what the network misses on timbres it knows (its capacity and
training); the extra gap on MuseScore General is what a new timbre costs. A change that narrows the first
but not the second fits the training soundfonts better without separating new ones better.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from concerto_nb import evaluation, model, separation  # noqa: E402
sys.path.insert(0, str(ROOT / "scripts"))
import train  # noqa: E402  (scripts/train.py)
from separation import SR, _rendered  # noqa: E402  (the excerpts benchmark's renderer)

PIECE = "Mozart_KV488_mvt1_Allegro.mid"
STARTS = (120.0, 400.0)
HELD_OUT_SOUNDFONT = "musescore"


def main():
    warnings.simplefilter("ignore")
    weights = sys.argv[sys.argv.index("--weights") + 1] if "--weights" in sys.argv else None
    net = model.load_model(weights)
    print(f"network: {weights or model.WEIGHTS}")
    print(f"{'soundfont':12s}{'KV488 at':>9s}" + "".join(
        f"{c:>12s}" for c in ("oracle p/o", "network p/o")) + f"{'gap':>8s}")
    gaps = {}
    for soundfont in [HELD_OUT_SOUNDFONT, *train.TRAIN_SOUNDFONTS]:
        for start in STARTS:
            piano, orch = _rendered(PIECE, start, start + 75.0, soundfont)
            mix = piano + orch
            oracle = [evaluation.sdr(ref, est) for ref, est in zip((piano, orch), evaluation.oracle_irm(piano, orch))]
            estimates = separation.separate(mix, SR, net=net)
            network = [evaluation.sdr(ref, est) for ref, est in zip((piano, orch), estimates)]
            gap = oracle[0] - network[0]
            gaps.setdefault(soundfont, []).append(gap)
            print(f"{soundfont:12s}{start:8.0f}s" + "".join(f"{a:6.2f}{b:6.2f}" for a, b in (oracle, network))
                  + f"{gap:8.2f}", flush=True)
    held_out = np.mean(gaps.pop(HELD_OUT_SOUNDFONT))
    known = np.mean(list(gaps.values()))
    print(f"\nmean gap to the oracle (SDR): training soundfonts {known:.2f} dB, held-out {HELD_OUT_SOUNDFONT} "
          f"{held_out:.2f} dB: a new timbre costs {held_out - known:+.2f} dB")


if __name__ == "__main__":
    main()
