"""Informed separation (the pianist's recording as side information) beside the blind network and the oracle.

    .venv/bin/python benchmarks/informed_separation.py [--weights PATH] [--quick]

Material, all unseen by both networks' training:

- the six cases of ``benchmarks/expressive.py``: three concerto excerpts (a sampled concert grand and MuseScore's
  orchestra in a hall; Mozart KV488 I, Beethoven Op. 37 I, Bach BWV 1055 I), each against the rubato and the
  impetuous pianist (MuseScore's piano recorded at home, 20 and -30 cents off);
- the held-out windows of ``scripts/train.py`` (Op. 37 at 450 s, BWV 1055 at 160 s; 40 s each), concerto in the
  held-out soundfont MuseScore General in the hall, the pianist the sampled grand at home, in time;
- the demo (KV488 in FluidR3, its pianist in another soundfont and room, expressive timing).

The pianist is warped onto the concerto along the map ``sync.align`` finds between the blind separation's piano and
the pianist, with the pitch difference it finds (what ``playalong`` does), and along the true map. Metrics: piano and
orchestra SDR, and the orchestra track's SIR (BSSEval v4, median over 1 s frames: the piano a user hears in it).
Last, the time of informed separation of 10 minutes (the demo tiled), map given, beside the blind separation's.
``--quick``: the demo only. Results: ``benchmarks/results/informed_separation.txt``.
"""
import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))
from concerto_nb import data, evaluation, informed, io, performance, render, separation, sync  # noqa: E402
from expressive import HOME, PIECES, SR, make_case, salamander_samples  # noqa: E402
import train  # noqa: E402

HELD_OUT_S = 40.0
CACHE = ROOT / "data" / "cache" / "informed"


def held_out_case(midi_name, start, samples):
    """A held-out window: concerto in MuseScore General in the hall, the pianist the sampled grand at home."""
    folder = CACHE / f"{midi_name[:-4]}_{int(start)}"
    files = {name: folder / f"{name}.wav" for name in ("concerto", "piano", "pianist")}
    if not all(f.exists() for f in files.values()):
        folder.mkdir(parents=True, exist_ok=True)
        sources = data.SOURCES_DIR
        piano_pm, orch_pm = render.split_stems(render.crop_midi(render.load_midi(sources / "mutopia_concertos_midi"
                                                                                 / midi_name), start,
                                                                start + HELD_OUT_S))
        hall = render.load_impulse_response(sources / render.DEMO["concerto_room"], SR)
        piano = render.apply_room(render.render_midi(piano_pm, SR, "musescore", HELD_OUT_S), hall)
        orch = render.apply_room(render.render_midi(orch_pm, SR, "musescore", HELD_OUT_S), hall)
        g = 0.9 / np.max(np.abs(piano + orch))
        pianist = render.render_sampled_piano(performance.humanize(piano_pm, seed=int(start)), SR, samples,
                                              HELD_OUT_S)
        pianist, _ = performance.home_recording(pianist / (np.sqrt(np.mean(pianist**2)) + 1e-9) * 0.05, SR,
                                                mp3_kbps=64)
        for name, y in (("concerto", (piano + orch) * g), ("piano", piano * g), ("pianist", pianist)):
            io.save_audio(files[name], y, SR)
    audio = {name: io.load_audio(f, sr=SR)[0] for name, f in files.items()}
    n = len(audio["concerto"])
    return audio, np.array([[0.0, 0.0], [n / SR, n / SR]]), 0.0


def cases(quick):
    """(label, audio dict, true map, true cents) of every case."""
    demo = {name: io.load_audio(data.demo_path(name), sr=SR)[0] for name in ("concerto", "piano", "pianist")}
    yield "demo (KV488, FluidR3)", demo, data.demo_time_map(), 0.0
    if quick:
        return
    samples = render.load_piano_samples(salamander_samples(), SR)
    for label, midi, start, length in PIECES:
        for style in HOME:
            audio, _, true_map, _ = make_case(label, midi, start, length, style, samples)
            yield f"{label}, {style}", audio, true_map, HOME[style]["detune_cents"]
    for midi_name, (start, _) in train.HELD_OUT.items():
        audio, true_map, cents = held_out_case(midi_name, start, samples)
        yield f"{midi_name.split('_')[0]} {start:.0f}s held out (MuseScore)", audio, true_map, cents


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default=None, help="informed weights (default: the shipped ones)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    net = informed.load_informed(args.weights)
    scores = {}
    names = ("blind network", "informed, aligned map", "informed, true map", "oracle IRM")
    print("| case | " + " | ".join(names) + " |\n" + "|---" * (len(names) + 1) + "|")
    for label, audio, true_map, true_cents in cases(args.quick):
        mixture, piano, pianist = audio["concerto"], audio["piano"], audio["pianist"]
        orchestra = mixture - piano
        blind = separation.separate(mixture, SR)[0]
        aligned, details = sync.align(blind, pianist, mixture=mixture, return_details=True)
        if details["jumps"]:
            aligned = sync.time_map_with_jumps(aligned, details["jumps"])
        estimates = {"blind network": blind, "oracle IRM": evaluation.oracle_irm(piano, orchestra)[0]}
        for name, time_map, cents in (("informed, aligned map", aligned, details["pitch_difference_cents"]),
                                      ("informed, true map", true_map, true_cents)):
            with _weights(net):
                estimates[name] = separation.separate(mixture, SR, pianist=pianist, time_map=time_map,
                                                      pianist_cents=cents)[0]
        row = []
        for name in names:
            est = estimates[name]
            bleed = evaluation.bss_eval([piano, orchestra], [est, mixture - est], SR)["sir"][1]
            values = (evaluation.sdr(piano, est), evaluation.sdr(orchestra, mixture - est), bleed)
            scores.setdefault(name, []).append(values)
            row.append("{:.2f} / {:.2f} / {:.2f}".format(*values))
        print(f"| {label} | " + " | ".join(row) + " |", flush=True)
    means = {name: np.mean(v, axis=0) for name, v in scores.items()}
    print("| mean | " + " | ".join("{:.2f} / {:.2f} / {:.2f}".format(*means[n]) for n in names) + " |")
    blind = means["blind network"]
    print("\nCells: piano SDR / orchestra SDR / orchestra SIR, dB.")
    for name in names[1:]:
        d = means[name] - blind
        print(f"{name} vs blind: piano SDR {d[0]:+.2f}, orchestra SDR {d[1]:+.2f}, orchestra SIR {d[2]:+.2f} dB; "
              f"piano SDR {means['oracle IRM'][0] - means[name][0]:.2f} dB below the oracle")
    # cost: 10 minutes, map given
    demo = {name: io.load_audio(data.demo_path(name), sr=SR)[0] for name in ("concerto", "pianist")}
    reps = int(np.ceil(600 * SR / len(demo["concerto"])))
    long_mix = np.tile(demo["concerto"], reps)[: 600 * SR]
    long_pianist = np.tile(demo["pianist"], reps)
    span = len(demo["pianist"]) / SR
    tm = data.demo_time_map()
    long_map = np.concatenate([tm + [k * len(demo["concerto"]) / SR, k * span] for k in range(reps)])
    long_map = long_map[np.r_[True, np.diff(long_map[:, 0]) > 0]]
    t0 = time.perf_counter()
    separation.separate(long_mix, SR)
    blind_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with _weights(net):
        separation.separate(long_mix, SR, pianist=long_pianist, time_map=long_map, pianist_cents=0.0)
    informed_s = time.perf_counter() - t0
    print(f"10 min of 22.05 kHz mono: blind {blind_s:.1f} s, informed (map given) {informed_s:.1f} s "
          f"({informed_s / blind_s:.1f}x)")


class _weights:
    """Use ``net`` as the informed network inside the block (``--weights``)."""

    def __init__(self, net):
        self.net = net

    def __enter__(self):
        self.saved = informed.load_informed
        informed.load_informed = lambda path=None: self.net

    def __exit__(self, *exc):
        informed.load_informed = self.saved


if __name__ == "__main__":
    main()
