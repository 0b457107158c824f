"""A pianist who records one passage of the concerto, not the whole movement: is it followed?

    .venv/bin/python benchmarks/passage_takes.py     (about 8 minutes; benchmarks/results/passage_takes.txt)

A pianist practising a passage records it alone: a second of silence, the passage, a second of silence
(``performance.passage_take``). ``sync.align`` looks for the stretch of the concerto the recording covers
(``sync.alignment._played_passage``: subsequence DTW on 1 s CENS, its ends placed again on 10 Hz CENS) and, where
the concerto's music outside it would take ``MIN_UNPLAYED_S`` more than the recording's silence there, aligns with
that stretch only; the play-along's map (``sync.time_map_with_jumps``) then starts and ends with the passage. Side
by side in one run:

- ``playalong``: the map the play-along warps along;
- ``without the passage search``: the same code with ``_played_passage`` returning None (what 0.18.0 did: the map
  runs from (0, 0) to both ends, and the concerto before and after the passage is squeezed into the recording's
  first and last second, or read as a skip);
- ``plain synctoolbox``: synctoolbox's pipeline (its features, MrMsDTW, the raw path).

Material:
- the rendered demo (a smooth tempo curve), its network-separated piano as the reference, the demo pianist's
  passages; and the whole take, and the take from 0.5 s before its first note (the introduction's silence cut),
  where the pianist plays to the end;
- rubato pianists (``performance.rubato_take``: 0.75x, phrase arcs, ritardandi, breaths, a fermata; MuseScore's
  piano recorded at home) against 60 s of Beethoven Op. 37 I, Mozart KV488 I and Bach BWV 1055 I in FluidR3 in the
  Jack Lyons Hall (the exact piano stem), two performances each: the passages from 15 to 40 s and from 30 to 55 s,
  and the whole take (the search must not fire).

Columns: piano onsets within 50 / 100 ms and the worst, on the map the play-along warps along; for ``playalong`` also
where its map starts and ends in the concerto (the passage's first and last note in brackets).
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from concerto_nb import data, evaluation, io, performance, separation, sync  # noqa: E402
from concerto_nb.sync import alignment  # noqa: E402
from full_movements import plain_synctoolbox  # noqa: E402

HALL = "Jack Lyons Hall, University of York.wav"
PIECES = [("Op. 37 I from 450 s", "Beethoven_Op37_mvt1_Allegro_con_brio.mid", 450.0),
          ("KV488 I from 250 s", "Mozart_KV488_mvt1_Allegro.mid", 250.0),
          ("BWV 1055 I from 160 s", "Bach_BWV1055_mov1-allegro.mid", 160.0)]
LENGTH_S, SEEDS, PASSAGES = 60.0, (0, 1), [(15.0, 40.0), (30.0, 55.0)]
DEMO_PASSAGES = [(20.0, 50.0), (12.0, 40.0), (30.0, 75.0), (0.0, 35.0)]


def playalong_map(reference, pianist, search=True):
    """``sync.align``'s map as the play-along warps along it, with or without the passage search."""
    found = alignment._played_passage
    if not search:
        alignment._played_passage = lambda *args, **kwargs: None
    try:
        time_map, details = sync.align(reference, pianist, return_details=True)
    finally:
        alignment._played_passage = found
    return sync.time_map_with_jumps(time_map, details["jumps"]) if details["jumps"] else time_map


def cells(errors):
    return f"{100 * np.mean(errors <= 0.05):.0f} / {100 * np.mean(errors <= 0.1):.0f} / {1000 * errors.max():.0f}"


def row(label, reference, pianist, events, pooled):
    """One take's row; its errors on each map joined to ``pooled`` (a list per column)."""
    ours = playalong_map(reference, pianist)
    maps = [ours, playalong_map(reference, pianist, False), plain_synctoolbox(reference, pianist)]
    errors = [evaluation.alignment_errors(time_map, events) for time_map in maps]
    for column, e in zip(pooled, errors):
        column.append(e)
    ends = f"{ours[0, 0]:.1f}-{ours[-1, 0]:.1f} ({events[0, 0]:.1f}-{events[-1, 0]:.1f})"
    print(f"| {label} | {cells(errors[0])} | {ends} | {cells(errors[1])} | {cells(errors[2])} |", flush=True)


def total(label, pooled):
    errors = [np.concatenate(column) for column in pooled]
    print(f"| {label} ({len(pooled[0])} takes, {len(errors[0])} onsets) | {cells(errors[0])} | | "
          f"{cells(errors[1])} | {cells(errors[2])} |")


def main():
    warnings.simplefilter("ignore")
    print("| take | playalong: <= 50 / <= 100 ms % / worst ms | its map, concerto s (notes) | without the passage "
          "search | plain synctoolbox |")
    print("|---|---|---|---|---|")
    sr = sync.SYNC_SR
    concerto, concerto_sr = io.load_audio(data.demo_path("concerto"))
    piano, _ = separation.separate(concerto, concerto_sr)
    reference = io.resample(io.to_mono(piano), concerto_sr, sr)
    pianist = io.load_audio(data.demo_path("pianist"), sr=sr)[0]
    onsets = data.demo_onsets()
    whole, passages = [[], [], []], [[], [], []]
    row("demo, whole take", reference, pianist, onsets, whole)
    first = onsets[0, 1] - 0.5
    row("demo, from 0.5 s before the first note", reference, pianist[int(first * sr):], onsets - [0.0, first],
        passages)
    for start, end in DEMO_PASSAGES:
        take, events = performance.passage_take(pianist, onsets, start, end, sr=sr)
        row(f"demo, {start:.0f}-{end:.0f} s", reference, take, events, passages)
    for label, midi, start_s in PIECES:
        for seed in SEEDS:
            reference, pianist, truth, _ = performance.rubato_take(midi, start_s, LENGTH_S, seed=seed, room=HALL,
                                                                   sr=sr)
            row(f"{label}, performance {seed}, whole take", reference, pianist, truth, whole)
            for start, end in PASSAGES:
                take, events = performance.passage_take(pianist, truth, start, end, sr=sr)
                row(f"{label}, performance {seed}, {start:.0f}-{end:.0f} s", reference, take, events, passages)
    total("all passage takes", passages)
    total("all whole takes", whole)


if __name__ == "__main__":
    main()
