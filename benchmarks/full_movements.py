"""Alignment and TSM on whole concerto movements with known time maps (issue 4's targets).

    .venv/bin/python benchmarks/full_movements.py [--pieces kv488 op37] [--no-tsm] [--weights PATH]

For Mozart KV488 I and Beethoven Op.37 I (full length, from data/sources), renders here (cached in
data/cache/movements/): the concerto (FluidR3, concert hall) as exact piano + orchestra stems, and a
"pianist" playing the piano part along a smooth 0.8x-1.25x tempo curve (MuseScore General, studio).
The tempo is held steady inside the piano's rests (``render.steady_through_rests``): there the pianist's
recording holds no timing, so a curve that kept bending would be a truth no aligner could know.
Then, side by side in one run:

- alignment of the network's separated piano with the pianist by ``sync.align`` vs the plain
  synctoolbox pipeline (its chroma and DLNCO features, MrMsDTW, the raw path interpolated, no rest handling):
  % of piano onsets within 50 / 100 ms, median, and the worst error on beats inside tutti (no piano
  note sounding within 1 s) and where it is, plus the runtime of each;
- TSM of the orchestra stem: ``tsm.warp`` (HPS, chunked) along ``sync.align``'s map vs libtsm's
  ``hps_tsm`` in one piece on the raw path's anchors vs ``tsm.warp(method="rubberband")`` (the
  ``rubberband`` CLI, R2 engine, ``--timemap``) when installed; runtime, and the median onset lag (10 s windows)
  against the same
  stem warped along the true map.
"""
import argparse
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from concerto_nb import evaluation, model, render, separation, sync, tsm  # noqa: E402

SHARED = ROOT / "data" / "sources"
SR = sync.SYNC_SR
PIECES = {
    "kv488": ("Mozart_KV488_mvt1_Allegro.mid", 488),
    "op37": ("Beethoven_Op37_mvt1_Allegro_con_brio.mid", 37),
}


def rendered(name):
    """Stems, pianist, true time map and the MIDI's piano onsets / tutti beats (cached as .npz)."""
    import pretty_midi

    cache = ROOT / "data" / "cache" / "movements" / f"{name}_v2.npz"
    if cache.exists():
        return dict(np.load(cache))
    midi, seed = PIECES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = pretty_midi.PrettyMIDI(str(SHARED / "mutopia_concertos_midi" / midi))
    duration = pm.get_end_time() + 2.0
    pm = render.crop_midi(pm, 0.0, duration)
    piano_pm, orch_pm = render.split_stems(pm)
    hall = render.load_impulse_response(SHARED / "openair_irs" / "Jack Lyons Hall, University of York.wav", SR)
    studio = render.load_impulse_response(SHARED / "openair_irs" / "Genesis 6 Studio Live Room.wav", SR)
    t0 = time.perf_counter()
    piano = render.apply_room(render.render_midi(piano_pm, SR, "fluidr3", duration), hall)
    orchestra = render.apply_room(render.render_midi(orch_pm, SR, "fluidr3", duration), hall)
    # the pianist's tempo bends along the curve while they play, and holds while they rest
    time_map = render.steady_through_rests(render.tempo_curve_time_map(duration, seed=seed),
                                           render.piano_rests(piano_pm, duration))
    pianist_pm = render.warp_midi(piano_pm, time_map)
    pianist = render.apply_room(render.render_midi(pianist_pm, SR, "musescore", time_map[-1, 1]), studio, wet=0.2)
    gain = 0.9 / np.max(np.abs(piano + orchestra))
    piano_notes = [(n.start, n.end) for i in piano_pm.instruments for n in i.notes]
    onsets = np.unique(np.round([a for a, _ in piano_notes], 4))
    starts, ends = np.array(piano_notes).T
    beats = pm.get_beats()
    # a tutti beat: no piano note sounds within 1 s of it
    tutti = np.array([b for b in beats if not np.any((starts < b + 1.0) & (ends > b - 1.0))])
    out = {"piano": (piano * gain).astype(np.float32), "orchestra": (orchestra * gain).astype(np.float32),
           "pianist": (pianist * 0.9 / np.max(np.abs(pianist))).astype(np.float32), "time_map": time_map,
           "onsets": onsets, "tutti_beats": tutti}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    print(f"  rendered {name}: {duration / 60:.1f} min in {time.perf_counter() - t0:.0f} s")
    return out


def plain_synctoolbox(reference, performance):
    """The synctoolbox demo pipeline: its features (two filterbank passes), MrMsDTW, the raw path as the time map."""
    import contextlib
    import io as _io

    from synctoolbox.dtw.mrmsdtw import sync_via_mrmsdtw
    from synctoolbox.dtw.utils import make_path_strictly_monotonic
    from synctoolbox.feature.chroma import pitch_to_chroma, quantize_chroma
    from synctoolbox.feature.dlnco import pitch_onset_features_to_DLNCO
    from synctoolbox.feature.pitch import audio_to_pitch_features
    from synctoolbox.feature.pitch_onset import audio_to_pitch_onset_features
    from synctoolbox.feature.utils import estimate_tuning

    def features(y):
        y = y.astype(np.float64)
        tuning = estimate_tuning(y, SR)
        f_pitch = audio_to_pitch_features(f_audio=y, Fs=SR, tuning_offset=tuning, feature_rate=sync.FEATURE_RATE)
        chroma = quantize_chroma(f_chroma=pitch_to_chroma(f_pitch=f_pitch))
        peaks = audio_to_pitch_onset_features(f_audio=y, Fs=SR, tuning_offset=tuning)
        return chroma, pitch_onset_features_to_DLNCO(f_peaks=peaks, feature_rate=sync.FEATURE_RATE,
                                                     feature_sequence_length=chroma.shape[1])

    with contextlib.redirect_stdout(_io.StringIO()):
        c1, o1 = features(reference)
        c2, o2 = features(performance)
        path = sync_via_mrmsdtw(f_chroma1=c1, f_onset1=o1, f_chroma2=c2, f_onset2=o2,
                                input_feature_rate=sync.FEATURE_RATE, step_weights=np.array([1.5, 1.5, 2.0]),
                                threshold_rec=10**6)
    path = make_path_strictly_monotonic(path).astype(float) / sync.FEATURE_RATE
    return np.stack(path, axis=1)


def report(label, time_map, d, seconds):
    err = evaluation.alignment_errors(time_map, np.stack([d["onsets"], sync.map_times(d["time_map"], d["onsets"])], 1))
    s = evaluation.alignment_summary(err)
    tb = d["tutti_beats"]
    tutti = np.abs(sync.map_times(time_map, tb) - sync.map_times(d["time_map"], tb)) if len(tb) else np.zeros(1)
    worst_at = tb[int(np.argmax(tutti))] if len(tb) else float("nan")
    print(f"  {label:34s}{s['within_50ms_pct']:8.1f}{s['within_100ms_pct']:8.1f}{s['median_ms']:8.1f}"
          f"{1000 * tutti.max():11.0f}{worst_at:9.1f}{np.mean(tutti > 0.1):9.1%}{seconds:9.1f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pieces", nargs="+", default=list(PIECES), choices=list(PIECES))
    parser.add_argument("--no-tsm", action="store_true")
    parser.add_argument("--weights", help="separation weights to use instead of the shipped ones")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    net = model.load_model(args.weights)
    print(f"network: {args.weights or model.WEIGHTS}")
    for name in args.pieces:
        d = rendered(name)
        mixture = d["piano"] + d["orchestra"]
        minutes = len(mixture) / SR / 60
        print(f"== {name}: {minutes:.1f} min concerto, {len(d['pianist']) / SR / 60:.1f} min pianist, "
              f"{len(d['onsets'])} piano onsets, {len(d['tutti_beats'])} tutti beats")
        t0 = time.perf_counter()
        piano_est, orch_est = separation.separate(mixture, SR, net=net)
        print(f"  separation (network) {time.perf_counter() - t0:.1f} s")
        print(f"  {'alignment':34s}{'<=50ms':>8s}{'<=100ms':>8s}{'median':>8s}{'tutti max':>11s}{'at s':>9s}"
              f"{'>100ms':>9s}{'time s':>9s}")
        t0 = time.perf_counter()
        raw = plain_synctoolbox(piano_est, d["pianist"])
        t_plain = time.perf_counter() - t0
        report("plain synctoolbox (raw path)", raw, d, t_plain)
        t0 = time.perf_counter()
        time_map = sync.align(piano_est, d["pianist"])
        t_ours = time.perf_counter() - t0
        report("sync.align", time_map, d, t_ours)
        report("sync.align on the true piano stem", sync.align(d["piano"], d["pianist"]), d, float("nan"))
        print(f"  runtime ratio sync.align / plain synctoolbox: {t_ours / t_plain:.2f}")
        if args.no_tsm:
            continue
        print(f"  {'TSM of the orchestra stem':34s}{'time s':>9s}{'onset lag ms':>14s}")
        truth_warp = {}  # the orchestra *stem*, so that separation errors do not enter the lag
        t0 = time.perf_counter()
        truth_warp["tsm.warp (HPS, chunked)"] = tsm.warp(d["orchestra"], SR, time_map)
        times = {"tsm.warp (HPS, chunked)": time.perf_counter() - t0}
        t0 = time.perf_counter()
        truth_warp["libtsm hps_tsm, raw path"] = libtsm_hps(d["orchestra"], _strict(raw))
        times["libtsm hps_tsm, raw path"] = time.perf_counter() - t0
        if shutil.which("rubberband"):
            t0 = time.perf_counter()
            truth_warp["tsm.warp (rubberband R2)"] = tsm.warp(d["orchestra"], SR, time_map, method="rubberband")
            times["tsm.warp (rubberband R2)"] = time.perf_counter() - t0
        ideal = tsm.warp(d["orchestra"], SR, d["time_map"])  # the orchestra stem along the true map
        for label, y in truth_warp.items():
            lag_ms = 1000 * np.median(np.abs(evaluation.onset_lags(ideal, y, SR, max_lag_s=20 * 256 / SR)))
            print(f"  {label:34s}{times[label]:9.1f}{lag_ms:14.0f}")
        base = times["libtsm hps_tsm, raw path"]
        print(f"  runtime ratio tsm.warp / libtsm hps_tsm: {times['tsm.warp (HPS, chunked)'] / base:.2f}")


def libtsm_hps(y, time_map):
    """libtsm's ``hps_tsm`` in one piece (its default parameters), the output cut or padded like ``tsm.warp``."""
    import libtsm

    n_out = int(round(time_map[-1, 1] * SR))
    out = libtsm.hps_tsm(y.astype(np.float64), tsm.anchors_from_time_map(time_map, SR, len(y), n_out), Fs=SR)[:, 0]
    return np.pad(out, (0, max(0, n_out - len(out))))[:n_out].astype(np.float32)


def _strict(raw):
    keep = np.concatenate([[True], (np.diff(raw[:, 0]) > 0) & (np.diff(raw[:, 1]) > 0)])
    return raw[keep][:: max(1, int(sync.FEATURE_RATE / 10))]


if __name__ == "__main__":
    main()
