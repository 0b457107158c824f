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

import inspect

import numpy as np

from .._arrays import runs
from .audio_features import FEATURE_RATE
from .timemap import _strictly_increasing, map_times

__all__ = ["onset_events", "match_onset_events", "pairing_margins", "snap_to_onsets", "MIN_SIMILARITY",
           "TEMPO_CHANGE_COST", "LATE_S", "REST_GAP_S", "MIN_PAIRING_MARGIN", "FAR_PLACEMENT_S", "UNSURE_DEVIATION_S",
           "unsure_passages"]

#: Cosine similarity of two onsets' pitch vectors below which they are not paired: chords that share a note or
#: two score 0.2-0.5, the same notes with the orchestra's bleed on one side 0.5-0.9 (``benchmarks/expressive.py``).
MIN_SIMILARITY = 0.3
#: Score lost per second by which the performance's interval between two pairs differs from the reference's at the
#: map's tempo: a breath of 0.4 s costs about what one well-matched note gains (``benchmarks/expressive.py``).
TEMPO_CHANGE_COST = 1.0
#: How much later (s) than the map a performance onset may be paired: a fermata held 2.5 s, which the map spreads
#: over the next bar; earlier than the map, ``early_s`` or back to where it puts the reference onset before, at
#: most as much (``benchmarks/expressive.py``, "Note-level matching"; ``benchmarks/unsure_passages.py``).
LATE_S = 3.0
#: Reference seconds from which a gap between passages is a rest whose onsets are not paired. DTW spreads a 3 s
#: pause over the note after it and leaves a gap of 2-3 s with that note inside (at 2 s it is left out); at 5 s the
#: orchestra's bleed in short tuttis is paired and bends the line through them (``benchmarks/pause_detection.py``,
#: ``benchmarks/full_movements.py``).
REST_GAP_S = 3.0
#: Score margin (:func:`pairing_margins`) under which a pair is unsure: another placement of the note, at least
#: :data:`FAR_PLACEMENT_S` away, fits almost as well (about a third of a well-matched note's gain;
#: ``benchmarks/expressive.py``, "Unsure passages").
MIN_PAIRING_MARGIN = 0.3
#: Performance seconds from a pair's onset from which another placement of its note is another timing, not the
#: same note heard a little early or late (:func:`pairing_margins`; the issue's bound on an onset's error).
FAR_PLACEMENT_S = 0.3
#: Seconds by which the performance's interval between two neighbouring pairs may depart from the map's tempo
#: before the reference's unpaired onsets between them count as unsure: the map spreads the difference evenly,
#: the pianist may have put it all before one note (``benchmarks/expressive.py``, "Unsure passages").
UNSURE_DEVIATION_S = 0.2


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
    # not in the last 60 ms: a recording cut mid-note ends in a click, whose flux peaks in every band within half
    # a window of the end (Op. 37 rubato in benchmarks/expressive.py: paired with the pianist's last note)
    idx = idx[(idx > 0) & (idx < len(strength) - 3)]
    idx = idx[np.diff(idx, prepend=-2) > 1]  # a flat top of two frames is one onset
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
    where the map puts reference onset :math:`k` (``predicted``), or from where it puts onset :math:`k - 1` if that
    is earlier (at most ``late_s`` before): where the pianist holds a lone note, DTW spreads the hold over the note
    and puts its onset late by up to the hold's length. Its gain is
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
    return _best_chain(_chain_values(times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo,
                                     early_s=_early_windows(predicted, early_s, late_s), late_s=late_s,
                                     min_similarity=min_similarity, tempo_change_cost=tempo_change_cost,
                                     lookback=lookback, new_chain_cost=new_chain_cost, long_link_s=long_link_s))


def pairing_margins(times_ref: np.ndarray, vectors_ref: np.ndarray, times_perf: np.ndarray,
                    vectors_perf: np.ndarray, predicted: np.ndarray, tempo: np.ndarray, pairs: np.ndarray, *,
                    far_s: float = FAR_PLACEMENT_S, **matching) -> np.ndarray:
    """How sure each pair of a chain is: what the best chain that places its reference onset elsewhere loses.

    Notebook: ``04_music_synchronization``.

    The best chain through a candidate pair :math:`(k, j)` of :func:`match_onset_events` totals the best chain
    ending in it, :math:`V(k, j)`, and the best chain starting from it, the same programme run backwards in time,
    less the pair's own gain, which both count. A pair's margin is its best chain's total less that of the best
    chain pairing the same reference onset with a performance onset more than ``far_s`` away. A small margin
    means two placements of the note fit about as well: a breath before one of several notes the separated piano
    lost, or a lone note whose pitch the orchestra's bleed repeats.

    Parameters
    ----------
    times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo
        As :func:`match_onset_events` takes them.
    pairs : np.ndarray of int [shape=(P, 2)]
        The chain :func:`match_onset_events` returned for the same arguments.
    far_s : float
        Performance seconds from the chosen onset from which another placement counts.
    **matching
        :func:`match_onset_events`' options, the same as for ``pairs``.

    Returns
    -------
    margins : np.ndarray [shape=(P,)]
        Score lost by the best other placement of each pair (``inf`` where there is none).

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import sync
    >>> t_ref, v_ref = np.array([0.0, 0.5, 1.0]), np.eye(3)  # three notes
    >>> t_perf, v_perf = np.array([0.0, 0.5, 1.0, 1.4]), np.eye(3)[[0, 1, 2, 2]]  # the last one played twice
    >>> pairs = sync.match_onset_events(t_ref, v_ref, t_perf, v_perf, t_ref, np.ones(3))
    >>> pairs.tolist(), sync.pairing_margins(t_ref, v_ref, t_perf, v_perf, t_ref, np.ones(3), pairs).round(2).tolist()
    ([[0, 0], [1, 1], [2, 2]], [inf, inf, 0.4])
    """
    options = _matching_options(matching, predicted)
    return _margins(_chain_values(times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo, **options),
                    times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo, pairs, far_s, options)


def _matching_options(matching: dict, predicted: np.ndarray) -> dict:
    """:func:`match_onset_events`' keyword options: its defaults, updated with ``matching``; ``early_s`` becomes
    each reference onset's own window, back to where the map puts the onset before it (``predicted``)."""
    options = {name: parameter.default for name, parameter in inspect.signature(match_onset_events).parameters.items()
               if parameter.kind is parameter.KEYWORD_ONLY}
    options.update(matching)
    options["early_s"] = _early_windows(predicted, options["early_s"], options["late_s"])
    return options


def _early_windows(predicted: np.ndarray, early_s: float, late_s: float) -> np.ndarray:
    """How far before where the map puts each reference onset (``predicted``) its candidates start: ``early_s``, or
    back to where the map puts the onset before if that is earlier, at most ``late_s`` (:func:`match_onset_events`)."""
    since_previous = np.diff(predicted, prepend=-np.inf)  # performance seconds from the onset before
    return np.clip(since_previous, early_s, max(early_s, late_s))


def _best_chain(chain) -> np.ndarray:
    """The pairs ``(k, j)`` of the chain with the largest total in :func:`_chain_values`' result."""
    if chain is None:
        return np.zeros((0, 2), dtype=int)
    ks, js, _, total, previous = chain
    pairs, i = [], int(np.argmax(total))
    while i >= 0:
        pairs.append((ks[i], js[i]))
        i = previous[i]
    return np.array(pairs[::-1], dtype=int)


def _margins(ahead, times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo, pairs, far_s, options):
    """:func:`pairing_margins` from the forward programme's result ``ahead`` (:func:`_chain_values`)."""
    if ahead is None or not len(pairs):
        return np.full(len(pairs), np.inf)
    # backwards in time: the candidates are the same, in the reverse order (k falling, then j falling)
    early, late = (np.broadcast_to(options[key], len(times_ref)) for key in ("early_s", "late_s"))
    backward = dict(options, early_s=late[::-1], late_s=early[::-1])
    _, _, _, behind, _ = _chain_values(-times_ref[::-1], vectors_ref[::-1], -times_perf[::-1], vectors_perf[::-1],
                                       -predicted[::-1], tempo[::-1], **backward)
    ks, js, gains, total, _ = ahead
    if len(behind) != len(total):  # not the same candidates (cannot happen in exact arithmetic): no margins
        return np.full(len(pairs), np.inf)
    through = total + behind[::-1] - gains  # the best chain through each candidate pair
    margins = np.full(len(pairs), np.inf)
    firsts, lasts = np.searchsorted(ks, pairs[:, 0]), np.searchsorted(ks, pairs[:, 0], side="right")
    for p, (k, j) in enumerate(pairs):
        of_k = np.arange(firsts[p], lasts[p])  # the candidates of reference onset k
        chosen = of_k[js[of_k] == j][0]
        elsewhere = of_k[np.abs(times_perf[js[of_k]] - times_perf[j]) > far_s]
        if len(elsewhere):
            margins[p] = through[chosen] - through[elsewhere].max()
    return margins


def _chain_values(times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo, *, early_s, late_s,
                  min_similarity, tempo_change_cost, lookback, new_chain_cost, long_link_s):
    """:func:`match_onset_events`' dynamic programme: every candidate pair ``(ks[i], js[i])`` with its gain, the
    best total :math:`V` of a chain ending in it and the pair it continues (``previous``, -1 for none); None
    without candidates. ``early_s`` and ``late_s``: how far before and after ``predicted`` each reference onset's
    candidates lie, one value for all or one per onset (:func:`_matching_options`)."""
    nodes = []  # (k, j, gain) of every candidate pair, in order of k
    early_s, late_s = np.broadcast_to(early_s, len(predicted)), np.broadcast_to(late_s, len(predicted))
    for k, at in enumerate(predicted):
        near = np.flatnonzero((times_perf >= at - early_s[k]) & (times_perf <= at + late_s[k]))
        gain = vectors_perf[near] @ vectors_ref[k] - min_similarity
        nodes.extend((k, j, g) for j, g in zip(near[gain > 0], gain[gain > 0]))
    if not nodes:
        return None
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
    return ks, js, gains, total, previous


def snap_to_onsets(time_map: np.ndarray, onsets_ref: np.ndarray, onsets_perf: np.ndarray, *,
                   tempo_window_s: float = 2.0, keep: np.ndarray | None = None,
                   keep_performance: np.ndarray | None = None, entry_margin_s: float = 0.2,
                   exit_margin_s: float = 0.1, min_rest_s: float = REST_GAP_S, return_unsure: bool = False,
                   **matching):
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
    return_unsure : bool
        Also return the passages where the map may be off by a note or a breath (:func:`unsure_passages`).

    Returns
    -------
    time_map : np.ndarray [shape=(K', 2)], strictly increasing, same ends.
    unsure : np.ndarray [shape=(U, 2)], only with ``return_unsure``
        ``[start_s, end_s]`` of each unsure passage, reference seconds.

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
    predicted = map_times(time_map, times_ref)
    options = _matching_options(matching, predicted)
    # match_onset_events, with the programme's values kept for the margins
    chain = _chain_values(times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo, **options)
    pairs = _best_chain(chain)
    if len(pairs) < 2:
        return (time_map, np.zeros((0, 2))) if return_unsure else time_map
    at = times_ref[pairs[:, 0]]
    offset = times_perf[pairs[:, 1]] - map_times(time_map, at)
    grid = np.unique(np.concatenate([time_map[1:-1, 0], at]))
    # no offset at the map's two ends: a rest there (the opening tutti) is a line from the end to the first pair
    offset_at = np.interp(grid, np.concatenate([time_map[:1, 0], at, time_map[-1:, 0]]),
                          np.concatenate([[0.0], offset, [0.0]]))
    moved = np.column_stack([grid, map_times(time_map, grid) + offset_at])
    snapped = _strictly_increasing(np.vstack([time_map[:1], moved, time_map[-1:]]))
    if not return_unsure:
        return snapped
    margins = _margins(chain, times_ref, vectors_ref, times_perf, vectors_perf, predicted, tempo, pairs,
                       FAR_PLACEMENT_S, options)
    return snapped, unsure_passages(times_ref, times_perf, pairs, margins, tempo, max_gap_s=min_rest_s)


def unsure_passages(times_ref: np.ndarray, times_perf: np.ndarray, pairs: np.ndarray, margins: np.ndarray,
                    tempo: np.ndarray, *, min_margin: float = MIN_PAIRING_MARGIN,
                    max_deviation_s: float = UNSURE_DEVIATION_S, max_gap_s: float = REST_GAP_S,
                    reach_s: float = 0.5) -> np.ndarray:
    """Where a map through the pairs may be off by a note or a breath: the passages to listen to.

    Notebook: ``04_music_synchronization``.

    Two kinds, in reference seconds, overlapping ones merged:

    - around a pair whose margin (:func:`pairing_margins`) is under ``min_margin``, from the pair before it to the
      pair after it, and at least ``reach_s`` either side: another placement of the note fits about as well;
    - between two neighbouring pairs under ``max_gap_s`` apart with reference onsets left unpaired between them,
      where the performance's interval departs from the map's tempo (``tempo`` at the later pair) by more than
      ``max_deviation_s``: the map spreads the difference evenly over the unpaired notes, while the pianist may
      have taken it all before one of them.

    Parameters
    ----------
    times_ref, times_perf : np.ndarray [shape=(K,)], [shape=(J,)]
        Onset times (s), as :func:`match_onset_events` took them.
    pairs : np.ndarray of int [shape=(P, 2)]
        Its chain.
    margins : np.ndarray [shape=(P,)]
        :func:`pairing_margins` of the chain.
    tempo : np.ndarray [shape=(K,)]
        The map's tempo at each reference onset.

    Returns
    -------
    passages : np.ndarray [shape=(U, 2)]
        ``[start_s, end_s]``, reference seconds, increasing and apart.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import sync
    >>> t_ref = np.arange(8) * 0.5  # eight notes; the pianist breathes 0.6 s before the sixth
    >>> t_perf = t_ref + 0.6 * (t_ref >= 2.5)
    >>> pairs = np.array([[0, 0], [1, 1], [2, 2], [3, 3], [6, 6], [7, 7]])  # the fifth and sixth not paired
    >>> sync.unsure_passages(t_ref, t_perf, pairs, np.full(6, np.inf), np.ones(8)).tolist()
    [[1.5, 3.0]]
    """
    spans = []
    at_ref, at_perf = times_ref[pairs[:, 0]], times_perf[pairs[:, 1]]
    for p in np.flatnonzero(margins < min_margin):
        spans.append((min(at_ref[max(p - 1, 0)], at_ref[p] - reach_s),
                      max(at_ref[min(p + 1, len(pairs) - 1)], at_ref[p] + reach_s)))
    for p in range(1, len(pairs)):
        span = at_ref[p] - at_ref[p - 1]
        unpaired = np.sum((times_ref > at_ref[p - 1]) & (times_ref < at_ref[p]))
        deviation = abs(at_perf[p] - at_perf[p - 1] - tempo[pairs[p, 0]] * span)
        if unpaired and span < max_gap_s and deviation > max_deviation_s:
            spans.append((at_ref[p - 1], at_ref[p]))
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.array(merged, dtype=float).reshape(-1, 2)


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
