"""Separation quality on held-out multitrack excerpts, all methods side by side in one run.

    .venv/bin/python benchmarks/separation.py [--quick] [--weights PATH]

Held out from training (``scripts/train.py``): the piece Mozart KV488 I everywhere, the
windows ``train.HELD_OUT`` of Beethoven Op. 37 I and Bach BWV 1055 I, the soundfont MuseScore
General, the hall's impulse response, one real piano recording and the end of the real
orchestra clip. Excerpts:

- the demo (KV488, FluidR3, hall), mono and a stereo version (piano left of centre, orchestra
  right of centre: what multichannel Wiener filtering can use);
- KV488 at 120 s and 400 s, Op. 37 and BWV 1055 in their held-out windows: MuseScore General, hall;
- a random mix of the held-out real recordings (Ishizaka's WTC prelude 1 and the last 15 s of the
  Brahms string orchestra clip) at 0 dB.

``benchmarks/tta_whole.py`` measures test-time adaptation on whole movements, what users give it.

Methods: the unprocessed mixture, the ideal ratio mask (oracle upper bound) and the same at the
resolution of the network's 128 mel bands (the best mask that varies only from band to band), HPSS (unsupervised
baseline), the network with the four reconstructions (soft mask, Wiener gain, multichannel Wiener
EM, median-smoothed mask) and the network after test-time adaptation on the excerpt's own solo
passages (found automatically; the real mix has none, so it is left out there), with a line saying
whether the adaptation was kept or rejected (``adaptation.MAX_PIANO_DROP_DB``).
Metrics: plain SDR, SI-SDR and BSSEval v4 (museval, median over 1 s frames) SDR / SIR / SAR, in dB.
Last, the wall time of ``separate`` on 10 minutes of 22.05 kHz mono audio.
``--quick`` runs the demo rows only (a minute or two); ``--weights`` takes another network's
weights (e.g. an earlier version's) instead of the shipped ones.
"""
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import adaptation, data, evaluation, io, mixing, model, render, separation  # noqa: E402
sys.path.insert(0, str(ROOT / "scripts"))
import train  # noqa: E402  (scripts/train.py)

SR = 22050
SHARED = ROOT / "data" / "sources"
HALL = SHARED / render.DEMO["concerto_room"]


def _rendered(midi_name, start, end, soundfont="musescore"):
    score = render.load_midi(SHARED / "mutopia_concertos_midi" / midi_name)
    hall = render.load_impulse_response(HALL, SR)
    piano_pm, orch_pm = render.split_stems(render.crop_midi(score, start, end))
    piano = render.apply_room(render.render_midi(piano_pm, SR, soundfont, end - start), hall)
    orch = render.apply_room(render.render_midi(orch_pm, SR, soundfont, end - start), hall)
    g = 0.9 / np.max(np.abs(piano + orch))
    return (piano * g).astype(np.float32), (orch * g).astype(np.float32)


def heldout_excerpts(quick=False):
    """(name, piano, orchestra, adapt?) for each held-out excerpt."""
    piano = io.load_audio(data.demo_path("piano"), sr=SR)[0]
    orch = io.load_audio(data.demo_path("orchestra"), sr=SR)[0]
    yield "demo (FluidR3)", piano, orch, True
    yield "demo stereo", mixing.pan(piano, -0.4), mixing.pan(orch, 0.3), False
    if quick:
        return
    kv488 = "Mozart_KV488_mvt1_Allegro.mid"
    for start in (120.0, 400.0):
        yield f"KV488 {start:.0f}s (MuseScore)", *_rendered(kv488, start, start + 75.0), True
    for midi_name, (start, end) in train.HELD_OUT.items():
        yield f"{midi_name.split('_')[0]} {start:.0f}s (MuseScore)", *_rendered(midi_name, start, end), True
    real_p = io.load_audio(SHARED / "ishizaka_cc0" / train.HELD_OUT_PIANO, sr=SR)[0]
    real_o = io.load_audio(SHARED / "librosa_brahms" / train.REAL_ORCHESTRA[0], sr=SR)[0]
    real_o = real_o[int(train.HELD_OUT_ORCHESTRA_FROM_S * SR):]
    real_p = real_p[int(20 * SR): int(20 * SR) + len(real_o)]
    real_p *= np.sqrt(np.mean(real_o**2) / np.mean(real_p**2))
    g = 0.9 / np.max(np.abs(real_p + real_o))
    yield "real recordings 0 dB", real_p * g, real_o * g, False


NET = {}  # the network under test: main() loads it


def _adapted(mix):
    net, info = adaptation.adapt(mix, SR, NET["net"])
    verdict = info.get("rejected") or info.get("skipped") or "kept"
    print(f"{'':30s}TTA: {info['steps']} steps, piano's share outside the passages "
          f"{info.get('piano_change_db', 0.0):+.2f} dB: {verdict}", flush=True)
    return separation.separate(mix, SR, net=net)


def _net(mix, **kwargs):
    return separation.separate(mix, SR, net=NET["net"], **kwargs)


METHODS = {
    "mixture": lambda mix, p, o: (mix, mix),
    "oracle IRM": lambda mix, p, o: evaluation.oracle_irm(p, o),
    "oracle, 128 bands": lambda mix, p, o: evaluation.oracle_irm(p, o, n_bands=128),
    "HPSS": lambda mix, p, o: separation.separate(mix, SR, method="hpss"),
    "net, soft mask": lambda mix, p, o: _net(mix),
    "net, Wiener gain": lambda mix, p, o: _net(mix, reconstruction="wiener"),
    "net, EM Wiener": lambda mix, p, o: _net(mix, reconstruction="em"),
    "net, smoothed mask": lambda mix, p, o: _net(mix, smooth=(3, 3)),
    "net + TTA": lambda mix, p, o: _adapted(mix),
}


def main():
    warnings.simplefilter("ignore")
    quick = "--quick" in sys.argv
    weights = sys.argv[sys.argv.index("--weights") + 1] if "--weights" in sys.argv else None
    NET["net"] = model.load_model(weights)
    print(f"network: {weights or model.WEIGHTS}")
    header = f"{'excerpt':30s}{'method':20s}" + "".join(
        f"{c:>8s}" for c in ("p SDR", "p SISDR", "p bSDR", "p SIR", "p SAR",
                             "o SDR", "o SISDR", "o bSDR", "o SIR", "o SAR"))
    print(header)
    results = {}
    for name, piano, orch, can_adapt in heldout_excerpts(quick):
        mix = piano + orch
        for m, fn in METHODS.items():
            if m == "net + TTA" and not can_adapt:
                continue
            p_est, o_est = fn(mix, piano, orch)
            bss = evaluation.bss_eval([piano, orch], [p_est, o_est], SR)
            row = [evaluation.sdr(piano, p_est), evaluation.si_sdr(piano, p_est), bss["sdr"][0], bss["sir"][0],
                   bss["sar"][0], evaluation.sdr(orch, o_est), evaluation.si_sdr(orch, o_est), bss["sdr"][1],
                   bss["sir"][1], bss["sar"][1]]
            results[name, m] = row
            print(f"{name:30s}{m:20s}" + "".join(f"{v:8.2f}" for v in row), flush=True)

    rendered = [n for n, _ in results if "MuseScore" in n]
    rendered = sorted(set(rendered), key=rendered.index)
    if rendered:
        print(f"\nmean over the {len(rendered)} held-out MuseScore excerpts")
        print(header)
        for m in METHODS:
            rows = [results[n, m] for n in rendered if (n, m) in results]
            print(f"{'':30s}{m:20s}" + "".join(f"{v:8.2f}" for v in np.mean(rows, axis=0)))
        gap = np.mean([results[n, "oracle IRM"] for n in rendered], axis=0) - np.mean(
            [results[n, "net, soft mask"] for n in rendered], axis=0)
        print(f"oracle minus network (soft mask): piano SDR {gap[0]:.2f} dB, BSSEval SDR {gap[2]:.2f} dB; "
              f"orchestra SDR {gap[5]:.2f} dB, BSSEval SDR {gap[7]:.2f} dB")
        tta = np.mean([np.array(results[n, "net + TTA"]) - results[n, "net, soft mask"] for n in rendered], axis=0)
        print(f"TTA minus no TTA: piano SDR {tta[0]:+.2f} dB (BSSEval {tta[2]:+.2f}), "
              f"orchestra SDR {tta[5]:+.2f} dB (BSSEval {tta[7]:+.2f})")

    mix = io.load_audio(data.demo_path("concerto"), sr=SR)[0]
    ten_min = np.tile(mix, int(np.ceil(600 * SR / len(mix))))[: 600 * SR]
    for label, kwargs in (("hpss", {"method": "hpss"}), ("network", {"net": NET["net"]}),
                          ("network, EM", {"net": NET["net"], "reconstruction": "em"})):
        t0 = time.perf_counter()
        separation.separate(ten_min, SR, **kwargs)
        t = time.perf_counter() - t0
        print(f"10 min mono 22.05 kHz, {label:12s}: {t:6.1f} s = {t / 600:.3f}x real time")


if __name__ == "__main__":
    main()
