"""Quality and runtime of every stage on the shipped demo, against its ground truth.

    .venv/bin/python benchmarks/demo_quality.py [--weights PATH]

Prints, side by side in one run: separation SDR of the trained network and the HPSS baseline
vs the unprocessed mixture (the do-nothing baseline); alignment error at the 331 piano onsets
for each separated piano vs the full mix vs the clean piano stem (upper bound); where a skip
and a repeat cut into the pianist's recording are found, by DTW alone and re-aligned
(``sync.align(realign=)``); and the play-along's stage timings. ``--weights`` measures other
separation weights in every section but the play-along, which runs as a user would, with the shipped ones.
"""
import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from concerto_nb import data, evaluation, io, model, pipeline, separation, sync  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", help="separation weights to use instead of the shipped ones")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    net = model.load_model(args.weights)
    print(f"network: {args.weights or model.WEIGHTS}\n")
    sr = sync.SYNC_SR
    y = {n: io.load_audio(data.demo_path(n), sr=sr)[0] for n in ("concerto", "piano", "orchestra", "pianist")}
    print("== separation (SDR, dB; demo at 22.05 kHz mono)")
    print(f"{'':24s}{'piano':>8s}{'orchestra':>11s}")
    print(f"{'mixture (no separation)':24s}{evaluation.sdr(y['piano'], y['concerto']):8.2f}"
          f"{evaluation.sdr(y['orchestra'], y['concerto']):11.2f}")
    estimates = {}
    for method in ("hpss", "model"):
        t0 = time.perf_counter()
        estimates[method] = separation.separate(y["concerto"], sr, method=method, net=net)
        t_sep = time.perf_counter() - t0
        print(f"{method:24s}{evaluation.sdr(y['piano'], estimates[method][0]):8.2f}"
              f"{evaluation.sdr(y['orchestra'], estimates[method][1]):11.2f}   ({t_sep:.1f} s for 75 s)")

    print("\n== alignment against the pianist (error at piano onsets)")
    print(f"{'reference':24s}{'median ms':>10s}{'<=50ms %':>10s}{'<=100ms %':>11s}{'max ms':>8s}{'conf':>6s}"
          f"{'time s':>8s}")
    onsets = data.demo_onsets()
    refs = (("separated piano (model)", estimates["model"][0]), ("separated piano (HPSS)", estimates["hpss"][0]),
            ("full mix", y["concerto"]), ("clean piano stem", y["piano"]))
    for name, ref in refs:
        t0 = time.perf_counter()
        tm, det = sync.align(ref, y["pianist"], mixture=y["concerto"], return_details=True)
        s = evaluation.alignment_summary(evaluation.alignment_errors(tm, onsets))
        print(f"{name:24s}{s['median_ms']:10.1f}{s['within_50ms_pct']:10.1f}{s['within_100ms_pct']:11.1f}"
              f"{s['max_ms']:8.0f}{det['confidence']:6.2f}{time.perf_counter() - t0:8.1f}")

    print("\n== skips and repeats: the pianist leaves out 20-32 s, or plays 20-30 s twice")
    truth = data.demo_time_map()
    ref_of = lambda t: float(np.interp(t, truth[:, 1], truth[:, 0]))  # noqa: E731
    pianist, sr = y["pianist"], sync.SYNC_SR
    cases = {"skip": (np.concatenate([pianist[: 20 * sr], pianist[32 * sr:]]),
                      f"truth: {ref_of(20):.1f}-{ref_of(32):.1f} s of the concerto at 20.0 s"),
             "repeat": (np.concatenate([pianist[: 30 * sr], pianist[20 * sr:]]),
                        f"truth: 30.0-40.0 s of the recording at {ref_of(30):.1f} s of the concerto")}
    for kind, (performance, truth_text) in cases.items():
        print(f"  {kind} ({truth_text})")
        for name, ref in refs[:1] + refs[-1:]:
            for realign in (False, True):
                tm, det = sync.align(ref, performance, return_details=True, realign=realign)
                found = sync.skips_and_repeats(tm, played_s=det["played_s"])
                text = "; ".join(f"{f['kind']} {f['reference_s'][0]:.1f}-{f['reference_s'][1]:.1f} s of the concerto "
                                 f"at {f['performance_s'][0]:.1f}-{f['performance_s'][1]:.1f} s" for f in found)
                print(f"    {name:24s}{'realigned' if realign else 'DTW alone':11s}{text or 'nothing found'}")

    print("\n== play-along on the demo (44.1 kHz, 75 s, the shipped network)")
    with tempfile.TemporaryDirectory() as out:
        report = pipeline.playalong(data.demo_path("concerto"), data.demo_path("pianist"), out, progress=False)
    total = sum(report["timings_s"].values())
    print("stage timings (s):", report["timings_s"], f"total {total:.1f} s = {total / 75:.2f}x real time")
    print("alignment:", report["alignment"])
    print("levels:", report["levels"])


if __name__ == "__main__":
    main()
