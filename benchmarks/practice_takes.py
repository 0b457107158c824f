"""Practice takes: a pause, a restart and a skip in an expressive pianist's recording, followed or not.

    .venv/bin/python benchmarks/practice_takes.py [--pieces N] [--style rubato]     # about 2 minutes

The cases of ``benchmarks/expressive.py`` (rendered there on first use, same cache): a concerto excerpt the
network never trained on, its pianist recorded at home. Each pianist recording is cut at a point between two
notes near the middle of a passage the piano plays, and made into:

- ``pause``: 3 s of the recording's own noise floor inserted there (the pianist stops to think);
- ``restart``: the 8 s before the cut played again (the recording goes on from 8 s earlier, as after a slip);
- ``skip``: 8 s of the recording left out.

The ground truth follows the cut (a restart's onsets count on both takes). A second table: the same pianist with
``WRONG_NOTES`` of the notes played on a neighbouring key (``performance.wrong_notes``, rendered anew; the timing is
the clean take's): the error at every onset, beside the clean take's. Methods, on the same audio:

- ``playalong``: the map ``concerto-nb playalong`` warps along (``sync.align`` on the separated piano, then
  ``sync.time_map_with_jumps``: the orchestra goes back or ahead with the pianist);
- ``align, no jumps``: ``sync.align``'s own map, which only moves forward (the orchestra held through a restart,
  squeezed through a skip);
- ``plain synctoolbox``: synctoolbox's demo pipeline on the same separated piano.

Columns: error at the piano onsets in the 2 s before the event (the end of a restart's first take), in the 2 s
after it, then from 2 s after it to the end, against the same onsets in the unedited take (``clean``).
Results: ``benchmarks/results/practice_takes.txt``.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from concerto_nb import evaluation, performance, sync  # noqa: E402
from expressive import PIECES, SR, separated_cases  # noqa: E402
from full_movements import plain_synctoolbox  # noqa: E402

EVENT_S = 8.0  # how far a restart goes back, and a skip ahead
PAUSE_S = 3.0
WRONG_NOTES = 0.1  # one note in ten a slip: a first reading, not a performance


def cut_point(truth, near_s):
    """A performance time between two onsets (their midpoint), near ``near_s``, in playing that goes on for
    ``EVENT_S`` before and after it: an onset in every second of it (no rest of the piano, no fermata)."""
    onsets = truth[:, 1]
    gaps = (onsets[:-1] + onsets[1:]) / 2

    def busy(g):
        seconds = np.arange(g - EVENT_S, g + EVENT_S, 1.0)
        return all(np.any((onsets >= s) & (onsets < s + 1.0)) for s in seconds)

    return float(min([g for g in gaps if busy(g)], key=lambda g: abs(g - near_s)))


def variant(kind, pianist, truth, at):
    """The edited recording, its ground truth (reference_s, performance_s) and where the music goes on."""
    edited, events, _ = performance.edited_take(pianist, truth, kind, PAUSE_S if kind == "pause" else EVENT_S,
                                                cut_s=at, sr=SR)
    return edited, events, at + PAUSE_S if kind == "pause" else at


def summary(errors):
    if len(errors) == 0:
        return "| | | "
    return (f"| {1000 * np.median(errors):.0f} | {100 * np.mean(errors <= 0.05):.0f} / "
            f"{100 * np.mean(errors <= 0.1):.0f} | {1000 * errors.max():.0f} ")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pieces", type=int, default=len(PIECES), help="the first N excerpts (default all)")
    p.add_argument("--style", default="rubato", help="pianist model (default rubato)")
    args = p.parse_args()
    print("| case | event | method | 2 s before: median ms | <= 50 / 100 ms % | worst ms "
          "| first 2 s: median ms | <= 50 / 100 ms % | worst ms "
          "| after: median ms | <= 50 / 100 ms % | worst ms | time s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, _, audio, truth, _, _, separated, _ in separated_cases(args.pieces, [args.style]):
        at = cut_point(truth, 0.5 * truth[-1, 1])
        clean = evaluation.alignment_errors(sync.align(separated, audio["pianist"], mixture=audio["concerto"]), truth)
        for kind in ("pause", "restart", "skip"):
            edited, events, event_s = variant(kind, audio["pianist"], truth, at)
            before = (events[:, 1] >= at - 2.0) & (events[:, 1] < at)
            first = (events[:, 1] >= event_s) & (events[:, 1] < event_s + 2.0)
            after = events[:, 1] >= event_s + 2.0
            # the same onsets in the unedited take (a restart's second take: the onsets of the first)
            same = np.isin(truth[:, 0], events[first | after, 0])
            print(f"| {label}, {args.style} | {kind} at {at:.1f} s | clean take (same onsets) "
                  f"{summary(clean[(truth[:, 1] >= at - 2.0) & (truth[:, 1] < at)])}| | | "
                  f"{summary(clean[same & (truth[:, 1] >= at)])}| |", flush=True)
            t0 = time.perf_counter()
            time_map, details = sync.align(separated, edited, mixture=audio["concerto"], return_details=True)
            seconds = time.perf_counter() - t0
            maps = {"playalong": sync.time_map_with_jumps(time_map, details["jumps"]), "align, no jumps": time_map}
            t0 = time.perf_counter()
            maps["plain synctoolbox"] = plain_synctoolbox(separated, edited)
            plain_seconds = time.perf_counter() - t0
            for method, m in maps.items():
                errors = evaluation.alignment_errors(m, events)
                took = plain_seconds if method == "plain synctoolbox" else seconds
                print(f"| {label}, {args.style} | {kind} at {at:.1f} s | {method} {summary(errors[before])}"
                      f"{summary(errors[first])}"
                      f"{summary(errors[after])}| {took:.1f} |", flush=True)
    wrong_notes_table(args)


def wrong_notes_table(args):
    """Every onset of a take with slips, against the clean take, per method."""
    print("\n| case | take | method | median ms | <= 50 / 100 ms % | worst ms |")
    print("|---|---|---|---|---|---|")
    clean_cases = separated_cases(args.pieces, [args.style])
    for clean, slipped in zip(clean_cases, separated_cases(args.pieces, [args.style], wrong_notes=WRONG_NOTES)):
        label, _, _, truth, *_ = clean
        for take, (_, _, audio, _, _, _, separated, _) in (("clean", clean),
                                                           (f"{WRONG_NOTES:.0%} wrong notes", slipped)):
            maps = {"sync.align": sync.align(separated, audio["pianist"], mixture=audio["concerto"]),
                    "plain synctoolbox": plain_synctoolbox(separated, audio["pianist"])}
            for method, m in maps.items():
                print(f"| {label}, {args.style} | {take} | {method} {summary(evaluation.alignment_errors(m, truth))}|",
                      flush=True)

if __name__ == "__main__":
    main()
