"""The whole alignment: features, MrMsDTW, time map, skips and repeats, onset refinement, confidence.
Notebook: ``04_music_synchronization``.
"""
from __future__ import annotations

import contextlib
import io as _io

import numpy as np

from .audio_features import (FEATURE_RATE, SYNC_SR, _activity, _alignment_features, _level_db, _shift_pitches,
                             _tuned_chroma, chroma_shift)
from .diagnostics import confidence
from .jumps import realign_jumps, skips_and_repeats
from .timemap import _note_offs, _timed, map_times, path_to_time_map, refine_with_onsets

__all__ = ["align"]


def align(reference: np.ndarray, performance: np.ndarray, *, sr: int = SYNC_SR, anchor_step: float = 0.5,
          handle_rests: bool = True, mixture: np.ndarray | None = None, return_details: bool = False,
          refine: bool = True, realign: bool = True):
    """Align a performance with a reference recording.

    Notebook: ``04_music_synchronization``.

    Parameters
    ----------
    reference : np.ndarray [shape=(n,)]
        E.g. the separated piano of the concerto recording, mono at :data:`SYNC_SR`
        (channels, ``(channels, n)``, are averaged).
    performance : np.ndarray [shape=(m,)]
        E.g. the user's piano recording, mono at :data:`SYNC_SR`.
    anchor_step : float
        Seconds between anchors of the returned map.
    handle_rests : bool
        Interpolate through passages where the performance is silent (the piano rests).
    mixture : np.ndarray [shape=(n,)], optional
        The full concerto recording when ``reference`` is its separated piano: the
        confidence is then measured on the mixture's chroma, whose harmony (piano and
        orchestra together) tells "same piece" from "another piece" far more reliably
        than an imperfectly separated piano does.
    return_details : bool
        Also return a dict with the raw path, features, confidence, chroma shift and ``played_s``
        (the pianist's first and last note as ``[reference_s, performance_s]`` pairs).
    refine : bool
        Shift the anchors to line up the onsets around them (:func:`refine_with_onsets`).
    realign : bool
        Where the map shows a skip or a repeat (:func:`skips_and_repeats`), re-align around it with a
        path that jumps in one step (:func:`realign_jumps`): DTW alone jumps where that is cheapest.

    Returns
    -------
    time_map : np.ndarray [shape=(K, 2)]
        Strictly increasing ``[reference_s, performance_s]`` from (0, 0) to both ends.
    details : dict, only with ``return_details``

    Examples
    --------
    >>> from concerto_nb import data, io, sync
    >>> ref, sr = io.load_audio(data.demo_path("piano"), sr=sync.SYNC_SR)
    >>> perf, _ = io.load_audio(data.demo_path("pianist"), sr=sync.SYNC_SR)
    >>> time_map = sync.align(ref, perf)
    >>> time_map[0].tolist()
    [0.0, 0.0]
    """
    from synctoolbox.dtw.mrmsdtw import sync_via_mrmsdtw
    from synctoolbox.dtw.utils import make_path_strictly_monotonic, shift_chroma_vectors
    from synctoolbox.feature.chroma import quantized_chroma_to_CENS

    from .._arrays import check_audio

    if sr != SYNC_SR:
        raise ValueError(f"align expects {SYNC_SR} Hz audio, got {sr}")
    reference = check_audio(reference, name="reference", mono=True)
    performance = check_audio(performance, name="performance", mono=True)
    mixture = None if mixture is None else check_audio(mixture, name="mixture", mono=True)
    for name, y in (("reference", reference), ("performance", performance)):
        if len(y) < 2 * sr:
            raise ValueError(f"{name} is shorter than 2 s; nothing to align")
    from concurrent.futures import ThreadPoolExecutor

    # the filterbanks (scipy's sosfilt) release the GIL: both recordings' features, and the mixture's
    # chroma, on two cores at once (2.2x faster; the outer redirect keeps stdout right whatever
    # order the threads' own redirects unwind in)
    with contextlib.redirect_stdout(_io.StringIO()), ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(_alignment_features, reference, sr), pool.submit(_alignment_features, performance, sr)]
        mixture_chroma = pool.submit(_tuned_chroma, mixture, sr) if return_details and mixture is not None else None
        (chroma_1, dlnco_1, flux_1), (chroma_2, dlnco_2, flux_2) = (job.result() for job in jobs)
        mixture_chroma = mixture_chroma.result() if mixture_chroma is not None else None
    cens_1 = quantized_chroma_to_CENS(chroma_1, 201, 50, FEATURE_RATE)[0]
    cens_2 = quantized_chroma_to_CENS(chroma_2, 201, 50, FEATURE_RATE)[0]
    shift = chroma_shift(cens_1, cens_2)
    chroma_2 = shift_chroma_vectors(chroma_2, shift)
    dlnco_2 = shift_chroma_vectors(dlnco_2, shift)
    flux_2 = _shift_pitches(flux_2, shift)
    with contextlib.redirect_stdout(_io.StringIO()):
        path = sync_via_mrmsdtw(
            f_chroma1=chroma_1, f_onset1=dlnco_1, f_chroma2=chroma_2, f_onset2=dlnco_2,
            input_feature_rate=FEATURE_RATE, step_weights=np.array([1.5, 1.5, 2.0]), threshold_rec=10**6,
        )
    path = make_path_strictly_monotonic(path).astype(int)
    # reference frames mapped to silence in the performance carry no timing information
    perf_level = _level_db(performance, sr, chroma_2.shape[1])
    perf_active = _activity(perf_level)
    timed = _timed(perf_active, dlnco_2, perf_level) if handle_rests else None
    note_offs = _note_offs(timed, perf_level) if handle_rests else None
    durations = len(reference) / sr, len(performance) / sr

    def to_time_map(path):
        keep = None
        if handle_rests:
            keep = np.zeros(chroma_1.shape[1], dtype=bool)
            keep[path[0]] = timed[np.minimum(path[1], len(timed) - 1)]
        return path_to_time_map(path, *durations, anchor_step=anchor_step, keep=keep, note_offs=note_offs), keep

    time_map, keep = to_time_map(path)
    jumps = skips_and_repeats(time_map, played_s=_played_s(time_map, keep, path, perf_active)) if realign else []
    if jumps:
        path = realign_jumps(path, jumps, (chroma_1, dlnco_1), (chroma_2, dlnco_2))
        time_map, keep = to_time_map(path)
    on_path = np.minimum(path[1], len(perf_active) - 1)
    active_on_path = perf_active[on_path]
    if refine:
        time_map = refine_with_onsets(time_map, flux_1, flux_2, keep=keep)
    if not return_details:
        return time_map
    chroma_conf = chroma_1 if mixture_chroma is None else mixture_chroma
    overall, per_second = confidence(chroma_conf, chroma_2, path, active=active_on_path)
    details = {
        "path": path,
        "played_s": _played_s(time_map, keep, path, perf_active),
        "chroma_reference": chroma_1,
        "chroma_performance": chroma_2,
        "chroma_shift": shift,
        "confidence": overall,
        "confidence_per_second": per_second,
    }
    return time_map, details


def _played_s(time_map: np.ndarray, keep: np.ndarray | None, path: np.ndarray, perf_active: np.ndarray) -> list:
    """The pianist's first and last note on the map as ``[reference_s, performance_s]`` pairs (rests at
    either end have no anchors)."""
    active_on_path = perf_active[np.minimum(path[1], len(perf_active) - 1)]
    played = np.flatnonzero(keep) / FEATURE_RATE if keep is not None and keep.any() else \
        path[0][active_on_path] / FEATURE_RATE if active_on_path.any() else path[0][[0, -1]] / FEATURE_RATE
    return [[float(r), float(map_times(time_map, r))] for r in (played[0], played[-1])]
