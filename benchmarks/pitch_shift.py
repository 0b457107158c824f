"""Pitch shift folded into the warp: the artifacts it adds, against libtsm's and Rubber Band's own shifts.

    .venv/bin/python benchmarks/pitch_shift.py        # about 1 minute

Material (20 s each, mono, 22.05 kHz): the demo's orchestra stem (a FluidSynth render), and two real
recordings in ``data/sources``: libtsm's Beethoven orchestra and librosa's Brahms string orchestra.

A pianist's time map bends the tempo (here 1.2x slower for 10 s, then 1.05x) and the orchestra is moved by
``cents``; there is no recording of the truth. So each method makes the trip there and back - warp along the
map and shift, then warp along the inverse map and shift back - and the result is compared with the original:
what remains is the artifacts of two passes. The methods:

- ``warp hps`` / ``warp rubberband``: ``tsm.warp(..., semitones=cents / 100)``, the shift folded into one TSM
  pass (the map scaled, then a resampling);
- ``libtsm pitch_shift + warp``: the plain library baseline, two passes each way (``libtsm.pitch_shift``, then
  the warp);
- ``rubberband --timemap -p``: the Rubber Band CLI's own shift with the map (what ``tsm.warp`` does not use);
- ``warp hps, no shift``: the same trip without a shift: the floor, the TSM's own artifacts.

Printed per material and shift: the log-mel spectral distance to the original (dB, lower is better), the pitch
the way out is measured at against the original (cents, from :func:`sync.tuning_cents` and
:func:`sync.pitch_offset`, as ``tests/test_tuning.py`` measures the play-along) and the seconds both ways took.
"""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SR = 22050
SHIFTS_CENTS = (-30, 200, -100)


def material():
    from concerto_nb import data, io

    sources = data.SOURCES_DIR
    for name, path, start in (
        ("demo orchestra (render)", data.demo_path("orchestra"), 20.0),
        ("Beethoven orchestra (real, libtsm)", sources / "libtsm_beethoven" / "BeethovenOrchestra.wav", 0.0),
        ("Brahms strings (real, librosa)", next((sources / "librosa_brahms").glob("*.ogg")), 20.0),
    ):
        y, _ = io.load_audio(path, sr=SR)
        yield name, y[int(start * SR): int((start + 20.0) * SR)]


def log_mel(y):
    import librosa

    power = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=96)
    return 10 * np.log10(np.maximum(power, power.max() * 1e-8))


def spectral_distance_db(y, truth):
    """Mean over frames of the RMS difference of the log-mel spectra (the first and last 0.5 s left out)."""
    a, b = log_mel(y), log_mel(truth)
    edge = int(0.5 * SR / 512)
    return float(np.mean(np.sqrt(np.mean((a - b) ** 2, axis=0))[edge:-edge]))


def cents_above(y, original):
    from concerto_nb import sync

    semitones, _ = sync.pitch_offset(y, original, SR)
    return 100 * semitones + sync.tuning_cents(y, SR) - sync.tuning_cents(original, SR)


def rubberband_timemap_p(y, time_map, cents):
    """The Rubber Band CLI with the map (as ``tsm._warp_rubberband`` calls it) and its own ``-p``."""
    import soundfile as sf

    from concerto_nb import tsm

    n_out = int(round(time_map[-1, 1] * SR))
    anchors = tsm.anchors_from_time_map(time_map, SR, len(y), n_out)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, key = Path(tmp, "in.wav"), Path(tmp, "out.wav"), Path(tmp, "map.txt")
        sf.write(src, y, SR, subtype="FLOAT")
        np.savetxt(key, anchors[1:-1], fmt="%d")
        subprocess.run(["rubberband", "-2", "-q", "--timemap", str(key), "-t", f"{n_out / len(y):.9f}",
                        "-p", f"{cents / 100:.6f}", str(src), str(dst)], check=True, capture_output=True)
        out, _ = sf.read(dst, dtype="float32")
    return np.pad(out, (0, max(0, n_out - len(out))))[:n_out]


def methods():
    """name -> function(audio, time map, cents) that warps along the map and shifts."""
    import libtsm

    from concerto_nb import tsm

    def two_passes(y, time_map, cents):
        shifted = np.asarray(libtsm.pitch_shift(y, cents, Fs=SR)).reshape(-1)
        return tsm.warp(np.pad(shifted, (0, max(0, len(y) - len(shifted))))[: len(y)], SR, time_map)

    yield "warp hps", lambda y, time_map, cents: tsm.warp(y, SR, time_map, semitones=cents / 100)
    yield "libtsm pitch_shift + warp", two_passes
    if shutil.which("rubberband"):
        yield "warp rubberband", lambda y, time_map, cents: tsm.warp(y, SR, time_map, method="rubberband",
                                                                     semitones=cents / 100)
        yield "rubberband --timemap -p", rubberband_timemap_p
    yield "warp hps, no shift", lambda y, time_map, cents: tsm.warp(y, SR, time_map)


def main():
    print(f"{'material':36s} {'cents':>6s}  {'method':27s} {'distance dB':>11s} {'measured':>9s} {'s':>6s}")
    totals = {}
    for name, y in material():
        seconds = len(y) / SR
        there = np.array([[0.0, 0.0], [seconds / 2, 1.2 * seconds / 2], [seconds, 1.125 * seconds]])
        back = there[:, ::-1]
        for cents in SHIFTS_CENTS:
            for method, shift in methods():
                asked = 0 if method.endswith("no shift") else cents
                t0 = time.perf_counter()
                out = shift(y, there, asked)
                round_trip = shift(out, back, -asked)
                took = time.perf_counter() - t0
                distance = spectral_distance_db(round_trip[: len(y)], y)
                totals.setdefault(method, []).append(distance)
                print(f"{name:36s} {cents:+6d}  {method:27s} {distance:11.2f} {cents_above(out, y):+9.0f} "
                      f"{took:6.1f}", flush=True)
    print("\nmean distance to the original after the round trip (dB), over the material and shifts:")
    for method, values in totals.items():
        print(f"  {method:27s} {np.mean(values):.2f}")


if __name__ == "__main__":
    main()
