"""Pauses in a rubato take: stepped over where the pianist stopped, or spread over the notes around them.

    .venv/bin/python benchmarks/pause_detection.py     (about 5 minutes; benchmarks/results/pause_detection.txt)

A rubato pianist (``performance.rubato_take``: 0.75x, phrase arcs, ritardandi, breaths, a fermata; MuseScore's piano
recorded at home) against 40 s of the excerpt in FluidR3 in the Jack Lyons Hall: Beethoven Op. 37 I (from 450 s, two
performances), Mozart KV488 I (from 250 s), Bach BWV 1055 I (from 180 s). Each take is cut between two notes at 35,
50 and 65 % of it and 3 s of the recording's own noise floor put in (``performance.edited_take(kind="pause")``: the
pianist stops to think, then goes on). ``sync.align`` should step over the silence (``details["pauses"]``), so the
orchestra waits and the notes after it keep time.

Columns: whether a pause was stepped over there (within 0.5 s of the cut), the worst error (ms) of the onsets in
the 2 s after the pause, and the share of all onsets within 100 ms on ``sync.align``'s map; the same take without
the pause beside it (its onsets in those 2 s, and all of them).
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import evaluation, performance, sync  # noqa: E402

SR = sync.SYNC_SR
HALL = "Jack Lyons Hall, University of York.wav"
TAKES = [  # (label, MIDI, start s, seed)
    ("Op. 37 I, performance 3", "Beethoven_Op37_mvt1_Allegro_con_brio.mid", 450.0, 3),
    ("Op. 37 I, performance 1", "Beethoven_Op37_mvt1_Allegro_con_brio.mid", 450.0, 1),
    ("KV488 I, performance 3", "Mozart_KV488_mvt1_Allegro.mid", 250.0, 3),
    ("BWV 1055 I, performance 3", "Bach_BWV1055_mov1-allegro.mid", 180.0, 3),
]
LENGTH_S, PAUSE_S, AT = 40.0, 3.0, (0.35, 0.5, 0.65)


def main():
    warnings.simplefilter("ignore")
    print("| take | pause at | stepped over | first 2 s after: worst ms | all onsets <= 100 ms % "
          "| no pause: first 2 s worst ms | no pause: all <= 100 ms % |")
    print("|---|---|---|---|---|---|---|")
    found, worst = 0, []
    for label, midi, start, seed in TAKES:
        reference, pianist, onsets, _ = performance.rubato_take(midi, start, LENGTH_S, seed=seed, room=HALL, sr=SR)
        clean = evaluation.alignment_errors(sync.align(reference, pianist), onsets)
        for at in AT:
            audio, events, cut = performance.edited_take(pianist, onsets, "pause", PAUSE_S, at=at, sr=SR)
            time_map, details = sync.align(reference, audio, return_details=True)
            errors = evaluation.alignment_errors(time_map, events)
            stepped = any(abs(p[1] - cut) < 0.5 for p in details["pauses"])
            first = (events[:, 1] >= cut + PAUSE_S) & (events[:, 1] < cut + PAUSE_S + 2.0)
            same = (onsets[:, 1] >= cut) & (onsets[:, 1] < cut + 2.0)
            found += stepped
            worst.append(errors[first].max() if first.any() else 0.0)
            print(f"| {label} | {cut:.1f} s | {'yes' if stepped else 'no'} | "
                  f"{1000 * worst[-1]:.0f} | {100 * np.mean(errors <= 0.1):.1f} | "
                  f"{1000 * clean[same].max() if same.any() else 0:.0f} | {100 * np.mean(clean <= 0.1):.1f} |",
                  flush=True)
    print(f"\npauses stepped over: {found} of {len(worst)}; the 2 s after a pause within 300 ms at worst: "
          f"{sum(w <= 0.3 for w in worst)} of {len(worst)}")


if __name__ == "__main__":
    main()
