"""From a DTW path to a time map: anchors from the played passages, rests and held notes, onset refinement.
Notebook: ``04_music_synchronization``.
"""
from __future__ import annotations

import numpy as np

from .._arrays import runs
from .audio_features import FEATURE_RATE

__all__ = ["path_to_time_map", "refine_with_onsets", "map_times"]

#: Reference seconds a pause's step may span (a rest is wider and crossed by a line): the score's silence around
#: a breath, a note or two (``benchmarks/expressive.py``).
MAX_PAUSE_STEP_S = 0.4
#: Longest final decay (reference s from the last passage's end) that maps to the other recording's: a last chord
#: held and dying in a hall (Schubert D911-03's, 2.4 s); a longer end is a closing tutti (``benchmarks/real_pairs.py``).
FINAL_DECAY_MAX_S = 4.0
#: Shortest silence of the pianist's (s), and shortest excess over the tempo, that is a pause the orchestra waits
#: through: longer than the rubato model's breaths (0.25-0.6 s), shorter than a stop to think
#: (``benchmarks/pause_detection.py``: 3 s).
MIN_PAUSE_S = 1.0
#: Share of the tempo's advance below which the map crawls through a silence (a pause), rather than playing a rest
#: in time: the pauses of ``benchmarks/pause_detection.py`` the map crawled through moved it 0.04-0.35 of that, the
#: rests of ``benchmarks/jump_detection.py``'s clean takes 0.62 and up.
HELD_SHARE = 0.5
#: The pianist's notes either side of a pause compared by pitch with the reference's to place its step: one matches
#: many notes, three put the sequences out of step where a chord's onsets split in one recording and not the other
#: (``benchmarks/pause_detection.py``, "Pauses in a rubato take").
PAUSE_EDGE_NOTES = 2


def _timed(active: np.ndarray, dlnco: np.ndarray, level_db: np.ndarray, onset_rise: float = 0.3,
           level_rise_db: float = 1.0, level_frames: int = 5) -> np.ndarray:
    """The active frames that carry timing: from the first to the last onset of each active run.

    A note's decay and reverb tail, and the silence before an entry, hold no timing: the
    path through them is arbitrary (KV488: an anchor 0.5 s off at the start of a rest bent
    the interpolation across the whole tutti). An onset is a rise of the summed DLNCO where
    the level rises too (DLNCO's local normalisation also lifts changes deep in a decay).
    Coming out of a rest, a rise from one frame to the next will do. The *last* onset must
    pass a stricter test: the mean power of the ``level_frames`` frames from it on exceeds
    that of the ``level_frames`` before it by ``level_rise_db``, because a low note's 20 ms
    frames flicker by +-2 dB as its period beats against the frame (Op. 37, the cadenza's
    last low C: "onsets" up to 1.3 s into its decay put the end of the passage there, and
    the tutti after it 0.8 s early).
    """
    rising_dlnco = np.diff(dlnco.sum(axis=0)) > onset_rise
    rise = np.diff(level_db)
    onsets = np.flatnonzero(rising_dlnco & ((rise > level_rise_db) | (np.roll(rise, -1) > level_rise_db))) + 1
    w = level_frames
    power = 10 ** (level_db / 10)
    mean_db = 10 * np.log10(np.convolve(power, np.ones(w) / w)[: len(power)])  # frames i-w+1..i
    steady_rise = np.full(len(power), -np.inf)  # at j: frames j..j+w-1 against frames j-w..j-1
    steady_rise[1: len(power) - w + 1] = mean_db[w:] - mean_db[: len(power) - w]
    sure = np.flatnonzero(rising_dlnco & (steady_rise[1:] > level_rise_db)) + 1
    timed = np.zeros(len(active), dtype=bool)
    for start, stop in runs(active):
        inside = onsets[(onsets >= start) & (onsets < stop)]
        if not len(inside):
            continue
        last = sure[(sure >= inside[0]) & (sure < stop)]
        timed[inside[0]: (last[-1] if len(last) else inside[-1]) + 1] = True
    return timed


def path_to_time_map(path: np.ndarray, ref_duration: float, perf_duration: float, anchor_step: float = 0.5,
                     keep: np.ndarray | None = None, smooth_s: float = 0.5,
                     note_offs: np.ndarray | None = None, pauses: np.ndarray | None = None,
                     sound_ends: tuple | None = None) -> np.ndarray:
    """Turn a warping path (feature frames) into a smooth, strictly increasing time map.

    Notebook: ``04_music_synchronization``.

    Parameters
    ----------
    path : np.ndarray [shape=(2, L)]
        Frame indices (reference row 0, performance row 1), monotonic.
    ref_duration, perf_duration : float
        Seconds; the map runs from (0, 0) to (ref_duration, perf_duration).
    anchor_step : float
        One anchor per this many seconds of reference.
    keep : np.ndarray of bool [shape=(reference frames,)], optional
        Reference frames whose path points may become anchors (False = a rest: interpolate).
    smooth_s : float
        Moving-average length of the performance times (seconds of reference).
    note_offs : np.ndarray, optional
        Performance times (s) where the pianist's last note of a passage ends (see :func:`align`). With
        ``keep``, the map goes on in the passage's tempo from its last onset to the note-off within
        2 s after it, and only then turns into the line through the rest.
    pauses : np.ndarray [shape=(P, 2)], optional
        Performance ``(start_s, end_s)`` of the pauses the path steps over (``align(step_over_pauses=True)``):
        the map steps there, unsmoothed.
    sound_ends : tuple of float, optional
        ``(reference_s, performance_s)`` where each recording's sound dies away after its last note (the
        level's fall below the activity floor), None for one still sounding at its end. With ``keep``, the last
        chord's decay in one maps to its decay in the other: the map goes there from the last passage's end, when
        that keeps within 1.5x of the passage's tempo and takes at most :data:`FINAL_DECAY_MAX_S`, and only then
        to the two durations. A reference cut mid-note (an excerpt) against a performance that dies away: the
        reference's last frame comes where the passage's tempo reaches it, and the map steps from there to the
        two durations, as at a pause (the orchestra holds while the pianist's last note rings).

    Returns
    -------
    time_map : np.ndarray [shape=(K, 2)]
    """
    perf_t = path[1] / FEATURE_RATE
    # one performance time per reference frame: the mean over the path's vertical runs
    frames = np.arange(int(path[0].max()) + 1)
    counts = np.bincount(path[0], minlength=len(frames))
    perf_of_ref = np.bincount(path[0], weights=perf_t, minlength=len(frames)) / np.maximum(counts, 1)
    valid = counts > 0
    if keep is not None:
        valid &= np.pad(keep, (0, max(0, len(frames) - len(keep))), constant_values=True)[: len(frames)]
    if valid.sum() < 2:
        valid = counts > 0
    t = frames / FEATURE_RATE
    # rests at either end are interpolated towards (0, 0) and the two ends, not held flat:
    # a flat map would squash the orchestra's opening tutti into an instant
    # passages: runs of anchors-to-be, bridged over the single frames a diagonal path step skips
    passages = _passages(valid) if keep is not None else []
    held = _held_notes(passages, valid, perf_of_ref, note_offs) if note_offs is not None else np.zeros((0, 2))
    cut_end = None
    if passages and sound_ends is not None and None not in sound_ends:
        decay_end = _final_decay_end(valid, perf_of_ref, held, sound_ends)
        if decay_end is not None:
            held = np.vstack([held, [decay_end]])
    elif passages and sound_ends is not None and sound_ends[0] is None and sound_ends[1] is not None:
        cut_end = _cut_reference_end(valid, perf_of_ref, ref_duration, sound_ends[1])
        if cut_end is not None:  # the pianist's note-offs beyond the reference's end have nothing to map to
            held = np.vstack([held[held[:, 0] < cut_end[0]], [cut_end]])
    t_known = np.concatenate([[0.0], t[valid], held[:, 0], [ref_duration]])
    p_known = np.concatenate([[0.0], perf_of_ref[valid], held[:, 1], [perf_duration]])
    order = np.argsort(t_known, kind="stable")
    perf = np.interp(t, t_known[order], np.maximum.accumulate(p_known[order]))
    # a pause the path steps over (``align(step_over_pauses=True)``) is a step of the map between the known
    # frames either side of it: smoothing across it would spread it over the notes around, so the moving
    # average stays on each side, and both ends of the step are anchors
    steps = _pause_steps(path, valid, np.zeros((0, 2)) if pauses is None else pauses,
                         max_frames=int(MAX_PAUSE_STEP_S * FEATURE_RATE))
    if cut_end is not None:  # the step from the cut reference's last frame to the ends, unsmoothed
        steps = np.union1d(steps, [len(t) - 2])
    perf = _smoothed_between(perf, steps, max(1, int(round(smooth_s * FEATURE_RATE))))
    grid = np.arange(anchor_step, ref_duration - anchor_step / 2, anchor_step)
    grid = np.concatenate([grid, t[steps], t[np.minimum(steps + 1, len(t) - 1)]])
    if keep is not None:
        # the first and last onset of each passage are anchors too: where the pianist enters or stops,
        # the map bends (the tempo through a rest is not the tempo played), and a grid anchor up to
        # anchor_step away would put the bend there (Op. 37's first entry: 80 ms early)
        edges = [t[i] for start, stop in passages for i in (start, stop - 1)]
        grid = np.unique(np.concatenate([grid, edges, held[:, 0]]))
        grid = grid[(grid > 0) & (grid < ref_duration)]
    anchors = np.stack([grid, np.interp(grid, t, perf)], axis=1)
    anchors = anchors[(anchors[:, 1] > 0) & (anchors[:, 1] < perf_duration)]
    time_map = np.vstack([[0.0, 0.0], anchors, [ref_duration, perf_duration]])
    return _strictly_increasing(time_map)


def _pause_steps(path: np.ndarray, valid: np.ndarray, pauses: np.ndarray, max_frames: int) -> np.ndarray:
    """Reference frames ``i`` where the map steps from frame ``i`` to ``i + 1`` over one of the ``pauses``
    (performance ``(start_s, end_s)`` rows the path steps over), widened to the known (``valid``) frames either
    side; steps wider than ``max_frames`` are lines through a rest, left out."""
    known = np.flatnonzero(valid)
    steps = []
    for start_s, end_s in np.asarray(pauses, dtype=float).reshape(-1, 2):
        over = np.flatnonzero((path[1][:-1] < start_s * FEATURE_RATE) & (path[1][1:] >= end_s * FEATURE_RATE - 1e-6))
        if not len(over):
            continue
        a, b = int(path[0][over[0]]), int(path[0][over[0] + 1])
        lo, hi = known[known <= a], known[known >= b]
        lo, hi = (lo[-1] if len(lo) else a), (hi[0] if len(hi) else b)
        if hi - lo <= max_frames:
            steps.extend(range(lo, hi))
    return np.unique(np.array(steps, dtype=int))


def _smoothed_between(perf: np.ndarray, steps: np.ndarray, win: int) -> np.ndarray:
    """Moving average of ``win`` frames over each stretch of ``perf`` between the ``steps`` (a step at ``i``
    lies between frames ``i`` and ``i + 1``), each stretch padded with its own end values."""
    if win <= 1:
        return perf
    out = perf.copy()
    kernel = np.ones(win) / win
    bounds = np.concatenate([[0], np.asarray(steps, dtype=int) + 1, [len(perf)]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a > 1:
            padded = np.pad(perf[a:b], (win // 2, win - 1 - win // 2), mode="edge")
            out[a:b] = np.convolve(padded, kernel, mode="valid")
    return out


def _passages(valid: np.ndarray, max_gap_s: float = 0.2) -> list:
    """``(first, last + 1)`` frames of the runs of ``valid`` with gaps up to ``max_gap_s`` bridged."""
    bridged = valid.copy()
    for start, stop in runs(~valid):
        if start > 0 and stop < len(valid) and stop - start <= max_gap_s * FEATURE_RATE:
            bridged[start:stop] = True
    return runs(bridged)


def _final_decay_end(valid: np.ndarray, perf_of_ref: np.ndarray, held: np.ndarray, sound_ends: tuple,
                     tempo_s: float = 2.0, max_ratio: float = 1.5):
    """``(reference s, performance s)`` where both recordings' last chord has died away (``sound_ends``), or
    None where that would leave the tempo of the ``valid`` frames over the last ``tempo_s`` by more than
    ``max_ratio`` or take longer than :data:`FINAL_DECAY_MAX_S` (then it is a closing tutti, not a decay)."""
    last_tempo = _last_tempo(valid, perf_of_ref, tempo_s)
    if last_tempo is None:
        return None
    t0, p0, rate = last_tempo
    after = held[held[:, 0] > t0]
    if len(after):  # the passage's last note counted to its note-off: the decay starts there
        t0, p0 = after[0]
    ref_end, perf_end = sound_ends
    if not (0 < ref_end - t0 <= FINAL_DECAY_MAX_S and perf_end > p0 and rate > 0):
        return None
    ratio = (perf_end - p0) / (ref_end - t0) / rate
    return (ref_end, perf_end) if 1 / max_ratio <= ratio <= max_ratio else None


def _cut_reference_end(valid: np.ndarray, perf_of_ref: np.ndarray, ref_duration: float, perf_sound_end: float,
                       tempo_s: float = 2.0):
    """``(reference s, performance s)`` of the last frame of a reference cut mid-note, where the tempo of the
    ``valid`` frames over the last ``tempo_s`` reaches it; None where the performance's sound ends before that
    (the pianist stopped: the line to the ends stays) or the last valid frame is over :data:`FINAL_DECAY_MAX_S`
    from the end."""
    last_tempo = _last_tempo(valid, perf_of_ref, tempo_s)
    if last_tempo is None:
        return None
    t0, p0, rate = last_tempo
    end = ref_duration - 1 / FEATURE_RATE
    reached = p0 + rate * (end - t0)  # the passage's tempo carried on to the reference's last frame
    return (end, reached) if rate > 0 and 0 < end - t0 <= FINAL_DECAY_MAX_S and p0 < reached < perf_sound_end else None


def _last_tempo(valid: np.ndarray, perf_of_ref: np.ndarray, tempo_s: float, *, last: int | None = None,
                start: int = 0):
    """``(reference s, performance s, performance s per reference s)`` at valid frame ``last`` (default the last
    one), the tempo over the valid frames in the ``tempo_s`` before it, from frame ``start`` on; None where those
    span under half a second."""
    known = np.flatnonzero(valid)
    last = known[-1] if last is None else last
    first = known[known >= max(start, last - int(tempo_s * FEATURE_RATE))][0]
    if last - first < FEATURE_RATE // 2:
        return None
    rate = (perf_of_ref[last] - perf_of_ref[first]) / ((last - first) / FEATURE_RATE)
    return last / FEATURE_RATE, perf_of_ref[last], rate


def _held_notes(passages: list, valid: np.ndarray, perf_of_ref: np.ndarray, note_offs: np.ndarray,
                max_hold_s: float = 2.0, tempo_s: float = 2.0) -> np.ndarray:
    """``(reference s, performance s)`` of the note-off that ends each passage (``(first, last + 1)`` frames).

    A pianist counts their last held note in the tempo they played; where they stop, the line through
    the rest begins (a line from the last onset instead put KV488's tutti after 566 s 117 ms off).
    The note-off's reference time continues the passage's tempo over its last ``tempo_s``.
    """
    held = []
    for k, (start, stop) in enumerate(passages):
        # the passage's tempo at its last frame (passages start and end on valid frames)
        last_tempo = _last_tempo(valid, perf_of_ref, tempo_s, last=stop - 1, start=start)
        if last_tempo is None:
            continue
        t0, p0, rate = last_tempo
        ends = note_offs[(note_offs > p0) & (note_offs <= p0 + max_hold_s)]
        if not len(ends) or not 0.5 <= rate <= 2.0:
            continue
        t_off = t0 + (ends[0] - p0) / rate
        if k + 1 < len(passages) and (t_off >= passages[k + 1][0] / FEATURE_RATE
                                      or ends[0] >= perf_of_ref[passages[k + 1][0]]):
            continue  # the next passage starts first: no rest to bend into
        held.append((t_off, ends[0]))
    return np.array(held).reshape(-1, 2)


def _note_offs(timed: np.ndarray, level_db: np.ndarray, max_hold_s: float = 2.0, min_drop_db: float = 8.0,
               floor_db: float = -40.0) -> np.ndarray:
    """Performance times (s) where the last note of each passage (runs of ``timed``) ends.

    A note-off (the damper) drops the level by tens of dB in a tenth of a second, far faster than a
    piano tone decays: the steepest fall over 0.1 s within ``max_hold_s`` after the passage's last
    onset, if it is at least ``min_drop_db`` and starts above ``floor_db`` (not the fade of a silence
    into digital zero).
    """
    step = FEATURE_RATE // 10
    ends = []
    for _, stop in runs(timed):
        level = level_db[stop - 1: stop - 1 + int(max_hold_s * FEATURE_RATE) + step]
        fall = np.where(level[:-step] > floor_db, level[step:] - level[:-step], 0.0)
        if len(fall) and fall.min() <= -min_drop_db:
            ends.append((stop - 1 + int(np.argmin(fall))) / FEATURE_RATE)
    return np.array(ends)


def refine_with_onsets(time_map: np.ndarray, onsets_ref: np.ndarray, onsets_perf: np.ndarray,
                       keep: np.ndarray | None = None, half_window_s: float = 0.75, max_shift_s: float = 0.2,
                       median_of: int = 5) -> np.ndarray:
    """Shift each anchor by the lag that best lines up the two recordings' onsets around it.

    Notebook: ``04_music_synchronization``.

    DTW decides frame by frame and drifts in runs of fast notes; here a whole window of
    :math:`\\pm` ``half_window_s`` is held rigid: for anchor :math:`(t, \\tau(t))` the shift is

    .. math:: \\delta^* = \\arg\\max_{|\\delta| \\le \\delta_{max}}
              \\sum_{n} \\langle O_1(n), O_2(\\tau(n) + \\delta) \\rangle,

    with :math:`O` onset features per pitch (:func:`align` passes :func:`semitone_flux`: the
    orchestra's bleed in a separated piano has other pitches at other times, and in a fast run a
    shift by one note must fit worse than the right one) and :math:`n` over the window's reference
    frames, to half a frame with a parabola through the peak. A running median over ``median_of``
    anchors drops outliers. Anchors in rests (``keep`` False) take the shift interpolated from their
    neighbours, so the line through a rest moves with its ends.

    Parameters
    ----------
    time_map : np.ndarray [shape=(K, 2)]
    onsets_ref, onsets_perf : np.ndarray [shape=(bands, frames)]
        Onset features of the two recordings at :data:`FEATURE_RATE`: :func:`semitone_flux`, or the
        DLNCO of :func:`features`.
    keep : np.ndarray of bool [shape=(reference frames,)], optional
        Reference frames whose timing the features can tell.

    Returns
    -------
    time_map : np.ndarray [shape=(K', 2)], strictly increasing, same ends.
    """
    from scipy.ndimage import median_filter

    anchors = time_map[1:-1]
    if len(anchors) == 0:
        return time_map
    sub = 2  # half-frame steps
    shifts = np.arange(-int(max_shift_s * FEATURE_RATE) * sub, int(max_shift_s * FEATURE_RATE) * sub + 1) / sub
    half = int(half_window_s * FEATURE_RATE)
    last = onsets_perf.shape[1] - 1.001
    found = np.full(len(anchors), np.nan)
    for k, t in enumerate(anchors[:, 0]):
        centre = int(round(t * FEATURE_RATE))
        if keep is not None and not keep[min(centre, len(keep) - 1)]:
            continue
        frames = np.arange(max(0, centre - half), min(onsets_ref.shape[1], centre + half + 1))
        a = onsets_ref[:, frames]
        if a.sum() <= 0:
            continue
        pos = np.clip(map_times(time_map, frames / FEATURE_RATE) * FEATURE_RATE + shifts[:, None], 0, last)
        i = pos.astype(int)
        f = pos - i
        moved = onsets_perf[:, i] * (1 - f) + onsets_perf[:, i + 1] * f  # (12, shifts, frames)
        scores = np.einsum("cn,csn->s", a, moved)
        j = int(np.argmax(scores))
        if scores[j] <= 0:
            continue
        step = 0.0
        if 0 < j < len(shifts) - 1:
            y0, y1, y2 = scores[j - 1: j + 2]
            if y0 - 2 * y1 + y2 < 0:
                step = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2) / sub
        found[k] = (shifts[j] + step) / FEATURE_RATE
    good = np.flatnonzero(~np.isnan(found))
    if len(good) == 0:
        return time_map
    shift = median_filter(np.interp(np.arange(len(found)), good, found[good]), median_of, mode="nearest")
    moved = anchors + np.column_stack([np.zeros(len(shift)), shift])
    moved = moved[(moved[:, 1] > 0) & (moved[:, 1] < time_map[-1, 1])]
    return _strictly_increasing(np.vstack([time_map[:1], moved, time_map[-1:]]))


def _onset_peaks(onsets: np.ndarray) -> np.ndarray:
    """Frames where the summed onset features peak above their median plus their spread: note onsets."""
    strength = onsets.sum(axis=0)
    return np.flatnonzero((strength[1:-1] > strength[:-2]) & (strength[1:-1] >= strength[2:])
                          & (strength[1:-1] > np.median(strength) + np.std(strength))) + 1


def _place_pauses(time_map: np.ndarray, pauses: np.ndarray, onsets_ref: np.ndarray, onsets_perf: np.ndarray, *,
                  look_s: float = 1.5, notes: int = PAUSE_EDGE_NOTES, release_s: float = 0.2,
                  min_pause_s: float = MIN_PAUSE_S,
                  release_share: float = 0.25, distance_cost: float = 0.5, tempo_gap_s: float = 1.0,
                  tempo_window_s: float = 2.0) -> np.ndarray:
    """Put each pause's step between the two reference notes the pianist played either side of it.

    DTW matches the silence kept at a pause's edges with whatever reference frames cost least, and the moving
    average may spread its step over a second: the step can land a note or two off, and the note after a breath
    then maps to before it, seconds early. Here the pianist's last ``notes`` onsets before the silence and first
    ``notes`` after it are compared by pitch (the cosine of their onset vectors, :func:`~concerto_nb.sync.
    onset_events`) with consecutive reference onsets, the step between reference onsets :math:`k` and
    :math:`k + 1` scoring the sum of the similarities of :math:`k, k - 1, \\dots` with the notes before and of
    :math:`k + 1, k + 2, \\dots` with those after, less ``distance_cost`` per second between :math:`t_k` and
    :math:`t_{k + 1}` and where the map puts the pianist's last note before and first after (the pitches of one or two
    notes often match a note a bar away as well); the best within ``look_s`` of DTW's step wins. An onset up to
    ``release_s`` before the silence is left out, and so are the last ones before it whose summed onset features
    peak below ``release_share`` of the median of the pianist's onsets in the ``2 * look_s`` before: a note sounds
    longer than that, and plays louder, so those peaks are the keys' and dampers' release. A silence shorter than
    ``min_pause_s`` is left as DTW stepped it: a breath or a staccato rest, where the real Schubert pair's notes
    either side differ from its reference's too much to be compared one by one (``benchmarks/expressive.py``).
    The map then passes through (reference onset :math:`k`, the pianist's last note) and
    (:math:`k + 1`, the first note after), each carried on to the step half-way between them at the map's
    tempo beside it (over ``tempo_window_s``, ``tempo_gap_s`` away from the pause).

    Parameters
    ----------
    onsets_ref, onsets_perf : np.ndarray [shape=(bands, frames)]
        Onset features at :data:`FEATURE_RATE` (:func:`~concerto_nb.sync.semitone_flux`).
    """
    from .note_matching import onset_events  # it maps times with this module's functions

    pauses = np.asarray(pauses, dtype=float).reshape(-1, 3)
    pauses = pauses[pauses[:, 2] - pauses[:, 1] >= min_pause_s]
    if not len(pauses):
        return time_map
    times_ref, vectors_ref = onset_events(onsets_ref)
    times_perf, vectors_perf = onset_events(onsets_perf)
    strength = onsets_perf.sum(axis=0)[np.minimum(np.round(times_perf * FEATURE_RATE).astype(int),
                                                  onsets_perf.shape[1] - 1)]
    for ref_s, start_s, end_s in pauses:
        before = np.flatnonzero((times_perf < start_s - release_s) & (times_perf > start_s - 2 * look_s))
        while len(before) > 1 and strength[before[-1]] < release_share * np.median(strength[before]):
            before = before[:-1]
        before = before[-notes:]
        after = np.flatnonzero((times_perf > end_s) & (times_perf < end_s + 2 * look_s))[:notes]
        candidates = np.flatnonzero(np.abs(0.5 * (times_ref[:-1] + times_ref[1:]) - ref_s) < look_s)
        if not len(before) or not len(after) or not len(candidates):
            continue
        mapped = np.interp([times_perf[before[-1]], times_perf[after[0]]], time_map[:, 1], time_map[:, 0])
        scores = [sum(float(vectors_ref[k - i] @ vectors_perf[j]) for i, j in enumerate(before[::-1]) if k >= i)
                  + sum(float(vectors_ref[k + 1 + i] @ vectors_perf[j]) for i, j in enumerate(after)
                        if k + 1 + i < len(times_ref))
                  - distance_cost * np.sum(np.abs(times_ref[k: k + 2] - mapped)) for k in candidates]
        k = int(candidates[int(np.argmax(scores))])
        (t_last, t_first), (p_last, p_first) = times_ref[k: k + 2], (times_perf[before[-1]], times_perf[after[0]])
        # each side's tempo (performance s per reference s), away from the pause
        reach = tempo_gap_s + tempo_window_s
        left_rate, right_rate = (np.clip(np.diff(map_times(time_map, span))[0] / tempo_window_s, 0.2, 5.0)
                                 for span in ([t_last - reach, t_last - tempo_gap_s],
                                              [t_first + tempo_gap_s, t_first + reach]))
        c = 0.5 * (t_last + t_first)
        kept = ((time_map[:, 0] < t_last - 0.01) & (time_map[:, 1] < p_last - 0.01)) \
            | ((time_map[:, 0] > t_first + 0.01) & (time_map[:, 1] > p_first + 0.01))
        step = [[t_last, p_last], [c - 0.005, min(p_last + (c - 0.005 - t_last) * left_rate, start_s)],
                [c, max(p_first - (t_first - c) * right_rate, end_s)], [t_first, p_first]]
        time_map = np.vstack([time_map[kept], step])
        time_map = _strictly_increasing(time_map[np.argsort(time_map[:, 0], kind="stable")])
    return time_map


def _hold_through_pauses(time_map: np.ndarray, silences_s: list, *, onsets_s: tuple | None = None,
                         tempo_window_s: float = 4.0, tempo_gap_s: float = 1.0, lead_s: float = 0.5,
                         min_pause_s: float = MIN_PAUSE_S, held_share: float = HELD_SHARE, step_s: float = 0.005):
    """The map with the orchestra waiting through each pause the pianist makes, and those pauses.

    A pause that DTW spread over the music around it, or that the note pairing put back at the notes either side,
    leaves the map crawling through the silence: the orchestra slowed down five or ten times. A silence
    (``silences_s``, performance ``(start_s, end_s)``) is a pause where the map moves the reference on through it
    by less than ``held_share`` of what the map's tempo would, and the pianist is silent at least ``min_pause_s``
    longer than that tempo needs. The tempo is the faster of the map's over ``tempo_window_s`` either side (or the one
    side the map has), ``tempo_gap_s`` away from the silence, since a note held into it is crawled through too: a
    rest or a long note on one side slows the map there as well.

    There the reference holds from where the pianist stopped, then goes on at that tempo in time to meet the map
    again at the silence's end. Where the pianist stopped: the crawl starts at the last note paired before the
    silence, so the map's tempo before it is carried on over the silence's last ``lead_s`` before it; with
    ``onsets_s`` (reference and performance onset times, s), no further than just before the reference's next
    onset after the pianist's last (the first note after the pause). The map at the silence's end, and so every
    note after it, stays where it was.

    Returns
    -------
    time_map : np.ndarray [shape=(K', 2)]
    pauses : np.ndarray [shape=(P, 3)]
        ``[reference_s, performance start_s, end_s]`` of each hold.
    """
    def reference_at(times):
        return np.interp(times, time_map[:, 1], time_map[:, 0])

    pauses = []
    for start, end in silences_s:
        far = tempo_gap_s + tempo_window_s
        left, right = (start - far, start - tempo_gap_s), (end + tempo_gap_s, end + far)
        sides = [side for side in (left, right) if time_map[0, 1] <= side[0] and side[1] <= time_map[-1, 1]]
        if end - start < min_pause_s or not sides:
            continue
        side_tempi = [np.diff(reference_at(side))[0] / tempo_window_s for side in sides]  # reference s per s
        tempo = max(side_tempi)
        ref_start, ref_end = reference_at([start, end])
        advance = ref_end - ref_start
        if tempo <= 0 or advance >= held_share * tempo * (end - start) or end - start - advance / tempo < min_pause_s:
            continue
        begin = start  # the map is kept up to here
        if sides[0] is left:
            begin = start - lead_s
            left_tempo = side_tempi[0]
            stopped = reference_at(begin) + left_tempo * lead_s  # the tempo before the silence, carried on
            if onsets_s is not None:
                ref_onsets, perf_onsets = onsets_s
                last = perf_onsets[(perf_onsets < start) & (perf_onsets >= begin - 1.0)]
                if len(last):  # the pianist's last note before the pause, and the reference's next after it
                    played = reference_at(begin) + left_tempo * (last[-1] - begin) if last[-1] > begin \
                        else reference_at(last[-1])
                    following = ref_onsets[ref_onsets > played + 0.05]
                    if len(following):
                        stopped = min(stopped, following[0] - 0.02)
            ref_start = float(np.clip(stopped, ref_start, ref_end - 2 * step_s))
        kept_before = time_map[time_map[:, 1] < begin]
        if begin < start:
            kept_before = np.vstack([kept_before, [[reference_at(begin), begin]]])
        hold_to = end - (ref_end - ref_start) / tempo  # then on at the tempo, to meet the map at the silence's end
        hold = [[ref_start, start], [ref_end, end]] if ref_end - ref_start < 2 * step_s else \
            [[ref_start, start], [ref_start + step_s, hold_to], [ref_end, end]]
        time_map = np.vstack([kept_before, hold, time_map[time_map[:, 1] > end]])
        pauses.append((ref_start, start, hold_to))
    return time_map, np.array(pauses, dtype=float).reshape(-1, 3)


def _without_pauses(times, pauses) -> np.ndarray:
    """Performance ``times`` (s) with the ``pauses`` (``(start_s, end_s)`` rows) taken out: a time inside a
    pause becomes the pause's start."""
    times = np.asarray(times, dtype=float)
    out = times.copy()
    for start, end in np.asarray(pauses, dtype=float).reshape(-1, 2):
        out -= np.clip(times - start, 0.0, end - start)
    return out


def _with_pauses(times, pauses) -> np.ndarray:
    """The inverse of :func:`_without_pauses`: times on the pause-less axis back on the recording's own."""
    out = np.asarray(times, dtype=float).copy()
    removed = 0.0
    shifted = np.zeros_like(out)
    for start, end in np.asarray(pauses, dtype=float).reshape(-1, 2):
        shifted += np.where(out > start - removed, end - start, 0.0)  # at a pause's start: before it
        removed += end - start
    return out + shifted


def _strictly_increasing(time_map: np.ndarray, min_step: float = 1e-3) -> np.ndarray:
    """Drop anchors that do not advance in both columns (keeps both ends)."""
    kept = [time_map[0]]
    for row in time_map[1:-1]:
        if row[0] - kept[-1][0] >= min_step and row[1] - kept[-1][1] >= min_step:
            kept.append(row)
    last = time_map[-1]
    while len(kept) > 1 and (last[1] - kept[-1][1] < min_step or last[0] - kept[-1][0] < min_step):
        kept.pop()
    kept.append(last)
    return np.array(kept)


def map_times(time_map: np.ndarray, reference_times) -> np.ndarray:
    """Performance times of reference instants (linear between anchors).

    Notebook: ``04_music_synchronization``.
    """
    return np.interp(reference_times, time_map[:, 0], time_map[:, 1])
