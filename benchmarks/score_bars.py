"""Bar lines on a concerto recording: from the score aligned with it, or counted from a beat tracker's beats.

    .venv/bin/python benchmarks/score_bars.py     (about 8 minutes; benchmarks/results/score_bars.txt)

``concerto-nb practice --score FILE.mid --bars A-B`` finds bar A's start and bar B's end on the recording with
``practice.score_grid``: the MIDI file rendered (FluidR3, dry) and aligned with the recording (``sync.align``), its
downbeats carried through the map. The recording here: a whole first movement (Mozart KV488 I, Beethoven Op. 37 I,
Bach BWV 1055 I) played by an expressive ensemble (``performance.expressive_time_map``, style ``rubato``: 0.75x,
phrase arcs, ritardandi, breaths, a fermata) in MuseScore's General soundfont, in the Jack Lyons Hall; the truth is
the score's downbeats through that map. Beside it, in the same run, what a beat tracker gives
(``practice.beat_grid``: librosa's ``beat_track`` on the whole recording): a bar line every so many beats, counted
from the beat nearest the true first bar line, so many = the true median bar length over the tracker's median beat
period, rounded (help the tracker would not have by itself: the first bar line, and its tempo octave).

Columns: error of every bar line (ms): median, share within 100 and 300 ms, worst; the share of bar lines a beat
or more off (a quarter of a bar at the passage's tempo: the count-in would start on the wrong beat).
"""
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import performance, practice, render, sync  # noqa: E402
from concerto_nb.data import SOURCES_DIR  # noqa: E402

SR = sync.SYNC_SR
HALL = "Jack Lyons Hall, University of York.wav"
PIECES = [("Mozart KV488 I", "Mozart_KV488_mvt1_Allegro.mid"),
          ("Beethoven Op.37 I", "Beethoven_Op37_mvt1_Allegro_con_brio.mid"),
          ("Bach BWV1055 I", "Bach_BWV1055_mov1-allegro.mid")]
BEATS_PER_BAR = 4  # the three movements are in 4/4 (their files' time signatures)


def expressive_recording(midi: str, seed: int = 1):
    """The whole movement played with rubato, in a soundfont and a hall the score's rendering does not use.
    Returns the audio at :data:`SR`, the score, and the true map ``[score s, recording s]``."""
    pm = render.load_midi(SOURCES_DIR / "mutopia_concertos_midi" / midi)
    end = pm.get_end_time()
    bar_s = float(np.median(np.diff(pm.get_downbeats())))
    true_map = performance.expressive_time_map(end + 1.0, bar_s, style="rubato", seed=seed)
    y = render.render_midi(render.warp_midi(pm, true_map), SR, "musescore", true_map[-1, 1] + 1.0)
    hall = render.load_impulse_response(SOURCES_DIR / "openair_irs" / HALL, SR)
    return render.apply_room(y, hall, 0.4), pm, true_map


def counted_bars(beats: np.ndarray, first_bar_s: float, n_bars: int, bar_s: float) -> np.ndarray:
    """A bar line every ``bar_s`` worth of beats (at their median period) from the beat nearest ``first_bar_s``,
    ``n_bars`` of them (NaN where the beats run out)."""
    k0 = int(np.argmin(np.abs(beats - first_bar_s)))
    per_bar = max(1, int(round(bar_s / float(np.median(np.diff(beats))))))
    lines = beats[k0::per_bar][:n_bars]
    return np.concatenate([lines, np.full(n_bars - len(lines), np.nan)])


def row(label: str, method: str, estimated: np.ndarray, truth: np.ndarray, beat_s: np.ndarray, seconds: float):
    errors = np.abs(estimated - truth)
    found = ~np.isnan(errors)  # bar lines past the last tracked beat count as off, and are named
    errors = np.where(found, errors, np.inf)
    missing = f" ({np.sum(~found)} past the last beat)" if not found.all() else ""
    return (f"| {label} | {method} | {len(truth)} | {1000 * np.median(errors):.0f} | "
            f"{100 * np.mean(errors <= 0.1):.1f} | {100 * np.mean(errors <= 0.3):.1f} | "
            f"{1000 * errors[found].max():.0f}{missing} | {100 * np.mean(errors >= 0.9 * beat_s):.1f} | "
            f"{seconds:.0f} |")


def main():
    warnings.simplefilter("ignore")
    print("| movement | method | bar lines | median ms | <= 100 ms % | <= 300 ms % | worst ms "
          "| a beat or more off % | time s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, midi in PIECES:
        y, pm, true_map = expressive_recording(midi)
        downbeats = pm.get_downbeats()
        downbeats = downbeats[downbeats < pm.get_end_time()]
        truth = np.interp(downbeats, *true_map.T)
        # a beat at the recording's tempo there: a quarter of the bar's true length
        beat_s = np.diff(np.interp(np.append(downbeats, pm.get_end_time()), *true_map.T)) / BEATS_PER_BAR
        t0 = time.perf_counter()
        grid = practice.score_grid(y, SR, pm)
        score_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        tracked = counted_bars(practice.beat_grid(y, SR), truth[0], len(truth), float(np.median(np.diff(truth))))
        tracker_s = time.perf_counter() - t0
        print(row(label, "score aligned (practice.score_grid)", grid["bars_s"][:-1], truth, beat_s, score_s))
        print(row(label, "beat tracker, bars counted", tracked, truth, beat_s, tracker_s), flush=True)


if __name__ == "__main__":
    main()
