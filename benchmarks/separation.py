"""Separation quality on held-out multitrack excerpts, all methods side by side in one run.

    .venv/bin/python benchmarks/separation.py

Held out from training: the piece (Mozart KV488 I) everywhere, the hall's impulse response
everywhere, and the soundfont (MuseScore General) in the "(MuseScore)" rows. Rows: the demo
(FluidR3) and two 75 s KV488 excerpts rendered with MuseScore General in the same hall. Columns:
SDR and SI-SDR (dB) of piano and orchestra at 22.05 kHz mono, for the unprocessed mixture, the
ideal ratio mask (oracle upper bound), the HPSS baseline, the trained network (soft mask /
Wiener) and the network after test-time adaptation on the excerpt's own solo passages.
Also the real-time factor of `separate` on 10 minutes of 22.05 kHz mono audio.
"""
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import data, evaluation, io, render, separation  # noqa: E402

SR = 22050
SHARED = ROOT.parent / "shared" / "data"


def heldout_excerpts():
    yield "demo (FluidR3, hall)", io.load_audio(data.demo_path("piano"), sr=SR)[0], \
        io.load_audio(data.demo_path("orchestra"), sr=SR)[0]
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = pretty_midi.PrettyMIDI(str(SHARED / render.DEMO["midi"]))
    hall = render.load_impulse_response(SHARED / render.DEMO["concerto_room"], SR)
    for start in (120.0, 400.0):
        piano_pm, orch_pm = render.split_stems(render.crop_midi(score, start, start + 75.0))
        piano = render.apply_room(render.render_midi(piano_pm, SR, "musescore", 75.0), hall)
        orch = render.apply_room(render.render_midi(orch_pm, SR, "musescore", 75.0), hall)
        g = 0.9 / np.max(np.abs(piano + orch))
        yield f"KV488 {start:.0f}s (MuseScore)", (piano * g).astype(np.float32), (orch * g).astype(np.float32)


def main():
    warnings.simplefilter("ignore")
    methods = {
        "mixture": lambda mix, p, o: (mix, mix),
        "oracle IRM": lambda mix, p, o: evaluation.oracle_irm(p, o),
        "HPSS": lambda mix, p, o: separation.separate(mix, SR, method="hpss"),
        "model (mask)": lambda mix, p, o: separation.separate(mix, SR, method="model"),
        "model (Wiener)": lambda mix, p, o: separation.separate(mix, SR, method="model", reconstruction="wiener"),
        "model + TTA": lambda mix, p, o: separation.separate(mix, SR, method="model", adapt=True),
    }
    print(f"{'excerpt':26s}{'method':16s}{'piano SDR':>10s}{'SI-SDR':>8s}{'orch SDR':>10s}{'SI-SDR':>8s}")
    totals = {m: [] for m in methods}
    for name, piano, orch in heldout_excerpts():
        mix = piano + orch
        for m, fn in methods.items():
            p_est, o_est = fn(mix, piano, orch)
            row = [evaluation.sdr(piano, p_est), evaluation.si_sdr(piano, p_est),
                   evaluation.sdr(orch, o_est), evaluation.si_sdr(orch, o_est)]
            totals[m].append(row)
            print(f"{name:26s}{m:16s}{row[0]:10.2f}{row[1]:8.2f}{row[2]:10.2f}{row[3]:8.2f}")
    print("\nmean over the excerpts")
    for m, rows in totals.items():
        r = np.mean(rows, axis=0)
        print(f"{'':26s}{m:16s}{r[0]:10.2f}{r[1]:8.2f}{r[2]:10.2f}{r[3]:8.2f}")

    mix = io.load_audio(data.demo_path("concerto"), sr=SR)[0]
    ten_min = np.tile(mix, int(np.ceil(600 * SR / len(mix))))[: 600 * SR]
    for m in ("hpss", "model"):
        t0 = time.perf_counter()
        separation.separate(ten_min, SR, method=m)
        t = time.perf_counter() - t0
        print(f"10 min mono 22.05 kHz, {m:6s}: {t:6.1f} s = {t / 600:.3f}x real time")


if __name__ == "__main__":
    main()
