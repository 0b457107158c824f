"""The whole alignment: features, MrMsDTW, time map, skips and repeats, onset refinement, confidence.
Notebook: ``04_music_synchronization``.
"""
from __future__ import annotations

import contextlib
import io as _io

import numpy as np

from .audio_features import (FEATURE_RATE, SYNC_SR, _activity, _alignment_features, _frames_between_pauses, _level_db,
                             _shift_pitches, _silences, _tuned_chroma, chroma_shift,
                             pitch_difference_cents)
from .diagnostics import confidence
from .jumps import CANDIDATE_RATIO, _mrmsdtw, realign_jumps, replay_anchors, skips_and_repeats
from .note_matching import snap_to_onsets
from .timemap import (MIN_PAUSE_S, _hold_through_pauses, _note_offs, _onset_peaks, _place_pauses, _strictly_increasing,
                      _timed, _without_pauses, map_times, path_to_time_map, refine_with_onsets)

__all__ = ["align"]

#: A jump of this many reference seconds or more splits the map into takes paired note by note each on its own:
#: the fermatas of `benchmarks/expressive.py` and Beethoven 5 read as restarts of 0.6 s, the practice takes'
#: restarts go back 8 s.
MIN_JUMP_FOR_NOTES_S = 1.0

#: A silence of the pianist this long is a rest in their part, not a pause (``_silences``' ``max_s``): the jumps'
#: re-alignment looks for a restart after it and takes no tempo from it (``benchmarks/practice_takes.py``).
MIN_REST_S = 5.0

#: Seconds of concerto music, at the pianist's tempo, by which the silence before their first note (after their last)
#: may fall short of what the concerto plays there before the recording counts as starting (ending) inside the
#: concerto, a passage practised on its own (``benchmarks/passage_takes.py``). Between 1.5x and 5 s short the map
#: squeezes the concerto there and the report asks for a longer silence (:func:`~concerto_nb.sync.uneven_ends`).
MIN_UNPLAYED_S = 5.0
#: Reference seconds kept beyond each end of the passage a pianist's recording covers (:func:`_played_passage`
#: places the ends within a second or two); twice as many seconds of the recording's own noise floor are added at
#: that end for DTW to map them onto: pinned to the recording's own ends, DTW squeezed them into its first or last
#: frames and pulled BWV 1055's last notes 0.6-1.1 s late there (``benchmarks/passage_takes.py``).
PASSAGE_MARGIN_S = 2.0


def align(reference: np.ndarray, performance: np.ndarray, *, sr: int = SYNC_SR, anchor_step: float = 0.5,
          handle_rests: bool = True, mixture: np.ndarray | None = None, return_details: bool = False,
          refine: bool = True, realign: bool = True, step_over_pauses: bool = True):
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
        Also return a dict with the raw path, features, confidence, ``jumps`` (where the pianist went back or
        skipped ahead, as :func:`~concerto_nb.sync.time_map_with_jumps` takes them; a skip at the recording's
        very start or end where it covers only a passage of the reference), chroma shift,
        ``tuning_cents`` (the two recordings' tunings), ``pitch_difference_cents`` (:func:`pitch_difference_cents`),
        ``played_s`` (the pianist's first and last note as ``[reference_s, performance_s]`` pairs) and ``pauses``
        (``[reference_s, performance start_s, end_s]`` of each pause: stepped over, or held through) and
        ``unsure_passages`` (``[reference start_s, end_s, performance start_s, end_s]`` where the note pairing
        was unsure, :func:`unsure_passages`: the map may be a note or a breath off there).
    refine : bool
        Shift the anchors to line up the onsets around them (:func:`refine_with_onsets`), then put the map
        through the two recordings' onsets paired note by note (:func:`snap_to_onsets`), each take on its own
        where the pianist jumped by :data:`MIN_JUMP_FOR_NOTES_S` or more, and a restart's replay too.
    realign : bool
        Where the map's tempo leaves ``[1 / CANDIDATE_RATIO, CANDIDATE_RATIO]`` (:func:`skips_and_repeats`), and at
        the end of each of the pianist's rests of :data:`MIN_REST_S` or more, re-align around it with a path that
        jumps in one step (:func:`realign_jumps`), and align again with MrMsDTW from where it lands: DTW alone jumps
        where that is cheapest.
    step_over_pauses : bool
        DTW sees the performance without the inside of its pauses (silences of 0.4-5 s where the reference
        plays on: breaths, a stop after a fermata), and the path steps over them: the reference stands still
        while the pianist pauses (``docs/alignment.md``). Then, where the finished map still crawls through a
        silence of :data:`~concerto_nb.sync.timemap.MIN_PAUSE_S` or more (a pause DTW spread over the notes
        around it), the orchestra holds there instead (:func:`~concerto_nb.sync.timemap._hold_through_pauses`).

    Returns
    -------
    time_map : np.ndarray [shape=(K, 2)]
        Strictly increasing ``[reference_s, performance_s]`` from (0, 0) to both ends. A performance of one
        passage of the reference (:data:`MIN_UNPLAYED_S`) is aligned with that passage alone; the map crosses the
        rest of the reference in a frame at either end, and the skips there in ``details["jumps"]`` cut it off.
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
    from synctoolbox.dtw.utils import shift_chroma_vectors
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
        (chroma_1, dlnco_1, flux_1, *tunings_1), (chroma_2, dlnco_2, flux_2, *tunings_2) = (j.result() for j in jobs)
        mixture_chroma = mixture_chroma.result() if mixture_chroma is not None else None
    cens_1 = quantized_chroma_to_CENS(chroma_1, 201, 50, FEATURE_RATE)[0]
    cens_2 = quantized_chroma_to_CENS(chroma_2, 201, 50, FEATURE_RATE)[0]
    shift = chroma_shift(cens_1, cens_2)
    chroma_2 = shift_chroma_vectors(chroma_2, shift)
    dlnco_2 = shift_chroma_vectors(dlnco_2, shift)
    flux_2 = _shift_pitches(flux_2, shift)
    perf_level = _level_db(performance, sr, chroma_2.shape[1])
    ref_level = _level_db(reference, sr, chroma_1.shape[1])
    perf_active = _activity(perf_level)  # where the pianist plays (gaps under 1 s between notes closed)
    performance_features = chroma_2, dlnco_2, flux_2, perf_level, perf_active
    options = dict(anchor_step=anchor_step, handle_rests=handle_rests, refine=refine, realign=realign,
                   step_over_pauses=step_over_pauses)
    ref_s, perf_s = len(reference) / sr, len(performance) / sr

    def aligned(start: float, end: float, pads: tuple = (0, 0)) -> tuple:
        """Steps 3-8 of ``docs/alignment.md`` on the reference from ``start`` to ``end`` s, its seconds and frames
        on the whole reference's axis; ``pads`` frames of the performance's noise floor before and after it."""
        crop = slice(int(round(start * FEATURE_RATE)), int(round(end * FEATURE_RATE)) if end < ref_s else None)
        found = _align_frames((chroma_1[:, crop], dlnco_1[:, crop], flux_1[:, crop], ref_level[crop]),
                              _padded(performance_features, *pads), (end - start, perf_s + sum(pads) / FEATURE_RATE),
                              **options)
        return _without_padding(_moved(found, reference_s=start), pads, perf_s)

    # a recording of one passage of the concerto is aligned with that passage only: from (0, 0) to the two ends,
    # DTW would squeeze the concerto before and after it into the pianist's first and last second
    span = _played_passage((cens_1, chroma_1), (shift_chroma_vectors(cens_2, shift), chroma_2), perf_active,
                           _onset_peaks(flux_2), (ref_s, perf_s))
    if span is None:
        time_map, path, pauses, jumps, unsure, played_s, active_on_path = aligned(0.0, ref_s)
    else:  # the rest of the reference in a frame at either end, and a skip there
        pad = int(round(2 * PASSAGE_MARGIN_S * FEATURE_RATE))  # the margin, and as much for the ends' error
        time_map, path, pauses, jumps, unsure, played_s, active_on_path = aligned(
            *span, pads=(pad if span[0] > 0 else 0, pad if span[1] < ref_s else 0))
        time_map, jumps = _with_unplayed_ends(time_map, jumps, ref_s, played_s)
    if not return_details:
        return time_map
    chroma_conf = chroma_1 if mixture_chroma is None else mixture_chroma
    overall, per_second = confidence(chroma_conf, chroma_2, path, active=active_on_path)
    details = {
        "path": path,
        "played_s": played_s,
        "pauses": pauses,
        "unsure_passages": unsure,
        "chroma_reference": chroma_1,
        "chroma_performance": chroma_2,
        "jumps": jumps,
        "chroma_shift": shift,
        "tuning_cents": (tunings_1[1], tunings_2[1]),
        "pitch_difference_cents": _pitch_difference(shift, tunings_1, tunings_2),
        "confidence": overall,
        "confidence_per_second": per_second,
    }
    return time_map, details


def _align_frames(reference_features: tuple, performance_features: tuple, durations: tuple, *, anchor_step: float,
                  handle_rests: bool, refine: bool, realign: bool, step_over_pauses: bool) -> tuple:
    """:func:`align` after the features (``docs/alignment.md``, steps 3-8): ``(chroma, dlnco, flux, level_db)`` of
    the reference, the same and the activity of the performance (both at :data:`FEATURE_RATE`, the performance's
    moved by the chroma shift), the two durations (s). Returns the time map, the path, the pauses, the jumps, the
    unsure passages, the first and last note played, and which path points fall where the pianist plays."""
    chroma_1, dlnco_1, flux_1, ref_level = reference_features
    chroma_2, dlnco_2, flux_2, perf_level, perf_active = performance_features

    def dtw(seen):
        """MrMsDTW on the performance frames ``seen``; the path counts performance frames in ``seen``."""
        return _mrmsdtw((chroma_1, dlnco_1), (chroma_2[:, seen], dlnco_2[:, seen]))

    onset_frames_ref = _onset_peaks(flux_1)  # the reference's note onsets, for the pause checks
    seen = np.arange(chroma_2.shape[1])
    path_seen = dtw(seen)
    if step_over_pauses:
        pauses_found = _reference_plays_on(_silences(perf_level), path_seen, ref_level, onset_frames_ref)
        if pauses_found:  # again, stepping over them; kept where the music around them then matches better
            stepped_seen = _frames_between_pauses(pauses_found, chroma_2.shape[1])
            stepped = dtw(stepped_seen)
            kept = _matching_better(pauses_found, path_seen, np.stack([stepped[0], stepped_seen[stepped[1]]]),
                                    chroma_1, chroma_2, perf_active)
            if kept == pauses_found:
                seen, path_seen = stepped_seen, stepped
            elif kept:
                seen = _frames_between_pauses(kept, chroma_2.shape[1])
                path_seen = dtw(seen)
    # reference frames mapped to silence in the performance carry no timing information
    timed = _timed(perf_active, dlnco_2, perf_level) if handle_rests else None
    note_offs = _note_offs(timed, perf_level) if handle_rests else None
    sound_ends = _sound_ends(_activity(ref_level), perf_active, durations) if handle_rests else None

    def to_time_map(path_seen):
        path = np.stack([path_seen[0], seen[path_seen[1]]])  # a pause is one step of this path
        pauses = _pauses_stepped_over(path, _cuts(seen))
        keep = None
        if handle_rests:
            keep = np.zeros(chroma_1.shape[1], dtype=bool)
            keep[path[0]] = timed[np.minimum(path[1], len(timed) - 1)]
        time_map = path_to_time_map(path, *durations, anchor_step=anchor_step, keep=keep, note_offs=note_offs,
                                    pauses=pauses[:, 1:], sound_ends=sound_ends)
        return time_map, keep, path, pauses

    time_map, keep, path, pauses = to_time_map(path_seen)
    passages = skips_and_repeats(time_map, max_ratio=CANDIDATE_RATIO, pauses=pauses,
                                 played_s=_played_s(time_map, keep, path, perf_active)) if realign else []
    rests = _silences(perf_level, min_s=MIN_REST_S, max_s=np.inf) if realign else []
    passages = _with_entries_after_rests(passages, time_map, rests)
    jumps = []
    if passages:
        # re-aligned where DTW saw the performance: jumps' times on the axis without the pauses
        for passage in passages:
            passage["performance_s"] = _without_pauses(passage["performance_s"], _cuts(seen)).tolist()
        path_seen, jumps = realign_jumps(path_seen, passages, (chroma_1, dlnco_1),
                                         (chroma_2[:, seen], dlnco_2[:, seen]), return_jumps=True,
                                         performance_rests=_frames_in(rests, len(perf_level))[seen])
        jumps = [_in_seconds(jump, seen, anchor_step) for jump in jumps]
        time_map, keep, path, pauses = to_time_map(path_seen)
    on_path = np.minimum(path[1], len(perf_active) - 1)
    active_on_path = perf_active[on_path]
    unsure = []
    if refine:
        time_map = _place_pauses(time_map, pauses, flux_1, flux_2)
        time_map = refine_with_onsets(time_map, flux_1, flux_2, keep=keep)

        def snap(part):  # paired note by note; where the pairing is unsure, on that take's map
            snapped, spans = snap_to_onsets(part, flux_1, flux_2, keep=keep, keep_performance=timed,
                                            return_unsure=True)
            unsure.extend(np.column_stack([spans, map_times(snapped, spans[:, 0]), map_times(snapped, spans[:, 1])]))
            return snapped
        time_map = _paired_take_by_take(time_map, jumps, snap)
        for jump in jumps:
            if "replay" in jump:
                jump["replay"] = snap(refine_with_onsets(jump["replay"], flux_1, flux_2))
    if step_over_pauses:  # the pauses DTW spread: the orchestra waits through them
        onsets_s = (onset_frames_ref / FEATURE_RATE, _onset_peaks(flux_2) / FEATURE_RATE)
        time_map, held = _hold_through_pauses(time_map, _pauses_to_hold(perf_level, pauses, jumps), onsets_s=onsets_s)
        pauses = np.vstack([pauses, held])
        pauses = pauses[np.argsort(pauses[:, 1])]
        time_map = _strictly_increasing(time_map)
    played_s = _played_s(time_map, keep, path, perf_active)
    unsure = np.array(sorted(unsure, key=lambda u: u[2]), dtype=float).reshape(-1, 4)
    return time_map, path, pauses, jumps, unsure, played_s, active_on_path


def _played_passage(reference: tuple, performance: tuple, perf_active: np.ndarray, perf_onsets: np.ndarray,
                    durations: tuple, *, tolerance: float = 1.5, min_played_s: float = 10.0, edge_s: float = 8.0):
    """Reference seconds ``(start, end)`` to align with when the pianist's recording covers only a passage of the
    concerto, or None when it covers the concerto's start and end (with silence where the piano rests).

    ``reference``, ``performance``: each recording's CENS at 1 Hz (4 s windows, :func:`align`'s) and chroma at
    :data:`FEATURE_RATE`, the performance's moved by the chroma shift. Subsequence DTW (:func:`_subsequence`) finds
    the stretch of the reference whose CENS best matches the pianist's, from their first onset to their last
    (``perf_onsets``, frames: a noise floor loud enough to count as sound before the first, the last notes' ring
    after the last would match the reference's music there), then places its two ends again with CENS at 10 Hz (0.8
    s windows) on the ``edge_s`` at each end of the pianist's, against the reference around the coarse ends. An end
    counts as left out where the reference's music beyond that stretch, at the pianist's mean tempo over it, takes
    :data:`MIN_UNPLAYED_S` more than the time the recording leaves there (silence, or the last notes' ring) and
    ``tolerance`` times as much: the passage is then cut :data:`PASSAGE_MARGIN_S` beyond what that time covers.
    Under ``min_played_s`` from the first onset to the last, a handful of 4 s windows cannot place it: None."""
    from synctoolbox.feature.chroma import quantized_chroma_to_CENS

    if not perf_active.any():
        return None
    first, last = np.flatnonzero(perf_active)[[0, -1]] / FEATURE_RATE  # the pianist's first and last sound, s
    onsets = perf_onsets[(perf_onsets >= first * FEATURE_RATE) & (perf_onsets <= last * FEATURE_RATE)]
    if len(onsets):  # from the first note's attack (not a noise floor loud enough to count) to the last's
        first, last = max(first, onsets[0] / FEATURE_RATE - 0.1), onsets[-1] / FEATURE_RATE + 0.2
    if last - first < min_played_s:
        return None
    (coarse_ref, chroma_ref), (coarse_perf, chroma_perf) = reference, performance
    fine_ref, fine_perf = (quantized_chroma_to_CENS(c, 41, 5, FEATURE_RATE)[0] for c in (chroma_ref, chroma_perf))
    coarse = _subsequence(coarse_perf[:, int(first): int(np.ceil(last)) + 1], coarse_ref)
    if coarse is None:
        return None
    r_first, r_last = coarse
    # the ends again at 10 Hz: the pianist's first (last) edge_s against the reference 4 s around the coarse end
    low = max(0, int(10 * (r_first - 4)))
    fine = _subsequence(fine_perf[:, int(10 * first): int(10 * (first + edge_s))],
                        fine_ref[:, low: int(10 * (r_first + edge_s + 4))])
    r_first = (low + fine[0]) / 10 if fine else r_first
    low = max(0, int(10 * (r_last - edge_s - 4)))
    fine = _subsequence(fine_perf[:, int(10 * (last - edge_s)): int(10 * last) + 1],
                        fine_ref[:, low: int(10 * (r_last + 4))])
    r_last = (low + fine[1] + 1) / 10 if fine else r_last + 1
    tempo = (last - first) / max(r_last - r_first, 1.0)  # performance s per reference s
    ref_s, perf_s = durations
    start, end = 0.0, ref_s
    silence, needed = first, r_first * tempo  # before the first note
    if needed - silence > MIN_UNPLAYED_S and silence * tolerance < needed:
        start = max(0.0, r_first - silence / tempo - PASSAGE_MARGIN_S)
    silence, needed = perf_s - last, (ref_s - r_last) * tempo  # after the last onset
    if needed - silence > MIN_UNPLAYED_S and silence * tolerance < needed:
        end = min(ref_s, r_last + silence / tempo + PASSAGE_MARGIN_S)
    if start == 0.0 and end == ref_s:
        return None
    return float(start), float(end)


def _subsequence(query: np.ndarray, database: np.ndarray):
    """The first and last column of ``database`` on the subsequence DTW path of all of ``query`` (unit columns,
    cost 1 - cosine), or None where there is none: steps of 1:1, 2:1 and 1:2 (a tempo between half and twice the
    database's), each weighted by the query frames it takes. With free 1:0 and 0:1 steps the path parked a
    passage's first seconds on one frame of the concerto (the demo's second half, 7 s late)."""
    from librosa.sequence import dtw
    from librosa.util.exceptions import ParameterError

    if query.shape[1] < 2 or database.shape[1] < 2:
        return None
    try:
        _, path = dtw(C=1.0 - query.T @ database, step_sizes_sigma=np.array([[1, 1], [2, 1], [1, 2]]),
                      weights_mul=np.array([1.0, 2.0, 1.0]), subseq=True)  # the path from its end to its start
    except ParameterError:  # no path: the query more than twice the database's length
        return None
    return int(path[-1, 1]), int(path[0, 1])


def _moved(found: tuple, reference_s: float = 0.0, performance_s: float = 0.0) -> tuple:
    """:func:`_align_frames`' results with every reference time moved by ``reference_s`` and every performance time
    by ``performance_s`` (seconds; the path by as many frames): a stretch of the reference on the whole reference's
    axis, a :func:`_padded` performance on its own."""
    if not reference_s and not performance_s:
        return found
    time_map, path, pauses, jumps, unsure, played_s, active_on_path = found
    r, p = reference_s, performance_s
    jumps = [dict(jump, reference_s=[t + r for t in jump["reference_s"]], performance_s=jump["performance_s"] + p,
                  **({"replay": jump["replay"] + [r, p]} if "replay" in jump else {})) for jump in jumps]
    return (time_map + [r, p], path + np.round(np.array([[r], [p]]) * FEATURE_RATE).astype(int),
            pauses + [r, p, p], jumps, unsure + [r, r, p, p], [[a + r, b + p] for a, b in played_s], active_on_path)


def _padded(performance_features: tuple, head: int, tail: int) -> tuple:
    """The performance's features with ``head`` and ``tail`` frames of its quietest frame (its noise floor) added
    before and after."""
    if not head and not tail:
        return performance_features
    quietest = int(np.argmin(performance_features[3]))  # (chroma, dlnco, flux, level_db, active)
    return tuple(np.concatenate([np.repeat(f[..., quietest: quietest + 1], head, axis=-1), f,
                                 np.repeat(f[..., quietest: quietest + 1], tail, axis=-1)], axis=-1)
                 for f in performance_features)


def _without_padding(found: tuple, pads: tuple, perf_s: float) -> tuple:
    """:func:`_align_frames`' results on a performance :func:`_padded` by ``pads`` frames, on the performance's own
    ``perf_s`` seconds: the map cut at its start and end (interpolated there), the path's points in the padding
    left out."""
    if not any(pads):
        return found
    moved = _moved(found, performance_s=-pads[0] / FEATURE_RATE)  # the padding before it taken off
    time_map, path, pauses, jumps, unsure, played_s, active_on_path = moved
    inside = (time_map[:, 1] > 1e-6) & (time_map[:, 1] < perf_s - 1e-6)
    ends = [[float(np.interp(t, time_map[:, 1], time_map[:, 0])), t] for t in (0.0, perf_s)]
    time_map = np.vstack([ends[0], time_map[inside], ends[1]])
    on = (path[1] >= 0) & (path[1] < int(round(perf_s * FEATURE_RATE)))
    played_s = [[r, float(np.clip(p, 0.0, perf_s))] for r, p in played_s]
    return time_map, path[:, on], pauses, jumps, unsure, played_s, active_on_path[on]


def _recording_ends(time_map: np.ndarray, played_s: list, tempo_span_s: float = 4.0) -> tuple:
    """Reference seconds where the recording's start and end fall on a map of the passage it covers: from the
    pianist's first (last) note ``played_s`` at the map's tempo over the ``tempo_span_s`` after (before) it, back to
    the recording's start (on to its end). Where the recording starts or stops on a note, DTW squeezes what is left
    of the reference into its first or last frames: a run of the map at under a third of its median tempo there
    is not the pianist's, and the notes are taken from where it ends. Returns ``(start, end, first, last)``, the
    last two ``[reference_s, performance_s]`` of the notes."""
    slopes = np.diff(time_map[:, 1]) / np.diff(time_map[:, 0])
    squeezed = slopes < np.median(slopes) / 3
    head = int(np.argmin(squeezed)) if not squeezed.all() else 0
    tail = len(squeezed) - int(np.argmin(squeezed[::-1])) if not squeezed.all() else len(squeezed)
    first = max(tuple(played_s[0]), tuple(time_map[head]))
    last = min(tuple(played_s[1]), tuple(time_map[tail]))
    tempo_after = np.clip((map_times(time_map, first[0] + tempo_span_s) - first[1]) / tempo_span_s, 0.25, 4.0)
    tempo_before = np.clip((last[1] - map_times(time_map, last[0] - tempo_span_s)) / tempo_span_s, 0.25, 4.0)
    return (first[0] - first[1] / tempo_after, last[0] + (time_map[-1, 1] - last[1]) / tempo_before,
            first, last)


def _with_unplayed_ends(time_map: np.ndarray, jumps: list, ref_duration: float, played_s: list):
    """The map of a passage, on the whole reference's axis, from (0, 0) to ``(ref_duration, its end)``.

    At each end the pianist left out, the map runs from their first (last) note to the recording's start (end) at
    their tempo there (:func:`_recording_ends`): the orchestra plays the bar before their entry as they would have
    counted it, not the margin of :func:`_played_passage` squeezed into their first second. Then a frame's step
    to the reference's end, and a skip there in ``jumps``, which :func:`~concerto_nb.sync.time_map_with_jumps`
    turns into a map that starts and ends with the passage."""
    step = 1.0 / FEATURE_RATE
    jumps = list(jumps)
    start, end, first, last = _recording_ends(time_map, played_s)
    perf_end = time_map[-1, 1]
    if time_map[0, 0] > 0:
        later = time_map[time_map[:, 0] > max(start, first[0] - step)]
        if start > step:
            time_map = np.vstack([[0.0, 0.0], [start, min(step, later[0, 1] / 2)], later])
            jumps.insert(0, {"kind": "skip", "performance_s": 0.0, "reference_s": [0.0, float(start)]})
        else:
            time_map = np.vstack([[0.0, 0.0], later])
    if time_map[-1, 0] < ref_duration - step:  # the ring of the last note, at the same tempo
        earlier = time_map[time_map[:, 0] < min(end, last[0] + step)]
        if end < ref_duration - step:
            time_map = np.vstack([earlier, [end, max(perf_end - step, (earlier[-1, 1] + perf_end) / 2)],
                                  [ref_duration, perf_end]])
            jumps.append({"kind": "skip", "performance_s": float(perf_end),
                          "reference_s": [float(end), ref_duration]})
        else:
            time_map = np.vstack([earlier, [ref_duration, perf_end]])
    return time_map, jumps


def _with_entries_after_rests(passages: list, time_map: np.ndarray, rests: list, replay_s: float = 10.0) -> list:
    """``passages`` (:func:`skips_and_repeats`) and, as a "repeat" to re-align around (:func:`realign_jumps`), the
    last ``replay_s`` of each of the pianist's ``rests`` (performance frames ``(start, stop)``) that no passage
    overlaps. A pianist who slips just after an entry and starts again plays a few seconds twice, and DTW can hide
    them in the rest before at a steady tempo: the first take mapped that much early, into the orchestra's bars,
    and no tempo to flag."""
    found = list(passages)
    for start, stop in rests:
        perf = [max(start, stop - replay_s * FEATURE_RATE) / FEATURE_RATE, stop / FEATURE_RATE]
        if not any(p["performance_s"][0] < perf[1] and perf[0] < p["performance_s"][1] for p in passages):
            found.append({"kind": "repeat", "reference_s": [float(r) for r in map_times(time_map[:, ::-1], perf)],
                          "performance_s": perf})
    return sorted(found, key=lambda f: f["reference_s"][0])


def _frames_in(spans: list, n_frames: int) -> np.ndarray:
    """Boolean per frame: inside one of ``spans`` (``(start, stop)`` frames)."""
    inside = np.zeros(n_frames, dtype=bool)
    for start, stop in spans:
        inside[start:stop] = True
    return inside


def _sound_ends(ref_active: np.ndarray, perf_active: np.ndarray, durations: tuple, margin_s: float = 0.1):
    """Seconds where each recording's sound ends after its last note, None for one that still sounds within
    ``margin_s`` of its file's end (cut mid-note: no decay to map); None for both where either is silent."""
    ends = []
    for active, duration in zip((ref_active, perf_active), durations):
        if not active.any():
            return None
        end = (np.flatnonzero(active)[-1] + 1) / FEATURE_RATE
        ends.append(None if end > duration - margin_s else end)
    return tuple(ends)


def _paired_take_by_take(time_map: np.ndarray, jumps: list, snap) -> np.ndarray:
    """``snap`` (:func:`snap_to_onsets`) on each take of ``time_map``: the stretches of performance before, between
    and after the jumps of :data:`MIN_JUMP_FOR_NOTES_S` or more. A restart's two takes play the same notes, so
    pairs must not cross from one to the other; the map inside a replay (where it stands still while the pianist
    plays the passage again) and across a skip stays as it is. A "restart" of under a second is a held note or a
    fermata the re-alignment read as one: it does not split."""
    cuts = sorted((jump["performance_s"], jump["replay"][-1, 1] if "replay" in jump else jump["performance_s"])
                  for jump in jumps if abs(jump["reference_s"][0] - jump["reference_s"][1]) >= MIN_JUMP_FOR_NOTES_S)
    starts = [time_map[0, 1]] + [resume for _, resume in cuts]
    ends = [end for end, _ in cuts] + [time_map[-1, 1]]
    parts, last = [], -np.inf
    for start, end in zip(starts, ends):
        take = (time_map[:, 1] >= start) & (time_map[:, 1] <= end)
        parts.append(time_map[(time_map[:, 1] > last) & (time_map[:, 1] < start)])  # a replay, a skip: as it is
        parts.append(snap(time_map[take]) if take.sum() >= 2 else time_map[take])
        last = end
    return _strictly_increasing(np.vstack(parts))


def _in_seconds(jump: dict, seen: np.ndarray, anchor_step: float) -> dict:
    """One of :func:`realign_jumps`' jumps in seconds, on the performance's own axis (pauses included); a
    restart's replay as anchors (:func:`replay_anchors`)."""
    out = {"kind": jump["kind"], "performance_s": float(seen[jump["performance"]] / FEATURE_RATE),
           "reference_s": [r / FEATURE_RATE for r in jump["reference"]], "gain": jump["gain"]}
    if "replay" in jump and jump["replay"].shape[1] > 1:
        path_s = np.stack([jump["replay"][0], seen[jump["replay"][1]]], axis=1) / FEATURE_RATE
        path_s = np.vstack([path_s, [out["reference_s"][0], path_s[-1, 1] + 1 / FEATURE_RATE]])
        out["replay"] = replay_anchors(path_s, anchor_step=anchor_step)
    return out


def _pitch_difference(shift: int, tunings_1: list, tunings_2: list) -> float:
    """:func:`pitch_difference_cents` from the tunings the chroma was computed with (synctoolbox's estimate, a few
    cents off at 22.05 kHz), its cents then taken from the finer :func:`tuning_cents`. ``tunings_*``:
    ``[feature tuning, tuning_cents]`` of each recording."""
    coarse = pitch_difference_cents(shift, tunings_1[0], tunings_2[0])
    fine = tunings_2[1] - tunings_1[1]
    return coarse + (fine - (tunings_2[0] - tunings_1[0]) + 50.0) % 100.0 - 50.0


def _reference_plays_on(silences: list, path: np.ndarray, ref_level_db: np.ndarray, onset_frames_ref: np.ndarray,
                        edge_s: float = 0.15, around_s: float = 2.0, max_dip_db: float = 10.0, min_onsets: int = 2,
                        stood_still_s: float = 0.1) -> list:
    """The ``silences`` of the performance (frames) where the reference plays on: pauses, not rests.

    On a first path, the reference frames given to a silence's inside (``edge_s`` in from each side) must not be
    quieter than the reference's music around them (``around_s`` either side) by more than ``max_dip_db``, median
    against median (a rest in the score is quieter in the reference too), and must hold at least ``min_onsets``
    note onsets (a hall's reverberation fills a rest without any), unless the path already stood still there
    (the reference advanced at most ``stood_still_s`` while the pianist was silent). ``onset_frames_ref``: the
    reference's note onsets (frames, :func:`~concerto_nb.sync.timemap._onset_peaks`).
    """
    edge, around = int(round(edge_s * FEATURE_RATE)), int(round(around_s * FEATURE_RATE))
    pauses = []
    for start, stop in silences:
        # the reference frames the path gives the silence's inside (a strictly monotonic path may step over it)
        before, after = np.flatnonzero(path[1] < start + edge), np.flatnonzero(path[1] >= stop - edge)
        if not len(before) or not len(after):
            continue
        lo, hi = path[0][before[-1]] + 1, path[0][after[0]]
        lo, hi = min(lo, hi - 1), max(hi, lo + 1)
        neighbourhood = np.concatenate([ref_level_db[max(0, lo - around): lo], ref_level_db[hi: hi + around]])
        if not len(neighbourhood) or np.median(ref_level_db[lo:hi]) < np.median(neighbourhood) - max_dip_db:
            continue
        onsets_inside = np.sum((onset_frames_ref >= lo) & (onset_frames_ref < hi))
        if hi - lo <= stood_still_s * FEATURE_RATE or onsets_inside >= min_onsets:
            pauses.append((start, stop))
    return pauses


def _matching_better(pauses: list, path: np.ndarray, stepped: np.ndarray, chroma_ref: np.ndarray,
                     chroma_perf: np.ndarray, active: np.ndarray, around_s: int = 3) -> list:
    """The ``pauses`` (performance frames) around which the ``stepped`` path (performance frames) matches the
    chroma better than ``path`` does: mean :func:`confidence` per second over the ``around_s`` seconds of
    reference either side of the step. A rest taken for a pause leaves the music after it misaligned."""
    per_second = [confidence(chroma_ref, chroma_perf, p, active=active[np.minimum(p[1], len(active) - 1)])[1]
                  for p in (path, stepped)]
    kept = []
    for start, stop in pauses:
        after = np.flatnonzero(stepped[1] >= stop)
        if not len(after):
            continue
        second = stepped[0][after[0]] // FEATURE_RATE
        window = slice(max(0, second - around_s), second + around_s + 1)
        before_step, with_step = (np.nanmean(c[window]) if np.isfinite(c[window]).any() else 0.0 for c in per_second)
        if with_step > before_step:
            kept.append((start, stop))
    return kept


def _pauses_to_hold(perf_level: np.ndarray, pauses: np.ndarray, jumps: list, margin_s: float = 2.0) -> list:
    """Performance ``(start_s, end_s)`` of the pianist's silences of :data:`MIN_PAUSE_S` or more, however long,
    that are not a pause already stepped over (``pauses``) nor within ``margin_s`` of a restart or skip."""
    silences = [(a / FEATURE_RATE, b / FEATURE_RATE)
                for a, b in _silences(perf_level, min_s=MIN_PAUSE_S, max_s=np.inf)]
    return [(a, b) for a, b in silences
            if not any(p0 < b and a < p1 for _, p0, p1 in pauses)
            and not any(a - margin_s <= jump["performance_s"] <= b + margin_s for jump in jumps)]


def _cuts(seen: np.ndarray) -> np.ndarray:
    """Performance ``(start_s, end_s)`` of the stretches DTW did not see (``seen``: the frames it saw)."""
    cut = np.flatnonzero(np.diff(seen) > 1)  # seen[k] and seen[k + 1] are either side of a cut
    return np.stack([(seen[cut] + 1) / FEATURE_RATE, seen[cut + 1] / FEATURE_RATE], axis=1).reshape(-1, 2)


def _pauses_stepped_over(path: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``[reference_s, performance start_s, end_s]`` of each pause (``cuts``) the path steps over: the
    reference time where it steps."""
    rows = []
    for start_s, end_s in cuts:
        before = np.flatnonzero(path[1] < start_s * FEATURE_RATE)
        rows.append((path[0][before[-1]] / FEATURE_RATE if len(before) else 0.0, start_s, end_s))
    return np.array(rows, dtype=float).reshape(-1, 3)


def _played_s(time_map: np.ndarray, keep: np.ndarray | None, path: np.ndarray, perf_active: np.ndarray) -> list:
    """The pianist's first and last note on the map as ``[reference_s, performance_s]`` pairs (rests at
    either end have no anchors)."""
    active_on_path = perf_active[np.minimum(path[1], len(perf_active) - 1)]
    played = np.flatnonzero(keep) / FEATURE_RATE if keep is not None and keep.any() else \
        path[0][active_on_path] / FEATURE_RATE if active_on_path.any() else path[0][[0, -1]] / FEATURE_RATE
    return [[float(r), float(map_times(time_map, r))] for r in (played[0], played[-1])]
