"""The whole play-along: concerto recording + pianist's recording -> orchestra at the pianist's tempo, mixed.

    concerto ──separate──> piano estimate ──┐
        │                                   ├─align──> time map ──┐
        │                    pianist ───────┘                     │
        └───────────────> orchestra estimate ──────warp───────────┴─> orchestra_warped ──mix(pianist)──> mix
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path


from . import _signals, io, mixing, separation, sync, tsm

__all__ = ["OUTPUTS", "LowConfidenceError", "playalong"]

OUTPUTS = ("orchestra_warped.wav", "mix.wav", "time_map.csv", "report.json")
#: An octave between the separated piano and the pianist is reported when its profile correlation beats the
#: unshifted one by this much (tests/test_reliability.py: an octave-low concerto 0.36, the demo 0 as is).
OCTAVE_MARGIN = 0.2
#: A pianist this many cents or more from the concerto gets the orchestra moved to their pitch: about the smallest
#: mistuning heard between two instruments, and above the tuning estimate's few cents of error
#: (benchmarks/pitch_shift.py).
MIN_RETUNE_CENTS = 5.0


class LowConfidenceError(ValueError):
    """The pianist's recording does not seem to be the concerto's piece.

    Notebook: ``00_overview``.
    """


class _Stages:
    """Times each stage and shows a progress bar over the stages."""

    def __init__(self, names, progress: bool):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=len(names), desc="play-along", unit="stage", disable=not progress, leave=False)
        self.timings = {}

    def run(self, name, fn, *args, **kwargs):
        self.bar.set_postfix_str(name)
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        self.timings[name] = round(time.perf_counter() - t0, 2)
        self.bar.update(1)
        _signals.check()  # a Ctrl-C or SIGTERM that a finaliser dropped stops the run here
        return result

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
        return False


def playalong(concerto, pianist, out_dir, *, force: bool = False, separation_method: str = "model",
              tsm_method: str = "hps", balance_db: float = -3.0, reverb: float = 0.25, progress: bool = True,
              accept_low_confidence: bool = False, keep_pitch: bool = False, adapt: bool = False,
              informed: bool = True) -> dict:
    """Make the play-along: separate, align, warp, mix; write the outputs and a report.

    Notebook: ``00_overview``.

    Parameters
    ----------
    concerto : path
        Recording of the concerto (piano and orchestra), any format, rate and channels.
    pianist : path
        The user's recording of the piano part.
    out_dir : path
        Gets ``orchestra_warped.wav``, ``mix.wav``, ``time_map.csv`` and ``report.json``,
        at the pianist recording's sample rate.
    force : bool
        Overwrite existing outputs (otherwise they are checked before any work starts). The four
        outputs appear together at the end or not at all (:class:`concerto_nb.io.OutputFolder`).
    separation_method, tsm_method : str
        See :func:`concerto_nb.separation.separate` and :func:`concerto_nb.tsm.warp`.
    balance_db, reverb : float
        See :func:`concerto_nb.mixing.mix`.
    progress : bool
        Show progress bars (stages, and chunks within the long ones).
    accept_low_confidence : bool
        Make the mix even when the alignment confidence says the recordings are not the same piece.
    keep_pitch : bool
        Leave the orchestra at the concerto's pitch. By default, a pianist who plays transposed (up to a
        tritone) or tuned away from the concerto (a home piano rarely sits at A = 440 Hz) by
        :data:`MIN_RETUNE_CENTS` or more gets the orchestra shifted to their pitch
        (:func:`concerto_nb.sync.pitch_difference_cents`, then :func:`concerto_nb.tsm.warp`'s ``semitones``);
        the report's ``tuning`` says by how much, and a warning says so.
    adapt : bool
        Fine-tune the separation network on the concerto's own piano-only and orchestra-only passages first
        (:func:`concerto_nb.adaptation.adapt`: one to four minutes). Worth it on real recordings, whose pianos,
        sections and halls the network never heard (``benchmarks/real_mixes.py --tta``); the report's
        ``adaptation`` gives the passages and steps, or why it was skipped or rejected.
    informed : bool
        With ``separation_method="model"``: once aligned, separate the concerto again with the pianist's recording
        as side information (:func:`concerto_nb.separation.separate`'s ``pianist``, :mod:`concerto_nb.informed`),
        and warp that orchestra. The report's ``informed_separation`` says whether it was used. ``False``: the
        blind separation's orchestra.

    Raises
    ------
    LowConfidenceError
        Alignment confidence below :data:`concerto_nb.sync.MIN_CONFIDENCE` (nothing is written).
    ValueError
        A setting out of range, or recordings that cannot make a play-along (a pianist recording more
        than :data:`concerto_nb.tsm.MAX_STRETCH` times as long as the concerto, a steady tone or noise),
        checked before separation; :class:`concerto_nb.io.AudioError` for unreadable files.

    Returns
    -------
    report : dict
        What ``report.json`` holds: inputs, stage timings (s), alignment confidence, tuning,
        loudness levels, output paths, warnings.
    """
    mixing.check_settings(balance_db=balance_db, reverb=reverb)
    if separation_method not in separation.METHODS or tsm_method not in tsm.METHODS:
        raise ValueError(f"separation_method must be one of {separation.METHODS}, tsm_method one of {tsm.METHODS}")
    if adapt and separation_method != "model":
        raise ValueError("test-time adaptation fine-tunes the network: it needs separation_method 'model'")
    outputs = io.OutputFolder(out_dir, OUTPUTS, force=force, inputs=(concerto, pianist))
    informed = informed and separation_method == "model"
    stages = _Stages(["load", *(["adapt"] if adapt else []), "separate", "align",
                      *(["separate informed"] if informed else []), "warp", "mix", "write"], progress)
    with outputs, stages:
        (y_concerto, sr_c), (y_pianist, sr) = stages.run(
            "load", lambda: (io.load_audio(concerto, mono=False), io.load_audio(pianist, mono=False))
        )
        durations = {"concerto": round(y_concerto.shape[-1] / sr_c, 3), "pianist": round(y_pianist.shape[-1] / sr, 3)}
        _check_inputs(concerto, pianist, y_concerto, sr_c, y_pianist, sr)
        net, adaptation_report = None, None
        if adapt:
            from . import adaptation

            with warnings.catch_warnings():  # a skipped or rejected adaptation goes to the report's warnings
                warnings.simplefilter("ignore")
                net, info = stages.run("adapt", adaptation.adapt, y_concerto, sr_c, progress=progress)
            adaptation_report = {"steps": info["steps"], "seconds": info["seconds"],
                                 **{k: [[round(a, 2), round(b, 2)] for a, b in info[k]]
                                    for k in ("piano_only", "orchestra_only")},
                                 **{k: info[k] for k in ("skipped", "rejected") if k in info}}
        piano_est, orchestra_est = stages.run("separate", separation.separate, y_concerto, sr_c,
                                              method=separation_method, progress=progress, net=net)
        # only mono 22 kHz copies are needed from here on: free the full-rate ones (long recordings)
        ref = io.resample(io.to_mono(piano_est), sr_c, sync.SYNC_SR)
        mixture = io.resample(io.to_mono(y_concerto), sr_c, sync.SYNC_SR)
        del piano_est
        if not informed:
            del y_concerto

        perf = io.resample(io.to_mono(y_pianist), sr, sync.SYNC_SR)
        time_map, details = stages.run("align", sync.align, ref, perf, mixture=mixture, return_details=True)
        if details["confidence"] < sync.MIN_CONFIDENCE and not accept_low_confidence:
            raise LowConfidenceError(sync.diagnostics.not_the_piece(details["confidence"], pianist, concerto)
                                     + " (use --accept-low-confidence to mix anyway)")
        fit = sync.diagnostics.how_the_recording_fits(time_map, details, concerto=concerto, pianist=pianist)
        octaves, margin = sync.pitch_offset(ref, perf)
        if abs(abs(octaves) - 12) <= 1 and margin > OCTAVE_MARGIN:
            fit["warnings"].insert(0, sync.diagnostics.octave_apart(octaves, concerto, sr_c))
        cents = details["pitch_difference_cents"]
        shift_cents = cents if abs(cents) >= MIN_RETUNE_CENTS and not keep_pitch else 0.0
        if abs(cents) >= MIN_RETUNE_CENTS:
            fit["warnings"].append(sync.diagnostics.out_of_tune(cents, shifted=bool(shift_cents)))
        report_warnings = fit["warnings"]
        if adaptation_report and ("skipped" in adaptation_report or "rejected" in adaptation_report):
            why = adaptation_report.get("skipped") or adaptation_report["rejected"]
            report_warnings.append(f"test-time adaptation {'skipped' if 'skipped' in adaptation_report else 'rejected'}"
                                   f": {why}; the shipped network separated the concerto")
        for msg in report_warnings:
            warnings.warn(msg, stacklevel=2)
        del ref, mixture, perf
        if details["jumps"]:  # the orchestra goes back (restart) or ahead (skip) with the pianist
            time_map = sync.time_map_with_jumps(time_map, details["jumps"])
        if informed:  # the aligned pianist tells the network how loud the concerto's piano is, bin by bin
            del orchestra_est
            _, orchestra_est = stages.run("separate informed", separation.separate, y_concerto, sr_c, net=net,
                                          pianist=y_pianist, pianist_sr=sr, time_map=time_map, pianist_cents=cents,
                                          progress=progress)
            del y_concerto
        orchestra_est = io.resample(orchestra_est, sr_c, sr)
        orchestra_warped = stages.run("warp", tsm.warp, orchestra_est, sr, time_map, method=tsm_method,
                                      semitones=shift_cents / 100.0, progress=progress)
        # the map ends with the pianist's recording at the alignment's rate: at theirs, a sample more at most
        orchestra_warped = orchestra_warped[..., : y_pianist.shape[-1]]
        del orchestra_est
        mixed, levels = stages.run("mix", mixing.mix, y_pianist, orchestra_warped, sr, balance_db=balance_db,
                                   reverb=reverb)

        # where the pianist stopped and the orchestra waits (sync.align's stepped-over pauses)
        pauses = [{"reference_s": round(float(r), 2), "performance_s": [round(float(a), 2), round(float(b), 2)]}
                  for r, a, b in details["pauses"]]
        # where the note pairing was unsure: the orchestra may be a note or a breath off (sync.unsure_passages)
        unsure = [{"reference_s": [round(float(r0), 2), round(float(r1), 2)],
                   "performance_s": [round(float(p0), 2), round(float(p1), 2)]}
                  for r0, r1, p0, p1 in details["unsure_passages"]]
        report = {
            "concerto": str(concerto),
            "pianist": str(pianist),
            "sample_rate": sr,
            "duration_s": durations,
            "separation_method": separation_method,
            "informed_separation": informed,
            "tsm_method": tsm_method,
            "adaptation": adaptation_report,
            "timings_s": stages.timings,
            "alignment": {
                "confidence": round(details["confidence"], 3),
                "min_confidence": sync.MIN_CONFIDENCE,
                "low_confidence_share": round(fit["low_confidence_share"], 3),
                "implausible_tempo_share": round(fit["implausible_tempo_share"], 3),
                "skips_and_repeats": fit["skips_and_repeats"],
                "pauses": pauses,
                "unsure_passages": unsure,
                "jumps": [{"kind": j["kind"], "performance_s": round(j["performance_s"], 2),
                           "reference_s": [round(r, 2) for r in j["reference_s"]]} for j in details["jumps"]],
                "uneven_ends": fit["uneven_ends"],
                "chroma_shift": details["chroma_shift"],
                "pitch_offset_semitones": octaves,
                "anchors": int(len(time_map)),
            },
            "tuning": {
                "concerto_cents": details["tuning_cents"][0],
                "pianist_cents": details["tuning_cents"][1],
                "pianist_above_concerto_cents": round(cents, 1),
                "orchestra_shifted_cents": round(shift_cents, 1),
            },
            "levels": levels,
            "outputs": {name: str(p) for name, p in outputs.targets.items()},
            "warnings": report_warnings,
        }

        def _write():
            io.save_audio(outputs.path("orchestra_warped.wav"), orchestra_warped, sr)
            io.save_audio(outputs.path("mix.wav"), mixed, sr)
            io.save_time_map(outputs.path("time_map.csv"), time_map)

        stages.run("write", _write)
        io.atomic_write(outputs.path("report.json"),
                        lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2) + "\n"))
    return report


def _check_inputs(concerto, pianist, y_concerto, sr_c, y_pianist, sr):
    """What can be told from the two recordings alone, before any work: one ``ValueError`` each."""
    concerto_s, pianist_s = y_concerto.shape[-1] / sr_c, y_pianist.shape[-1] / sr
    if pianist_s > tsm.MAX_STRETCH * concerto_s:
        raise ValueError(f"{pianist} lasts {pianist_s:.1f} s, more than {tsm.MAX_STRETCH:.0f}x the "
                         f"{concerto_s:.1f} s of {concerto}: the orchestra cannot be slowed down that far")
    for path, y, rate in ((concerto, y_concerto, sr_c), (pianist, y_pianist, sr)):
        variety = sync.chroma_variety(io.to_mono(y), rate)
        if variety < sync.MIN_CHROMA_VARIETY:
            raise ValueError(f"{path}: its pitch content never changes (a steady tone or noise?); "
                             "it does not sound like music")
