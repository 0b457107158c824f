"""Restarts and skips found where the pianist made them, and nowhere else: clean takes and edited ones.

    .venv/bin/python benchmarks/jump_detection.py     (about 7 minutes; benchmarks/results/jump_detection.txt)

A rubato pianist (``performance.rubato_take``: phrase arcs, ritardandi, breaths, a fermata held 1.5-2.5 s; MuseScore's
piano recorded at home) against the excerpt in FluidR3 in a concert hall:

- **clean takes**: three excerpts (Mozart KV488 I, Beethoven Op. 37 I, Bach BWV 1055 I) x five performances,
  played straight through: any jump ``sync.align`` reports is a false alarm, and the play-along would play an
  orchestra passage twice or leave one out;
- **edited takes**: one performance of each excerpt cut between two notes at 35 % and 65 % of it, the 3 or 6 s
  before the cut played again (restart) or 6 or 12 s left out (skip).

For each take: the jumps found (kind, where, and the ``gain`` of the one-jump re-alignment: what the jump saves over
the best path without one, in mean frame costs; ``sync.jumps.MIN_JUMP_GAIN`` is the least it must save), and the
share of piano onsets within 100 ms on the map the play-along warps along (``sync.time_map_with_jumps``); the same
with the rule off (``MIN_JUMP_GAIN = 0``: every candidate's jump kept, as before 0.13.0), which shows each
candidate's gain.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import evaluation, performance, sync  # noqa: E402
from concerto_nb.sync import jumps as jump_module  # noqa: E402

SR = sync.SYNC_SR
HALL = "Jack Lyons Hall, University of York.wav"
EXCERPTS = [  # (label, MIDI, start s, length s)
    ("KV488 I", "Mozart_KV488_mvt1_Allegro.mid", 250.0, 24.0),
    ("Op. 37 I", "Beethoven_Op37_mvt1_Allegro_con_brio.mid", 450.0, 40.0),
    ("BWV 1055 I", "Bach_BWV1055_mov1-allegro.mid", 180.0, 20.0),
]
CLEAN_SEEDS = (1, 2, 6, 7, 8)
EDIT_SEED = 3
EDITS = [("restart", 3.0), ("restart", 6.0), ("skip", 6.0), ("skip", 12.0)]
EDIT_AT = (0.35, 0.65)
EDIT_LENGTH_S = 40.0  # edited takes are cut from a longer excerpt: a 12 s skip leaves enough around it


def measured(reference, pianist, events, min_gain: float):
    """The jumps ``sync.align`` finds with ``MIN_JUMP_GAIN = min_gain``, and the share of onsets within 100 ms on
    the play-along's map."""
    shipped = jump_module.MIN_JUMP_GAIN
    jump_module.MIN_JUMP_GAIN = min_gain
    try:
        time_map, details = sync.align(reference, pianist, return_details=True)
    finally:
        jump_module.MIN_JUMP_GAIN = shipped
    errors = evaluation.alignment_errors(sync.time_map_with_jumps(time_map, details["jumps"]), events)
    return details["jumps"], 100 * np.mean(errors <= 0.1)


def both_rules(reference, pianist, events):
    """(jumps, within 100 ms %) with the shipped rule, then with the rule off (every candidate's jump kept)."""
    return (measured(reference, pianist, events, jump_module.MIN_JUMP_GAIN),
            measured(reference, pianist, events, 0.0))


def described(jumps) -> str:
    return ", ".join(f"{j['kind']} at {j['performance_s']:.1f} s (gain {j['gain']:.0f})" for j in jumps) or "none"


def main():
    warnings.simplefilter("ignore")
    print(f"MIN_JUMP_GAIN = {jump_module.MIN_JUMP_GAIN}\n")
    print("| take | event | jumps found | <= 100 ms % | rule off: jumps (gain) | rule off: <= 100 ms % |")
    print("|---|---|---|---|---|---|")
    false_alarms, clean_takes, found, edits, gains_clean, gains_true = [0, 0], 0, [0, 0], 0, [], []
    within_clean, within_edits = [], []  # (shipped rule, rule off) per take
    for label, midi, start, length in EXCERPTS:
        for seed in CLEAN_SEEDS:
            reference, pianist, onsets, _ = performance.rubato_take(midi, start, length, seed=seed, room=HALL, sr=SR)
            (jumps, within), (candidates, within_off) = both_rules(reference, pianist, onsets)
            clean_takes += 1
            false_alarms[0] += bool(jumps)
            false_alarms[1] += bool(candidates)
            gains_clean += [j["gain"] for j in candidates]
            within_clean.append((within, within_off))
            print(f"| {label}, performance {seed} | none (clean) | {described(jumps)} | {within:.1f} | "
                  f"{described(candidates)} | {within_off:.1f} |", flush=True)
        take = performance.rubato_take(midi, start, EDIT_LENGTH_S, seed=EDIT_SEED, room=HALL, sr=SR)
        for kind, seconds in EDITS:
            for at in EDIT_AT:
                audio, events, cut = performance.edited_take(take[1], take[2], kind, seconds, at=at, sr=SR)
                (jumps, within), (candidates, within_off) = both_rules(take[0], audio, events)
                edits += 1
                at_cut = [[j for j in found_here if j["kind"] == kind and abs(j["performance_s"] - cut) < 1.5]
                          for found_here in (jumps, candidates)]
                found[0], found[1] = found[0] + bool(at_cut[0]), found[1] + bool(at_cut[1])
                gains_true += [j["gain"] for j in at_cut[1]]
                within_edits.append((within, within_off))
                print(f"| {label}, performance {EDIT_SEED} | {kind} of {seconds:.0f} s at {cut:.1f} s | "
                      f"{described(jumps)} | {within:.1f} | {described(candidates)} | {within_off:.1f} |", flush=True)
    print(f"\nclean takes with a jump reported: {false_alarms[0]} of {clean_takes} (rule off: {false_alarms[1]}); "
          f"edits found (kind, within 1.5 s of the cut): {found[0]} of {edits} (rule off: {found[1]})")
    (clean, clean_off), (edit, edit_off) = np.mean(within_clean, axis=0), np.mean(within_edits, axis=0)
    print(f"onsets within 100 ms on the play-along's map, mean over the takes: clean {clean:.1f} % (rule off "
          f"{clean_off:.1f} %), edited {edit:.1f} % (rule off {edit_off:.1f} %)")
    print(f"candidate gains on clean takes: {sorted(round(g) for g in gains_clean)}; on the edits, at the cut: "
          f"{sorted(round(g) for g in gains_true)}")


if __name__ == "__main__":
    main()
