"""Blind separation of real recordings: held-out real pianists mixed with held-out real orchestras.

    .venv/bin/python benchmarks/real_mixes.py [--weights PATH ...] [--no-bss] [--tta]

What every user brings is real audio: real pianos, string sections, halls, microphones and mastering. Here
each held-out real solo-piano recording of ``train.REAL_HELD_OUT`` (four pianists, five recordings, none of
them heard in training) is mixed with each held-out real orchestra recording (three orchestras), 15 s
each, with the piano 6 dB below, level with and 6 dB above the orchestra (RMS): 45 mixes, no added room
(each recording has its own). Methods, in one run: the ideal ratio mask (the oracle), the shipped network
(soft mask) and each ``--weights`` network. Metrics: SDR and SI-SDR of each source, and BSSEval v4 SIR
(museval, median over 1 s frames; ``--no-bss`` leaves it out, a minute faster). The gap is the oracle's
SDR minus the network's, averaged over both sources and all mixes.

``--tta`` adds test-time adaptation on real audio (about 15 minutes): each pair at 0 dB laid out as a concerto
movement is, the orchestra alone for its first 4 s, both for 7 s, the piano alone for the last 4 s;
``adaptation.adapt`` fine-tunes the shipped network on those two solo passages (given, as a user can), and
the 7 s where both play are scored before and after, beside the oracle.
"""
import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import adaptation, data, evaluation, model, separation  # noqa: E402
sys.path.insert(0, str(ROOT / "scripts"))
import train  # noqa: E402  (scripts/train.py)

SR = model.SR
EXCERPT_S = 15.0  # the shortest held-out orchestra clip
LEVELS_DB = (-6.0, 0.0, 6.0)  # piano RMS over orchestra RMS
SOLO_S = 4.0  # --tta: seconds of orchestra alone at the start and of piano alone at the end


def real_mixes(*, solo_s: float = 0.0, levels=LEVELS_DB):
    """(piano name, orchestra name, level dB, piano, orchestra) for every held-out pair and level (``solo_s``:
    :func:`concerto_nb.data.real_mix`'s layout with solo passages)."""
    for piano, p_start in train.REAL_HELD_OUT["piano"].items():
        for orchestra, o_start in train.REAL_HELD_OUT["orchestra"].items():
            for level in levels:
                yield (Path(piano).stem, Path(orchestra).stem[:24], level,
                       *data.real_mix(piano, orchestra, level_db=level, seconds=EXCERPT_S, piano_start_s=p_start,
                                      orchestra_start_s=o_start, sr=SR, solo_s=solo_s))


def scores(piano, orch, p_est, o_est, bss: bool):
    """SDR, SI-SDR (and SIR) of the piano, then of the orchestra."""
    row = [evaluation.sdr(piano, p_est), evaluation.si_sdr(piano, p_est)]
    row_o = [evaluation.sdr(orch, o_est), evaluation.si_sdr(orch, o_est)]
    if bss:
        sir = evaluation.bss_eval([piano, orch], [p_est, o_est], SR)["sir"]
        row, row_o = row + [sir[0]], row_o + [sir[1]]
    return row + row_o


def adapted_on_solo_passages():
    """Test-time adaptation on the real recordings' own solo passages: mean SDR of both sources where both play,
    (oracle, shipped network, adapted network) per held-out pair at 0 dB."""
    rows = []
    for p_name, o_name, level, piano, orch in real_mixes(solo_s=SOLO_S, levels=(0.0,)):
        solo = int(SOLO_S * SR)
        mix, both = piano + orch, slice(solo, len(piano) - solo)
        net, info = adaptation.adapt(mix, SR, piano_only=[(len(mix) / SR - SOLO_S, len(mix) / SR)],
                                     orchestra_only=[(0.0, SOLO_S)], max_seconds=1e9)

        def mean_sdr(p_est, o_est):
            return (evaluation.sdr(piano[both], p_est[both]) + evaluation.sdr(orch[both], o_est[both])) / 2

        row = (mean_sdr(*evaluation.oracle_irm(piano, orch)), mean_sdr(*separation.separate(mix, SR)),
               mean_sdr(*separation.separate(mix, SR, net=net)))
        rows.append(row)
        print(f"TTA {p_name[:22]:22s} {o_name[:22]:22s} {info['steps']} steps: oracle {row[0]:6.2f}  shipped "
              f"{row[1]:6.2f}  adapted {row[2]:6.2f}", flush=True)
    oracle, shipped, tuned = np.mean(rows, axis=0)
    print(f"\nTTA on {SOLO_S:.0f} s of each source alone, {len(rows)} pairs at 0 dB, mean SDR of both sources where "
          f"both play: oracle {oracle:.2f}, shipped {shipped:.2f} (gap {oracle - shipped:.2f}), adapted {tuned:.2f} "
          f"(gap {oracle - tuned:.2f}, {tuned - shipped:+.2f} dB)")


def main():
    warnings.simplefilter("ignore")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", nargs="*", default=[], help="other networks' weights to compare")
    p.add_argument("--no-bss", action="store_true", help="leave out BSSEval's SIR")
    p.add_argument("--tta", action="store_true", help="add test-time adaptation on solo passages (15 min)")
    args = p.parse_args()
    nets = {"network (shipped)": model.load_model(None)}
    nets.update({f"network {Path(w).name}": model.load_model(w) for w in args.weights})
    methods = {"oracle IRM": lambda mix, p, o: evaluation.oracle_irm(p, o)}
    methods.update({name: (lambda net: lambda mix, p, o: separation.separate(mix, SR, net=net))(net)
                    for name, net in nets.items()})
    cols = ("p SDR", "p SISDR", "p SIR", "o SDR", "o SISDR", "o SIR")
    if args.no_bss:
        cols = tuple(c for c in cols if "SIR" not in c)
    rows = {}  # (method, piano, orchestra, level) -> scores
    for p_name, o_name, level, piano, orch in real_mixes():
        mix = piano + orch
        for method, fn in methods.items():
            rows[method, p_name, o_name, level] = scores(piano, orch, *fn(mix, piano, orch), not args.no_bss)
        net_sdr = rows["network (shipped)", p_name, o_name, level]
        print(f"{p_name[:22]:22s} {o_name[:22]:22s} {level:+4.0f} dB  oracle "
              f"{np.mean(np.array(rows['oracle IRM', p_name, o_name, level])[[0, len(cols) // 2]]):6.2f}  shipped "
              f"{np.mean(np.array(net_sdr)[[0, len(cols) // 2]]):6.2f}", flush=True)

    def mean(method, **where):
        keys = [k for k in rows if k[0] == method and all(k[("", "piano", "orchestra", "level").index(f)] == v
                                                        for f, v in where.items())]
        return np.mean([rows[k] for k in keys], axis=0)

    half = len(cols) // 2
    print(f"\nmean over {len({k[1:] for k in rows})} mixes (dB)")
    print(f"{'method':28s}{'level':>7s}" + "".join(f"{c:>9s}" for c in cols) + f"{'gap':>7s}")
    for level in (None, *LEVELS_DB):
        where = {} if level is None else {"level": level}
        oracle = mean("oracle IRM", **where)
        for method in methods:
            m = mean(method, **where)
            gap = (oracle[0] + oracle[half]) / 2 - (m[0] + m[half]) / 2
            label = "all" if level is None else f"{level:+.0f}"
            print(f"{method:28s}{label:>7s}" + "".join(f"{v:9.2f}" for v in m) + f"{gap:7.2f}")
    # over the three levels, a source's SDR is the other's mirrored: one mean SDR per recording says it all
    for kind, field in (("pianist", "piano"), ("orchestra", "orchestra")):
        print(f"\nper {kind}, mean SDR of both sources over the other recordings and the levels (dB)")
        print(f"{'':34s}" + "".join(f"{method:>28s}" for method in methods))
        for name in dict.fromkeys(k[("", "piano", "orchestra").index(field)] for k in rows):
            print(f"{name[:34]:34s}" + "".join(
                f"{(mean(method, **{field: name})[0] + mean(method, **{field: name})[half]) / 2:28.2f}"
                for method in methods))
    if args.tta:
        adapted_on_solo_passages()


if __name__ == "__main__":
    main()
