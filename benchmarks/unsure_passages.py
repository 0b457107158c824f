"""Unsure passages on takes their thresholds were not chosen on: do they hold the notes the map puts far off?

    .venv/bin/python benchmarks/unsure_passages.py     (about 7 minutes; benchmarks/results/unsure_passages.txt)

``sync.align`` names as unsure (``details["unsure_passages"]``, ``report.json``'s ``alignment.unsure_passages``)
the passages where its note pairing could place a note elsewhere at little cost, or spread a breath over notes it
left unpaired (``sync.unsure_passages``). Its two thresholds were chosen on the six cases of
``benchmarks/expressive.py``; these are other takes: rubato pianists (``performance.rubato_take``: 0.75x, phrase
arcs, ritardandi, breaths, a fermata; MuseScore's piano recorded at home, 20 cents sharp) against 30 s of the
excerpt in FluidR3 in the Jack Lyons Hall (the exact piano stem, not a separated one), two windows each of
Beethoven Op. 37 I, Mozart KV488 I and Bach BWV 1055 I, three performances each.

Columns: the passages named, the share of the onsets inside them, the onsets the map puts beyond 300 ms and beyond
100 ms off, and how many of those lie outside every named passage.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import evaluation, performance, sync  # noqa: E402

HALL = "Jack Lyons Hall, University of York.wav"
WINDOWS = [  # (label, MIDI, start s)
    ("Op. 37 I", "Beethoven_Op37_mvt1_Allegro_con_brio.mid", 450.0),
    ("Op. 37 I", "Beethoven_Op37_mvt1_Allegro_con_brio.mid", 480.0),
    ("KV488 I", "Mozart_KV488_mvt1_Allegro.mid", 250.0),
    ("KV488 I", "Mozart_KV488_mvt1_Allegro.mid", 280.0),
    ("BWV 1055 I", "Bach_BWV1055_mov1-allegro.mid", 160.0),
    ("BWV 1055 I", "Bach_BWV1055_mov1-allegro.mid", 190.0),
]
LENGTH_S, SEEDS = 30.0, (0, 1, 2)


def inside(passages: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Whether each reference time lies in one of ``passages`` (``[start, end, ...]`` rows, reference s)."""
    return np.array([np.any((passages[:, 0] <= t) & (t <= passages[:, 1])) for t in times], dtype=bool)


def main():
    warnings.simplefilter("ignore")
    print("| take | unsure passages | onsets inside % | beyond 300 ms | of them outside | beyond 100 ms "
          "| of them outside |")
    print("|---|---|---|---|---|---|---|")
    named_all, errors_all = [], []
    for label, midi, start in WINDOWS:
        for seed in SEEDS:
            reference, pianist, truth, _ = performance.rubato_take(midi, start, LENGTH_S, seed=seed, room=HALL,
                                                                   sr=sync.SYNC_SR)
            time_map, details = sync.align(reference, pianist, return_details=True)
            errors = evaluation.alignment_errors(time_map, truth)
            named = inside(details["unsure_passages"], truth[:, 0])
            named_all.append(named)
            errors_all.append(errors)
            print(f"| {label} from {start:.0f} s, performance {seed} | {len(details['unsure_passages'])} | "
                  f"{100 * named.mean():.1f} | {int(np.sum(errors > 0.3))} | {int(np.sum((errors > 0.3) & ~named))} | "
                  f"{int(np.sum(errors > 0.1))} | {int(np.sum((errors > 0.1) & ~named))} |", flush=True)
    named, errors = np.concatenate(named_all), np.concatenate(errors_all)
    print(f"| all {len(errors_all)} takes ({len(errors)} onsets) | | {100 * named.mean():.1f} | "
          f"{int(np.sum(errors > 0.3))} | {int(np.sum((errors > 0.3) & ~named))} | {int(np.sum(errors > 0.1))} | "
          f"{int(np.sum((errors > 0.1) & ~named))} |")


if __name__ == "__main__":
    main()
