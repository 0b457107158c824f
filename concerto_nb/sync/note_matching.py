"""Note-level refinement: the two recordings' note onsets matched one to one, and the map put through them.
Notebook: ``04_music_synchronization``.

DTW and :func:`~concerto_nb.sync.refine_with_onsets` smooth the map over about a second: a ritardando over a
phrase's last bar, a breath or a fermata then comes out as an even tempo, and the notes around it as early or
late as the bend is deep (seconds, after a fermata). Here each onset of the reference is paired with one onset of
the performance near where the map puts it, with the same pitches starting; the pairs form one chain that goes
forward in both recordings and keeps, from one pair to the next, the tempo the map has over a few seconds around
(a penalty per second of difference), and the map passes through every pair.
"""
from __future__ import annotations

import numpy as np

from .._arrays import runs
from .audio_features import FEATURE_RATE
from .timemap import _strictly_increasing, map_times

__all__ = ["onset_events", "match_onset_events", "snap_to_onsets", "MIN_SIMILARITY", "TEMPO_CHANGE_COST", "LATE_S",
           "REST_GAP_S"]

#: Cosine similarity of two onsets' pitch vectors below which they are not paired: chords that share a note or
#: two score 0.2-0.5, the same notes with the orchestra's bleed on one side 0.5-0.9 (``benchmarks/expressive.py``).
MIN_SIMILARITY = 0.3
#: Score lost per second by which the performance's interval between two pairs differs from the reference's at the
#: map's tempo: a breath of 0.4 s costs about what one well-matched note gains (``benchmarks/expressive.py``).
TEMPO_CHANGE_COST = 1.0
#: How much later (s) than the map a performance onset may be paired: a fermata held 2.5 s, which the map spreads
#: over the next bar; earlier than the map, ``early_s`` (``benchmarks/expressive.py``, "Note-level matching").
LATE_S = 3.0
#: Reference seconds from which a gap between passages is a rest whose onsets are not paired. DTW spreads a 3 s
#: pause over the note after it and leaves a gap of 2-3 s with that note inside (at 2 s it is left out); at 5 s the
#: orchestra's bleed in short tuttis is paired and bends the line through them (``benchmarks/pause_detection.py``,
#: ``benchmarks/full_movements.py``).
REST_GAP_S = 3.0


def onset_events(onsets: np.ndarray, *, min_gap_s: float = 0.04, context_s: float = 1.0):
    """Note onsets of a recording: the peaks of its summed onset features, each with its pitch vector.

    Notebook: ``04_music_synchronization``.

    A frame is an onset where the summed features are the largest within ``min_gap_s`` and stand above the
    median of the ``context_s`` around by more than the median deviation there (a level that follows loud and
    soft passages). Its time is refined to a fraction of a frame with a parabola through the peak; its vector is
    the largest value of each band over the peak frame and its two neighbours, of unit length.

    Parameters
    ----------
    onsets : np.ndarray [shape=(bands, frames)]
        Onset features at :data:`FEATURE_RATE`, e.g. :func:`~concerto_nb.sync.semitone_flux`.

    Returns
    -------
    times : np.ndarray [shape=(E,)]
        Seconds.
    vectors : np.ndarray [shape=(E, bands)]
        Unit-length pitch vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import sync
    >>> sr = sync.SYNC_SR
    >>> t = np.arange(3 * sr) / sr
    >>> a4, e5 = (np.sin(2 * np.pi * f * t) * (t > start) for f, start in ((440, 0.5), (660, 1.2)))
    >>> times, vectors = sync.onset_events(sync.semitone_flux((a4 + e5) * np.exp(-3 * t) * (t < 2.5)))
    >>> [round(float(s), 2) for s in times], (np.argmax(vectors, axis=1) + 21).tolist()  # seconds, MIDI pitches
    ([0.48, 1.18], [69, 76])
    """
    from scipy.ndimage import maximum_filter, median_filter

    strength = onsets.sum(axis=0)
    context = 2 * int(context_s * FEATURE_RATE / 2) + 1
    level = median_filter(strength, context, mode="nearest")
    spread = median_filter(np.abs(strength - level), context, mode="nearest")
    gap = 2 * max(1, int(round(min_gap_s * FEATURE_RATE))) + 1
    peak = (strength == maximum_filter(strength, gap, mode="nearest")) & (strength > level + spread)
    peak &= strength > 0.02 * float(strength.max())  # not the rounding noise of a steady tone
    idx = np.flatnonzero(peak)
    idx = idx[(idx > 0) & (idx < len(strength) - 1)]
    idx = idx[np.concatenate([[True], np.diff(idx) > 1])]  # a flat top of two frames is one onset
    y0, y1, y2 = strength[idx - 1], strength[idx], strength[idx + 1]
    curvature = y0 - 2 * y1 + y2
    # the parabola's vertex, where it bends down; half a frame at most either way
    frac = np.clip(0.5 * (y0 - y2) / np.where(curvature < 0, curvature, -np.inf), -0.5, 0.5)
    vectors = np.maximum(np.maximum(onsets[:, idx - 1], onsets[:, idx]), onsets[:, idx + 1]).T
    vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)
    return (idx + frac) / FEATURE_RATE, vectors


def match_onset_events(times_ref: np.ndarray, vectors_ref: np.ndarray, times_perf: np.ndarray,
                       vectors_perf: np.ndarray, predicted: np.ndarray, tempo: np.ndarray, *, early_s: float = 0.6,
                       late_s: float = LATE_S, min_similarity: float = MIN_SIMILARITY,
                       tempo_change_cost: float = TEMPO_CHANGE_COST, lookback: int = 6,
                       new_chain_cost: float = 0.5, long_link_s: float = 2.0) -> np.ndarray:
    """Pair reference onsets with performance onsets: one chain, forward in both, by dynamic programming.

    Notebook: ``04_music_synchronization``.

    A candidate pair :math:`(k, j)` has performance onset :math:`j` from ``early_s`` before to ``late_s`` after
    where the map puts reference onset :math:`k` (``predicted``) and gain
    :math:`s_{kj} = \\langle v_k, w_j \\rangle - s_{min}`, kept where positive. From pair :math:`(k', j')` to
    :math:`(k, j)` the performance takes :math:`\\tau_j - \\tau_{j'}` where the reference takes
    :math:`t_k - t_{k'}`; at the map's local tempo :math:`r_k` (performance seconds per reference second) that is
    a deviation :math:`\\Delta = (\\tau_j - \\tau_{j'}) - r_k (t_k - t_{k'})`. A link across ``long_link_s``
    of reference or more (a rest of the piano, longer than the span the tempo was measured over) may instead keep
    the map's own interval, :math:`\\Delta = (\\tau_j - \\tau_{j'}) - (p_k - p_{k'})`, whichever is smaller:
    the pianist may take a rest faster or slower than the tempo around it, and DTW measured by how much; by the
    tempo alone, repeated chords after the rest fit a chord late as well as on time. The best chain ending in a
    pair,

    .. math:: V(k, j) = s_{kj} + \\max\\Big(0,\\ \\max_{k - L \\le k' < k,\\ j' < j} V(k', j') - c\\,|\\Delta|,
              \\ \\max_{k' < k,\\ j' < j} V(k', j') - c_{new}\\Big),

    continues a pair among the last ``lookback`` reference onsets (:math:`L`) at the cost of the deviation, or
    carries on from any earlier pair at the fixed ``new_chain_cost`` (across a tutti, where the separated piano's
    onsets are the orchestra's bleed). The chain with the largest total is returned.

    Parameters
    ----------
    times_ref, times_perf : np.ndarray [shape=(K,)], [shape=(J,)]
        Onset times (s), increasing (:func:`onset_events`).
    vectors_ref, vectors_perf : np.ndarray [shape=(K, bands)], [shape=(J, bands)]
        Unit pitch vectors.
    predicted : np.ndarray [shape=(K,)]
        Performance time the map gives each reference onset.
    tempo : np.ndarray [shape=(K,)]
        The map's slope around each reference onset (performance seconds per reference second).
    long_link_s : float
        Reference seconds from which a link may keep the map's interval. :func:`snap_to_onsets` passes its
        ``tempo_window_s``, the half-width of the span the tempo is measured over (shorter, the map's bends inside a
        phrase let wrong chains through; ``benchmarks/expressive.py``).

    Returns
    -------
    pairs : np.ndarray of int [shape=(P, 2)]
        ``(k, j)`` indices, increasing in both columns.
    """
    nodes = []  # (k, j, gain) of every candidate pair, in order of k
    for k, at in enumerate(predicted):
        near = np.flatnonzero((times_perf >= at - early_s) & (times_perf <= at + late_s))
        gain = vectors_perf[near] @ vectors_ref[k] - min_similarity
        nodes.extend((k, j, g) for j, g in zip(near[gain > 0], gain[gain > 0]))
    if not nodes:
        return np.zeros((0, 2), dtype=int)
    ks, js, gains = (np.array(column) for column in zip(*nodes))
    ks, js = ks.astype(int), js.astype(int)
    total, previous = gains.astype(float), np.full(len(ks), -1)
    # per performance onset, the best total of a chain ending there among the reference onsets done so far
    best_total, best_node = np.full(len(times_perf), -np.inf), np.full(len(times_perf), -1)
    first_of_k = np.searchsorted(ks, ks)
    first_in_lookback = np.searchsorted(ks, ks - lookback)
    for start in np.flatnonzero(np.diff(np.concatenate([[-1], ks]))):
        stop = start + int(np.sum(ks == ks[start]))
        running = np.maximum.accumulate(best_total)  # best over performance onsets up to j
        where = np.maximum.accumulate(np.where(best_total >= running, np.arange(len(running)), 0))
        for i in range(start, stop):
            options = [(0.0, -1)]  # (value, node it continues): a chain may start here
            near = np.arange(first_in_lookback[i], first_of_k[i])
            near = near[js[near] < js[i]]
            if len(near):
                span = times_ref[ks[i]] - times_ref[ks[near]]
                interval = times_perf[js[i]] - times_perf[js[near]]
                deviation = np.abs(interval - tempo[ks[i]] * span)
                # across a rest, the map's own interval is as good a guess as its tempo
                across = span >= long_link_s
                deviation[across] = np.minimum(deviation[across], np.abs(
                    interval[across] - (predicted[ks[i]] - predicted[ks[near][across]])))
                value = total[near] - tempo_change_cost * deviation
                m = int(np.argmax(value))
                options.append((value[m], near[m]))
            if js[i] > 0 and np.isfinite(running[js[i] - 1]):
                options.append((running[js[i] - 1] - new_chain_cost, best_node[where[js[i] - 1]]))
            value, node = max(options, key=lambda option: option[0])
            total[i] += value
            previous[i] = node
        for i in range(start, stop):
            if total[i] > best_total[js[i]]:
                best_total[js[i]], best_node[js[i]] = total[i], i
    pairs, i = [], int(np.argmax(total))
    while i >= 0:
        pairs.append((ks[i], js[i]))
        i = previous[i]
    return np.array(pairs[::-1], dtype=int)


def snap_to_onsets(time_map: np.ndarray, onsets_ref: np.ndarray, onsets_perf: np.ndarray, *,
                   tempo_window_s: float = 2.0, keep: np.ndarray | None = None,
                   keep_performance: np.ndarray | None = None, entry_margin_s: float = 0.2,
                   exit_margin_s: float = 0.1, min_rest_s: float = REST_GAP_S, **matching) -> np.ndarray:
    """Put the map through the paired onsets of the two recordings.

    Notebook: ``04_music_synchronization``.

    The onsets of each recording (:func:`onset_events`) are paired (:func:`match_onset_events`, ``matching``
    its options; the local tempo is the map's slope over :math:`\\pm` ``tempo_window_s``, wide enough that a
    fermata the map spread over a bar hardly changes it). Each pair becomes an anchor, and the anchors of
    ``time_map`` between two pairs move by the offsets interpolated between them: the line through a rest keeps
    its shape and moves with its ends.

    Parameters
    ----------
    time_map : np.ndarray [shape=(K, 2)]
        ``[reference_s, performance_s]``, strictly increasing: a whole map, or the part of one that a take covers
        (only the onsets inside its two ranges are paired, and its ends stay where they are).
    onsets_ref, onsets_perf : np.ndarray [shape=(bands, frames)]
        Onset features at :data:`FEATURE_RATE` (:func:`~concerto_nb.sync.semitone_flux`), the performance's
        already moved by the chroma shift.
    keep : np.ndarray of bool [shape=(reference frames,)], optional
        Reference frames whose timing the performance tells (the passages the pianist plays, as
        :func:`~concerto_nb.sync.align` marks them). The reference's onsets in a rest of ``min_rest_s`` or more
        between two passages (its reverberation, the orchestra's bleed in a separated piano) are not paired;
        those up to ``entry_margin_s`` ahead of a passage or ``exit_margin_s`` after it are (an onset's peak comes
        a frame or two from where the passage is marked to start or end). A shorter gap may be a pause that DTW
        spread over the notes after it: the pianist's first note after the pause then falls in the gap, and is
        paired there.
    keep_performance : np.ndarray of bool [shape=(performance frames,)], optional
        The same for the performance's onsets (its decay after a passage), in a rest of any length.
    min_rest_s : float
        Reference seconds from which a gap between passages is a rest whose onsets are not paired.

    Returns
    -------
    time_map : np.ndarray [shape=(K', 2)], strictly increasing, same ends.

    See Also
    --------
    refine_with_onsets : shifts whole windows; this moves single notes.
    """
    times_ref, vectors_ref = _outside_rests(*onset_events(onsets_ref), keep, entry_margin_s, exit_margin_s,
                                            min_rest_s)
    times_perf, vectors_perf = _outside_rests(*onset_events(onsets_perf), keep_performance, entry_margin_s,
                                              exit_margin_s)
    # a map of one take covers part of each recording: only the onsets inside it are paired
    inside_ref = (times_ref >= time_map[0, 0]) & (times_ref <= time_map[-1, 0])
    inside_perf = (times_perf >= time_map[0, 1]) & (times_perf <= time_map[-1, 1])
    times_ref, vectors_ref = times_ref[inside_ref], vectors_ref[inside_ref]
    times_perf, vectors_perf = times_perf[inside_perf], vectors_perf[inside_perf]
    tempo = (map_times(time_map, times_ref + tempo_window_s)
             - map_times(time_map, times_ref - tempo_window_s)) / (2 * tempo_window_s)
    matching.setdefault("long_link_s", tempo_window_s)  # a link longer than the tempo's half-span: a rest
    pairs = match_onset_events(times_ref, vectors_ref, times_perf, vectors_perf, map_times(time_map, times_ref),
                               tempo, **matching)
    if len(pairs) < 2:
        return time_map
    at = times_ref[pairs[:, 0]]
    offset = times_perf[pairs[:, 1]] - map_times(time_map, at)
    grid = np.unique(np.concatenate([time_map[1:-1, 0], at]))
    # no offset at the map's two ends: a rest there (the opening tutti) is a line from the end to the first pair
    offset_at = np.interp(grid, np.concatenate([time_map[:1, 0], at, time_map[-1:, 0]]),
                          np.concatenate([[0.0], offset, [0.0]]))
    moved = np.column_stack([grid, map_times(time_map, grid) + offset_at])
    return _strictly_increasing(np.vstack([time_map[:1], moved, time_map[-1:]]))


def _outside_rests(times: np.ndarray, vectors: np.ndarray, keep: np.ndarray | None, entry_margin_s: float,
                   exit_margin_s: float, min_rest_s: float = 0.0):
    """The onsets not inside a rest of ``min_rest_s`` or more between two passages of ``keep`` (frames at
    :data:`FEATURE_RATE`), where a passage reaches ``entry_margin_s`` ahead of its first frame and
    ``exit_margin_s`` after its last."""
    if keep is None or not keep.any():
        return times, vectors
    from scipy.ndimage import binary_dilation

    before, after = (int(round(s * FEATURE_RATE)) for s in (entry_margin_s, exit_margin_s))
    reach = np.zeros(2 * max(before, after) + 1, dtype=bool)  # a frame up to `before` ahead of a kept one,
    reach[max(before, after) - before: max(before, after) + after + 1] = True  # or up to `after` behind it
    rest = ~binary_dilation(keep, reach)
    played = np.flatnonzero(keep)
    rest[: played[0]] = rest[played[-1] + 1:] = False  # before the first note and after the last: no rest
    for start, stop in runs(rest):
        rest[start:stop] = stop - start >= min_rest_s * FEATURE_RATE  # a shorter gap may be a pause
    in_rest = rest[np.minimum(np.round(times * FEATURE_RATE).astype(int), len(rest) - 1)]
    return times[~in_rest], vectors[~in_rest]
