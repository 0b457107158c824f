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

import numpy as np

from . import io, mixing, separation, sync, tsm

__all__ = ["OUTPUTS", "LowConfidenceError", "playalong"]

OUTPUTS = ("orchestra_warped.wav", "mix.wav", "time_map.csv", "report.json")


class LowConfidenceError(ValueError):
    """The pianist's recording does not seem to be the concerto's piece."""


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
        return result

    def close(self):
        self.bar.close()


def playalong(concerto, pianist, out_dir, force: bool = False, separation_method: str = "model",
              tsm_method: str = "hps", balance_db: float = -3.0, reverb: float = 0.25, progress: bool = True,
              accept_low_confidence: bool = False) -> dict:
    """Make the play-along: separate, align, warp, mix; write the outputs and a report.

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
        Overwrite existing outputs (otherwise they are checked before any work starts).
    separation_method, tsm_method : str
        See :func:`concerto_nb.separation.separate` and :func:`concerto_nb.tsm.warp`.
    balance_db, reverb : float
        See :func:`concerto_nb.mixing.mix`.
    progress : bool
        Show progress bars (stages, and chunks within the long ones).
    accept_low_confidence : bool
        Make the mix even when the alignment confidence says the recordings are not the same piece.

    Raises
    ------
    LowConfidenceError
        Alignment confidence below :data:`concerto_nb.sync.MIN_CONFIDENCE` (nothing is written).

    Returns
    -------
    report : dict
        What ``report.json`` holds: inputs, stage timings (s), alignment confidence,
        loudness levels, output paths, warnings.
    """
    out_dir = Path(out_dir)
    paths = {name: io.check_output(out_dir / name, force, inputs=(concerto, pianist)) for name in OUTPUTS}
    stages = _Stages(["load", "separate", "align", "warp", "mix", "write"], progress)
    try:
        (y_concerto, sr_c), (y_pianist, sr) = stages.run(
            "load", lambda: (io.load_audio(concerto, mono=False), io.load_audio(pianist, mono=False))
        )
        piano_est, orchestra_est = stages.run("separate", separation.separate, y_concerto, sr_c,
                                              method=separation_method, progress=progress)
        durations = {"concerto": round(y_concerto.shape[-1] / sr_c, 3), "pianist": round(y_pianist.shape[-1] / sr, 3)}
        # only mono 22 kHz copies are needed from here on: free the full-rate ones (long recordings)
        ref = io.resample(io.to_mono(piano_est), sr_c, sync.SYNC_SR)
        mixture = io.resample(io.to_mono(y_concerto), sr_c, sync.SYNC_SR)
        del piano_est, y_concerto

        def _align():
            perf = io.resample(io.to_mono(y_pianist), sr, sync.SYNC_SR)
            return sync.align(ref, perf, mixture=mixture, return_details=True)

        time_map, details = stages.run("align", _align)
        report_warnings = []
        low_share = sync.low_confidence_share(details["confidence_per_second"])
        implausible = sync.implausible_tempo_share(time_map)
        if details["confidence"] < sync.MIN_CONFIDENCE:
            msg = (f"alignment confidence {details['confidence']:.2f} is below {sync.MIN_CONFIDENCE}: "
                   f"{Path(pianist).name} does not seem to be the piano part of {Path(concerto).name}")
            if not accept_low_confidence:
                raise LowConfidenceError(msg + " (use --accept-low-confidence to mix anyway)")
            report_warnings.append(msg)
        elif low_share > sync.MAX_LOW_CONFIDENCE_SHARE or implausible > sync.MAX_IMPLAUSIBLE_TEMPO_SHARE:
            msg = (f"{low_share:.0%} of the seconds match poorly and {implausible:.0%} of the piece would need a "
                   "tempo change beyond 3x: the pianist may play only part of the piece, or skip or repeat "
                   "passages; check time_map.csv")
            report_warnings.append(msg)
        ends = sync.uneven_ends(time_map, details["played_s"])
        for end in ends:
            have, needed = end["performance_s"], end["needed_s"]
            where = "before your first note" if end["kind"] == "lead-in" else "after your last note"
            part = "introduction" if end["kind"] == "lead-in" else "ending"
            msg = (f"your recording has {have:.1f} s {where}; the concerto's {part} takes about {needed:.1f} s at "
                   f"your tempo, so the orchestra plays it ")
            if have < needed:
                msg += f"squeezed: leave about {needed:.0f} s there (count the {part} through)"
            else:
                msg += f"{have / max(needed, 0.1):.1f}x slower: trim the silence there to about {needed:.0f} s"
            report_warnings.append(msg)
        jumps = sync.skips_and_repeats(time_map, played_s=details["played_s"])
        for jump in jumps:
            (r0, r1), (p0, p1) = jump["reference_s"], jump["performance_s"]
            msg = (f"the pianist seems to skip {r0:.1f}-{r1:.1f} s of the concerto (at {p0:.1f} s of their recording)"
                   if jump["kind"] == "skip" else
                   f"the pianist seems to repeat a passage: {p0:.1f}-{p1:.1f} s of their recording match "
                   f"only {r0:.1f}-{r1:.1f} s of the concerto")
            msg += "; the orchestra is squeezed or held there"
            report_warnings.append(msg)
        for msg in report_warnings:
            warnings.warn(msg, stacklevel=2)
        del ref, mixture
        orchestra_est = io.resample(orchestra_est, sr_c, sr)
        orchestra_warped = stages.run("warp", tsm.warp, orchestra_est, sr, time_map, method=tsm_method,
                                      progress=progress)
        del orchestra_est
        mixed, levels = stages.run("mix", mixing.mix, y_pianist, orchestra_warped, sr, balance_db=balance_db,
                                   reverb=reverb)

        def _write():
            io.save_audio(paths["orchestra_warped.wav"], orchestra_warped, sr, force)
            io.save_audio(paths["mix.wav"], mixed, sr, force)
            io.save_time_map(paths["time_map.csv"], time_map, force)

        stages.run("write", _write)
    finally:
        stages.close()
    report = {
        "concerto": str(concerto),
        "pianist": str(pianist),
        "sample_rate": sr,
        "duration_s": durations,
        "separation_method": separation_method,
        "tsm_method": tsm_method,
        "timings_s": stages.timings,
        "alignment": {
            "confidence": round(details["confidence"], 3),
            "min_confidence": sync.MIN_CONFIDENCE,
            "low_confidence_share": round(low_share, 3),
            "implausible_tempo_share": round(implausible, 3),
            "skips_and_repeats": jumps,
            "uneven_ends": ends,
            "chroma_shift": details["chroma_shift"],
            "anchors": int(len(time_map)),
        },
        "levels": levels,
        "outputs": {name: str(p) for name, p in paths.items()},
        "warnings": report_warnings,
    }
    io.atomic_write(paths["report.json"], lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2) + "\n"))
    return report
