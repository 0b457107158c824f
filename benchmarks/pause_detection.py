"""Pauses in a rubato take: named and waited for where the pianist stopped, or spread over the notes around them.

    .venv/bin/python benchmarks/pause_detection.py     (about 5 minutes; benchmarks/results/pause_detection.txt)

A rubato pianist (``performance.rubato_take``: 0.75x, phrase arcs, ritardandi, breaths, a fermata; MuseScore's piano
recorded at home) against 40 s of the excerpt in FluidR3 in the Jack Lyons Hall: Beethoven Op. 37 I (from 450 s, two
performances), Mozart KV488 I (from 250 s), Bach BWV 1055 I (from 180 s). Each take is cut between two notes at 35,
50 and 65 % of it and 3 s of the recording's own noise floor put in (``performance.edited_take(kind="pause")``: the
pianist stops to think, then goes on). ``sync.align`` should name the pause (``details["pauses"]``: stepped over by
DTW, or held through on the finished map), so the orchestra waits and the notes after it keep time.

Columns: whether a pause was named there (within 0.5 s of the cut), the worst error (ms) of the onsets in the 2 s
before the pause and in the 2 s after it, and the share of all onsets within 100 ms on ``sync.align``'s map; the
same take without the pause beside it (its onsets in the 2 s after the cut, all of them, and the pauses named in
it: breaths and fermatas the rubato model plays, where the orchestra waits too).
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
    print("| take | pause at | pause named | 2 s before: worst ms | first 2 s after: worst ms "
          "| all onsets <= 100 ms % | no pause: first 2 s worst ms | no pause: all <= 100 ms % "
          "| no pause: pauses named |")
    print("|---|---|---|---|---|---|---|---|---|")
    found, worst, worst_before = 0, [], []
    for label, midi, start, seed in TAKES:
        reference, pianist, onsets, _ = performance.rubato_take(midi, start, LENGTH_S, seed=seed, room=HALL, sr=SR)
        clean_map, clean_details = sync.align(reference, pianist, return_details=True)
        clean = evaluation.alignment_errors(clean_map, onsets)
        clean_pauses = ", ".join(f"{start:.1f} s ({end - start:.1f} s)" for _, start, end in clean_details["pauses"])
        for at in AT:
            audio, events, cut = performance.edited_take(pianist, onsets, "pause", PAUSE_S, at=at, sr=SR)
            time_map, details = sync.align(reference, audio, return_details=True)
            errors = evaluation.alignment_errors(time_map, events)
            named = any(abs(p[1] - cut) < 0.5 for p in details["pauses"])
            before = (events[:, 1] >= cut - 2.0) & (events[:, 1] < cut)
            first = (events[:, 1] >= cut + PAUSE_S) & (events[:, 1] < cut + PAUSE_S + 2.0)
            same = (onsets[:, 1] >= cut) & (onsets[:, 1] < cut + 2.0)
            found += named
            worst.append(errors[first].max() if first.any() else 0.0)
            worst_before.append(errors[before].max() if before.any() else 0.0)
            print(f"| {label} | {cut:.1f} s | {'yes' if named else 'no'} | {1000 * worst_before[-1]:.0f} | "
                  f"{1000 * worst[-1]:.0f} | {100 * np.mean(errors <= 0.1):.1f} | "
                  f"{1000 * clean[same].max() if same.any() else 0:.0f} | {100 * np.mean(clean <= 0.1):.1f} | "
                  f"{clean_pauses or 'none'} |",
                  flush=True)
    print(f"\npauses named: {found} of {len(worst)}; within 300 ms at worst, the 2 s before a pause: "
          f"{sum(w <= 0.3 for w in worst_before)} of {len(worst)}, the 2 s after it: "
          f"{sum(w <= 0.3 for w in worst)} of {len(worst)}")


if __name__ == "__main__":
    main()
