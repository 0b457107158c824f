"""Alignment of the real recording pairs in data/sources against their annotations (issue 4).

    .venv/bin/python benchmarks/real_pairs.py

- Beethoven, Symphony No. 5 opening (libtsm's example data): an orchestra recording and a piano
  transcription of the same bars, 26 hand-set anchor pairs (1-based samples);
- Schubert D911-03 (Sync Toolbox's example data): two performances a semitone apart, measure
  positions annotated in both.

Side by side in one run: ``sync.align`` and the plain synctoolbox demo pipeline (same features,
MrMsDTW, the raw path as the map, no chroma shift search, no rest handling, no onset refinement);
error of each map at the annotated pairs (median, mean, max, % within 50 / 100 ms) and runtime.
"""
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from concerto_nb import data, evaluation, sync  # noqa: E402
from full_movements import plain_synctoolbox  # noqa: E402

SR = sync.SYNC_SR


def beethoven():
    return data.real_pair("beethoven5", sr=SR)


def schubert():
    return data.real_pair("schubert_d911", sr=SR)


def main():
    warnings.simplefilter("ignore")
    print(f"{'pair':44s}{'pairs':>6s}{'median ms':>10s}{'mean ms':>9s}{'max ms':>8s}{'<=50ms':>8s}"
          f"{'<=100ms':>8s}{'time s':>8s}")
    for label, (ref, perf, truth) in (("Beethoven 5, orchestra -> piano", beethoven()),
                                      ("Schubert D911-03, HU33 -> SC06", schubert())):
        for method, run in (("plain synctoolbox", plain_synctoolbox), ("sync.align", sync.align)):
            t0 = time.perf_counter()
            time_map = run(ref, perf)
            seconds = time.perf_counter() - t0
            err = evaluation.alignment_errors(time_map, truth)
            s = evaluation.alignment_summary(err)
            print(f"{label + ': ' + method:44s}{len(truth):6d}{s['median_ms']:10.1f}{1000 * err.mean():9.1f}"
                  f"{1000 * err.max():8.0f}{s['within_50ms_pct']:8.1f}{s['within_100ms_pct']:8.1f}{seconds:8.1f}")


if __name__ == "__main__":
    main()
