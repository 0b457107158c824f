"""Test-time adaptation on whole movements: what a user gives ``concerto-nb separate --adapt``.

    .venv/bin/python benchmarks/tta_whole.py [--seeds 0 1] [--weights PATH] [--soundfont NAME] [--movements KV488 ...]

A 75 s excerpt (``benchmarks/separation.py``) holds only 10-30 s of solo passages to adapt on; a whole
movement holds minutes of them. Rendered here with the held-out soundfont (MuseScore General) in the
held-out hall: Mozart KV488 I (piece held out of training) and Beethoven Op. 37 I (training saw the piece,
with other soundfonts, outside 450-540 s). For each, in one run:

- piano SDR of the oracle IRM and of the network (soft mask);
- the solo passages ``adaptation.find_solo_passages`` finds: how many seconds, and how clean they are
  (the other source's share of their energy, from the true stems);
- piano SDR after ``adaptation.adapt`` on them with its default schedule (a movement holds enough solo
  material for ``adaptation.LONG_SCHEDULE``, 600 steps) and with the short one an excerpt gets
  (``adaptation.SHORT_SCHEDULE``, 200 steps, what 0.7.0 did everywhere), per seed, and the change of
  the piano's share outside the passages that ``adapt``'s guard checks (it rejects below
  ``-adaptation.MAX_PIANO_DROP_DB``; here the passages are passed in, so it is reported, not applied).

``--soundfont`` renders with another soundfont (``render.SOUNDFONTS``; a training one, e.g. ``fluidr3``,
checks a setting chosen on MuseScore General on other timbres); ``--movements`` keeps those whose name
starts with one of the given words.

Plain SDR only: a movement's tutti leave the piano silent for minutes, where BSSEval's framewise
medians mean nothing.
"""
import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from concerto_nb import adaptation, evaluation, model, render, separation  # noqa: E402
from separation import SHARED, SR, _rendered  # noqa: E402  (the excerpts benchmark's renderer)

MOVEMENTS = {"KV488 I": "Mozart_KV488_mvt1_Allegro.mid", "Op. 37 I": "Beethoven_Op37_mvt1_Allegro_con_brio.mid"}
SOUNDFONT_NAMES = {"musescore": "MuseScore General"}
SCHEDULES = {"default": {}, "short (0.7.0's)": adaptation.SHORT_SCHEDULE}


def other_share(passages, own, other):
    """Share of the other source in the energy of ``passages`` (0 = clean)."""
    cut = lambda y: np.concatenate([y[int(a * SR): int(b * SR)] for a, b in passages])  # noqa: E731
    e_own, e_other = np.sum(cut(own) ** 2), np.sum(cut(other) ** 2)
    return float(e_other / max(e_own + e_other, 1e-12))


def seconds(passages):
    return sum(b - a for a, b in passages)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--soundfont", default="musescore")
    parser.add_argument("--movements", nargs="+", default=list(MOVEMENTS))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    net = model.load_model(args.weights)
    print(f"network: {args.weights or model.WEIGHTS}")
    for name, midi_name in MOVEMENTS.items():
        if not any(name.startswith(word) for word in args.movements):
            continue
        duration = render.load_midi(SHARED / "mutopia_concertos_midi" / midi_name).get_end_time() + 2.0
        piano, orch = _rendered(midi_name, 0.0, duration, args.soundfont)
        mix = piano + orch
        oracle = evaluation.sdr(piano, evaluation.oracle_irm(piano, orch)[0])
        base = evaluation.sdr(piano, separation.separate(mix, SR, net=net)[0])
        soundfont = SOUNDFONT_NAMES.get(args.soundfont, args.soundfont)
        print(f"\n{name} ({duration:.0f} s, {soundfont}): piano SDR oracle IRM {oracle:.2f} dB, "
              f"network {base:.2f} dB", flush=True)
        p_only, o_only = adaptation.find_solo_passages(mix, SR, net)
        print(f"  passages found: piano-only {seconds(p_only):.0f} s "
              f"({100 * other_share(p_only, piano, orch):.1f} % orchestra), orchestra-only "
              f"{seconds(o_only):.0f} s ({100 * other_share(o_only, orch, piano):.1f} % piano)", flush=True)
        for label, kwargs in SCHEDULES.items():
            print(f"  {label} schedule:", flush=True)
            for seed in args.seeds:
                adapted, info = adaptation.adapt(mix, SR, net, piano_only=p_only, orchestra_only=o_only,
                                                 seed=seed, max_seconds=1e9, **kwargs)
                sdr = evaluation.sdr(piano, separation.separate(mix, SR, net=adapted)[0])
                guard = "rejected" if info["piano_change_db"] < -adaptation.MAX_PIANO_DROP_DB else "kept"
                print(f"    seed {seed}: piano SDR {sdr:.2f} dB, TTA gain {sdr - base:+.2f} dB "
                      f"({info['steps']} steps at lr {info['lr']:g}, {info['seconds']:.0f} s; piano's share "
                      f"outside {info['piano_change_db']:+.2f} dB: the guard would have {guard} it)", flush=True)


if __name__ == "__main__":
    main()
