"""Skips and repeats: where the pianist jumps, found on the time map and re-aligned with a path that jumps.
Notebook: ``04_music_synchronization``.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from .._arrays import runs
from .audio_features import FEATURE_RATE
from .timemap import _strictly_increasing, _with_pauses, _without_pauses, map_times

__all__ = ["skips_and_repeats", "realign_jumps", "time_map_with_jumps", "MIN_JUMP_GAIN", "CANDIDATE_RATIO"]

#: A jump is taken only where it saves this many times the window's mean frame cost over the best path without one
#: (0.4 s of average frames): clean rubato takes, whose fermatas DTW reads as stalls, gained 2-14; restarts of 3-6 s
#: and skips of 6-12 s 23-121 (``benchmarks/jump_detection.py``).
MIN_JUMP_GAIN = 20.0

#: :func:`realign_jumps` looks for a jump wherever the map's tempo leaves [1/2, 2] for 2 s: DTW smears a skip of
#: 6-12 s over a few seconds at 2-3x, which the report's threshold of 3 misses; :data:`MIN_JUMP_GAIN` decides
#: (``benchmarks/jump_detection.py``).
CANDIDATE_RATIO = 2.0


def skips_and_repeats(time_map: np.ndarray, min_s: float = 2.0, window_s: float = 1.0, max_ratio: float = 3.0,
                      played_s=None, pauses=None):
    """Passages the pianist skipped or played again, as the time map shows them.

    Notebook: ``04_music_synchronization``.

    A skip leaves a stretch of the reference that maps to (almost) no performance time: the map's
    local tempo ratio :math:`\\Delta\\tau / \\Delta t` over ``window_s`` falls below ``1 / max_ratio``.
    A repeat is the reverse: performance time spent at (almost) one instant of the reference,
    ratio above ``max_ratio``. Runs shorter than ``min_s`` (of reference for a skip, of
    performance for a repeat) are ignored; runs of one kind less than ``min_s`` apart are one
    passage. Each is reported as the map's segments inside the run that are that flat (or
    steep) themselves: the window would blur its ends by ``window_s``. With ``played_s``
    (``details["played_s"]`` of :func:`align`) only the part between the pianist's first and last
    note is looked at: the two ends are :func:`uneven_ends`' business. ``pauses`` (``details["pauses"]``)
    are taken out of the performance first: a pianist who stops for a breath has not repeated anything.

    Returns
    -------
    list of dict
        ``{"kind": "skip" | "repeat", "reference_s": [start, end], "performance_s": [start, end]}``,
        in reference order.
    """
    if pauses is not None and len(pauses):
        quiet = np.asarray(pauses, dtype=float).reshape(-1, 3)[:, 1:]  # (performance start, end) per pause
        found = skips_and_repeats(np.column_stack([time_map[:, 0], _without_pauses(time_map[:, 1], quiet)]),
                                  min_s, window_s, max_ratio,
                                  None if played_s is None else [[r, float(_without_pauses(p, quiet))]
                                                                 for r, p in played_s])
        for jump in found:
            jump["performance_s"] = [round(float(x), 2) for x in _with_pauses(jump["performance_s"], quiet)]
        return found
    step = 0.1
    if played_s is None:
        start, end = 0.0, time_map[-1, 0]
    else:
        (start, _), (end, _) = _plausible_part(time_map, played_s, window_s, max_ratio)
    t = np.arange(start, max(end - window_s, start) + 1e-9, step)
    ratio = _local_ratio(time_map, t, window_s)
    found = []
    for kind, flagged in (("skip", ratio < 1 / max_ratio), ("repeat", ratio > max_ratio)):
        merged = []
        for a, b in runs(flagged):
            # DTW finds a few spurious matches inside a skip: a gap shorter than min_s does not split it
            if merged and (a - merged[-1][1] + 1) * step - window_s < min_s:  # gap between the passages
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        for a, b in merged:
            ref = [float(t[a]), float(t[b - 1] + window_s)]
            # the window blurs the jump over window_s on either side: narrow it down to the map's own
            # segments that are that steep (or flat)
            inside = (time_map[1:, 0] > ref[0]) & (time_map[:-1, 0] < ref[1])
            slope = np.diff(time_map[:, 1]) / np.diff(time_map[:, 0])
            steep = np.flatnonzero(inside & ((slope < 1 / max_ratio) if kind == "skip" else (slope > max_ratio)))
            if len(steep):
                ref = [max(ref[0], float(time_map[steep[0], 0])), min(ref[1], float(time_map[steep[-1] + 1, 0]))]
            perf = [float(x) for x in map_times(time_map, ref)]
            if (ref[1] - ref[0] if kind == "skip" else perf[1] - perf[0]) >= min_s:
                found.append({"kind": kind, "reference_s": [round(x, 2) for x in ref],
                              "performance_s": [round(x, 2) for x in perf]})
    return sorted(found, key=lambda f: f["reference_s"][0])


def _local_ratio(time_map: np.ndarray, t: np.ndarray, window_s: float) -> np.ndarray:
    return (map_times(time_map, t + window_s) - map_times(time_map, t)) / window_s


def _plausible_part(time_map: np.ndarray, played_s, window_s: float = 1.0, max_ratio: float = 3.0):
    """``played_s`` narrowed to where the map's tempo is plausible at both ends.

    A recording that starts right at the pianist's first note makes DTW squeeze the end of the
    orchestra's introduction against that note: the first "played" stretch is then a skip, and
    the pianist's first note on the map is where the squeeze ends.
    """
    (r0, _), (r1, _) = played_s
    t = np.arange(r0, max(r1 - window_s, r0) + 1e-9, 0.1)
    ratio = _local_ratio(time_map, t, window_s)
    ok = np.flatnonzero((ratio >= 1 / max_ratio) & (ratio <= max_ratio))
    if len(ok):
        r0, r1 = t[ok[0]], t[ok[-1]] + window_s
    return [[float(r), float(map_times(time_map, r))] for r in (r0, r1)]


def realign_jumps(path: np.ndarray, found: list, features_1, features_2, margin_s: float = 5.0,
                  max_step: int = 2, max_cells: int = 20_000_000, *, return_jumps: bool = False,
                  performance_rests: np.ndarray | None = None, skip_margin_s: float = 7.0):
    """Re-align around each skip or repeat with a path that jumps, forward or back, in one step.

    Notebook: ``04_music_synchronization``.

    DTW can only cross a skipped passage with a run of reference steps, each paying the cost
    of the one performance frame the run stays on. So it jumps where the pianist holds a chord
    that resembles much of the skipped music, not where they cut: in the demo with 20-32 s left
    out, 2-4 s early, with the exact piano stem too. A repeat, a jump back, it can only show as a
    stall, and puts that where the stall costs least. Around each passage (``margin_s`` on
    either side, plus the performance time a repeat takes, between two points of ``path``) this
    gives every performance frame :math:`m` one reference frame :math:`n(m)`, advancing by 0 to
    ``max_step`` frames (0 and ``max_step`` at a small penalty :math:`\\rho`) or jumping once (at
    :math:`\\rho` too: forward for a skip, back for a repeat), and minimises

    .. math:: \\sum_m C(n(m), m) + \\rho \\, \\#\\{\\text{penalised steps}\\}

    by dynamic programming. Every performance frame counts once, however much reference is
    skipped, so neither a long jump nor a long stall is cheap in itself. The jump is kept only where
    it saves :data:`MIN_JUMP_GAIN` times the mean cost over the best path without one: a fermata held
    2 s costs the path without a jump a hundred stalls, and a jump back into music that resembles the
    held chord can undercut that by a little; a pianist who really played a passage again undercuts
    it by much more; elsewhere DTW's path stands. After a jump, the path from where it lands to both ends is
    MrMsDTW's again on these features: the first path can stray for longer than ``margin_s`` after a skip or a
    restart; a later passage whose window overlaps this one's is left as it is. The returned path stays monotonic:
    after a jump back it resumes where the repeat has caught up.

    Parameters
    ----------
    path : np.ndarray [shape=(2, L)]
        Strictly monotonic warping path (both rows increase), feature frames, reference in row 0.
    found : list of dict
        :func:`skips_and_repeats`'s passages (or any stretch to look at for a jump back, as a ``"repeat"``).
    features_1, features_2 : tuple of np.ndarray
        (chroma, DLNCO) of the reference and the performance, as given to MrMsDTW.
    margin_s : float
        Seconds of reference re-aligned on each side of a passage.
    max_step : int
        Most reference frames per performance frame outside the jump (tempo ratio up to ``max_step``).
    max_cells : int
        A passage whose window has more (reference x performance) frames keeps DTW's path: the dynamic
        programming holds about 14 bytes per cell (the default: a repeat of about 30 s, a skip of minutes).
    return_jumps : bool
        Also return where the path jumped.
    performance_rests : np.ndarray [shape=(M,)], optional
        True at the performance frames (those of ``features_2``) inside the pianist's rests. Where a jump back is
        looked for (a repeat), silence there fits no reference frame better than another and keeps no
        tempo: the cost is the window's mean and every step is free. Otherwise the path without a jump through a
        long rest picks the reference frames least unlike silence, which makes DTW's hiding place for a replay
        after an entry look cheap; and with the steps paid for, a jump back at an entry saves the stalls that a
        rest counted slower than the orchestra's asks for: a false restart (``benchmarks/jump_detection.py``). A
        skip's window keeps its costs: free steps through a rest before a skip take up part of it, and the jump
        comes late.
    skip_margin_s : float
        ``margin_s`` for a skip: DTW smears a skip over more than the passage its tempo flags.

    Returns
    -------
    path : np.ndarray [shape=(2, L')]
        Strictly monotonic: no path points inside a skip or a repeat.
    jumps : list of dict, only with ``return_jumps``
        One per passage where the path jumped: ``kind`` (``"skip"`` forward, ``"restart"`` back),
        ``performance`` (the performance frame of the jump), ``reference`` ([frame before, frame after]),
        ``gain`` (what the jump saves over the best path without one, in mean frame costs) and,
        for a restart, ``replay``: the path ``(2, R)`` from the jump until the pianist is back where they left
        off (the monotonic path stands still there).
    """
    from synctoolbox.dtw.utils import compute_cost_matrices_between_anchors, make_path_strictly_monotonic
    from synctoolbox.feature.utils import normalize_feature

    (chroma_1, onset_1), (chroma_2, onset_2) = features_1, features_2
    chroma_1, chroma_2 = (normalize_feature(c, 2, 0.001) for c in (chroma_1, chroma_2))
    (n_end, m_end) = chroma_1.shape[1] - 1, chroma_2.shape[1] - 1
    jumps, around_jumps = [], []
    for passage in found:
        (start_s, end_s), (perf_start, perf_end) = passage["reference_s"], passage["performance_s"]
        back = passage["kind"] == "repeat"
        # a repeat's first playing can begin up to its length in performance time before the stall
        margin = margin_s + (perf_end - perf_start) if back else skip_margin_s
        a = int(np.searchsorted(path[0], max(0, int((start_s - margin) * FEATURE_RATE))))
        b = min(int(np.searchsorted(path[0], int((end_s + margin) * FEATURE_RATE))), path.shape[1] - 1)
        (n0, m0), (n1, m1) = path[:, a], path[:, b]
        if n1 - n0 < 3 or m1 - m0 < 3 or (n1 - n0 + 1) * (m1 - m0 + 1) > max_cells:
            continue
        if any(m0 <= stop and start <= m1 for start, stop in around_jumps):  # the path here is a jump's already
            continue
        # the cost MrMsDTW's finest level uses: chroma and DLNCO, half and half
        cost = compute_cost_matrices_between_anchors(chroma_1, chroma_2, np.array([[n0, n1], [m0, m1]]),
                                                     onset_1, onset_2)[0]
        in_rest = None if performance_rests is None or not back else performance_rests[m0:m1 + 1]
        if in_rest is not None:
            cost[:, in_rest] = cost.mean()
        rows, gain = _one_jump_path(cost, back, max_step, rest=in_rest)
        jump = _the_jump(rows, max_step)
        if jump is None:  # DTW's path stands
            continue
        local = np.stack([rows + n0, np.arange(cost.shape[1]) + m0])
        later = path[:, b + 1:]
        before, after = int(rows[jump - 1]) + n0, int(rows[jump]) + n0
        # DTW again from where the path lands to both ends: the first path strayed around the jump, and
        # may not be back on the music by the window's end
        onwards = _path_from(features_1, features_2, (after, m0 + jump), (n_end, m_end))
        if onwards is not None:
            local, later = local[:, :jump], onwards
        record = {"kind": "restart" if after < before else "skip", "performance": int(m0 + jump),
                  "reference": [before, after], "gain": round(gain, 1)}
        if after < before:  # the replay lasts until the pianist passes where they left off
            taken = np.concatenate([local[:, jump:], later], axis=1)
            caught_up = int(np.argmax(np.append(taken[0], before + 1) > before))
            record["replay"] = taken[:, :caught_up]
        jumps.append(record)
        around_jumps.append((m0, m1))
        path = np.concatenate([path[:, :a], local, later], axis=1)
        path[0, a:] = np.maximum.accumulate(path[0, a:])
    path = make_path_strictly_monotonic(path).astype(int)
    return (path, jumps) if return_jumps else path


def _mrmsdtw(features_1, features_2) -> np.ndarray:
    """MrMsDTW's strictly monotonic path ``(2, L)`` between two (chroma, DLNCO) feature pairs, as
    :func:`~concerto_nb.sync.align` runs it (synctoolbox's step weights 1.5, 1.5, 2; its progress output hidden)."""
    from synctoolbox.dtw.mrmsdtw import sync_via_mrmsdtw
    from synctoolbox.dtw.utils import make_path_strictly_monotonic

    (chroma_1, onset_1), (chroma_2, onset_2) = features_1, features_2
    with contextlib.redirect_stdout(io.StringIO()):
        path = sync_via_mrmsdtw(f_chroma1=chroma_1, f_onset1=onset_1, f_chroma2=chroma_2, f_onset2=onset_2,
                                input_feature_rate=FEATURE_RATE, step_weights=np.array([1.5, 1.5, 2.0]),
                                threshold_rec=10**6)
    return make_path_strictly_monotonic(path).astype(int)


def _path_from(features_1, features_2, start: tuple, end: tuple, min_frames: int = 2 * FEATURE_RATE):
    """:func:`_mrmsdtw`'s path (frames of the whole features) from ``start`` to ``end`` (``(reference frame,
    performance frame)`` each), or None where either side is shorter than ``min_frames``."""
    (n0, m0), (n1, m1) = start, end
    if n1 - n0 < min_frames or m1 - m0 < min_frames:
        return None
    (chroma_1, onset_1), (chroma_2, onset_2) = features_1, features_2
    return _mrmsdtw((chroma_1[:, n0:n1 + 1], onset_1[:, n0:n1 + 1]),
                    (chroma_2[:, m0:m1 + 1], onset_2[:, m0:m1 + 1])) + np.array([[n0], [m0]])


def _the_jump(rows: np.ndarray, max_step: int):
    """Index of the performance frame where :func:`_one_jump_path`'s ``rows`` jump (back, or forward by more
    than ``max_step``), or None."""
    steps = np.diff(rows)
    jumped = np.flatnonzero((steps < 0) | (steps > max_step))
    return int(jumped[0]) + 1 if len(jumped) else None


def _one_jump_path(cost: np.ndarray, back: bool = False, max_step: int = 2, penalty: float = 0.1,
                   rest: np.ndarray | None = None):
    """Reference frame (row of ``cost``) of each performance frame (column) from the first row to the last:
    steps of 0 to ``max_step`` rows and at most one jump, forward by more than ``max_step`` or, with
    ``back``, backward; 0, ``max_step`` and the jump cost ``penalty`` times the mean cost, any step free in the
    columns ``rest`` (the pianist's rests: no tempo to keep). The path jumps only
    where that costs :data:`MIN_JUMP_GAIN` times the mean cost less than the best path without a jump. See
    :func:`realign_jumps`.

    Returns the rows and the best jumping path's saving over the best path without a jump, in mean costs."""
    n, m = cost.shape
    rho = penalty * float(cost.mean())
    step_cost = [rho if s in (0, max_step) else 0.0 for s in range(max_step + 1)]
    rest = np.zeros(m, dtype=bool) if rest is None else rest
    rows = np.arange(n)
    before = np.full(n, np.inf)  # best cost to (row, this frame), not jumped yet
    before[0] = cost[0, 0]
    after = np.full(n, np.inf)  # jumped already
    step_before = np.zeros((m, n), np.int8)
    step_after = np.zeros((m, n), np.int8)  # -1: the jump lands here
    jump_from = np.zeros((m, n), np.int32)
    for j in range(1, m):
        best_before, best_after = np.full(n, np.inf), np.full(n, np.inf)
        for s in range(max_step + 1):
            for prev, best, steps in ((before, best_before, step_before), (after, best_after, step_after)):
                cand = np.full(n, np.inf)
                cand[s:] = prev[: n - s] + (0.0 if rest[j] else step_cost[s])
                better = cand < best
                best[better] = cand[better]
                steps[j, better] = s
        cand, source = np.full(n, np.inf), np.zeros(n, np.int64)
        if back:  # from the best not-jumped row above
            low = np.minimum.accumulate(before[::-1])[::-1]
            low_row = np.minimum.accumulate(np.where(before == low, rows, n - 1)[::-1])[::-1]
            cand[:-1], source[:-1] = low[1:] + rho, low_row[1:]
        else:  # from the best not-jumped row below r - max_step
            low = np.minimum.accumulate(before)
            low_row = np.maximum.accumulate(np.where(before == low, rows, 0))
            cand[max_step + 1:], source[max_step + 1:] = low[: n - max_step - 1] + rho, low_row[: n - max_step - 1]
        better = cand < best_after
        best_after[better] = cand[better]
        step_after[j, better] = -1
        jump_from[j] = source
        before, after = best_before + cost[:, j], best_after + cost[:, j]
    gain = float(before[-1] - after[-1]) / max(float(cost.mean()), 1e-12)
    jumped = gain > MIN_JUMP_GAIN
    ref = np.zeros(m, np.int64)
    r = n - 1
    for j in range(m - 1, 0, -1):
        ref[j] = r
        if jumped and step_after[j, r] == -1:
            r, jumped = int(jump_from[j, r]), False
        else:
            r -= int((step_after if jumped else step_before)[j, r])
    ref[0] = r
    return ref, gain


def time_map_with_jumps(time_map: np.ndarray, jumps: list, *, margin_s: float = 0.05) -> np.ndarray:
    """A time map that jumps where the pianist did: back for a restart, ahead for a skip.

    Notebook: ``04_music_synchronization``.

    :func:`~concerto_nb.sync.align`'s map only moves forward: it holds the orchestra while a pianist replays a
    passage, and rushes it through what they skip. An accompanist would go back with the pianist, or jump
    ahead. Here the map is cut at each jump into *segments*, each strictly increasing: the first ends at
    ``(reference before the jump, performance time of the jump)``, the next starts at
    ``(reference after the jump, the same performance time)``; after a restart it follows the replay's anchors
    until the pianist is back where they left off, then the map as it was. :func:`concerto_nb.tsm.warp` plays each
    segment and cross-fades them at the cuts.

    Parameters
    ----------
    time_map : np.ndarray [shape=(K, 2)]
        :func:`~concerto_nb.sync.align`'s map.
    jumps : list of dict
        ``details["jumps"]`` of :func:`~concerto_nb.sync.align`: ``kind``, ``performance_s``,
        ``reference_s`` ([before, after]) and, for a restart, ``replay``: anchors ``(R, 2)``
        [reference_s, performance_s] from the jump until the pianist is back where they left off.
    margin_s : float
        Anchors of ``time_map`` this close to a cut are left out (the cut's own anchors replace them).

    Returns
    -------
    np.ndarray [shape=(K', 3)]
        ``[reference_s, performance_s, segment]``, segments numbered from 0; performance times never
        decrease. With no jumps, ``time_map`` with a column of zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import sync
    >>> time_map = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 30.0]])
    >>> skip = {"kind": "skip", "performance_s": 5.0, "reference_s": [5.0, 8.0]}
    >>> sync.time_map_with_jumps(time_map, [skip]).tolist()
    [[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [8.0, 5.0, 1.0], [10.0, 10.0, 1.0], [20.0, 30.0, 1.0]]
    """
    rest = np.asarray(time_map, dtype=float)
    segments = []
    for jump in sorted(jumps, key=lambda j: j["performance_s"]):
        at, (before, after) = jump["performance_s"], jump["reference_s"]
        here = rest[(rest[:, 1] < at - margin_s) & (rest[:, 0] < before - margin_s)]
        segments.append(np.vstack([here, [before, at]]))
        replay = np.asarray(jump.get("replay", [[after, at]]), dtype=float)
        resume_perf, resume_ref = replay[-1, 1], replay[-1, 0]  # a restart: back where the pianist left off
        later = rest[(rest[:, 1] > resume_perf + margin_s) & (rest[:, 0] > resume_ref + margin_s)]
        rest = np.vstack([replay, later])
    segments.append(rest)
    segments = [_strictly_increasing(seg) for seg in segments if len(seg) >= 2]  # a cut at either end: no segment
    return np.vstack([np.column_stack([seg, np.full(len(seg), k)]) for k, seg in enumerate(segments)])


def replay_anchors(path_s: np.ndarray, *, anchor_step: float = 0.5, smooth_s: float = 0.5) -> np.ndarray:
    """Anchors of a replayed passage from its frame-level path: the reference averaged over ``smooth_s``,
    sampled every ``anchor_step`` seconds of performance, both ends kept.

    ``path_s``: ``(R, 2)`` [reference_s, performance_s], one row per performance frame, from the jump back
    until the pianist is where they left off. Returns ``(K, 2)``, strictly increasing."""
    width = max(1, int(round(smooth_s * FEATURE_RATE)))
    padded = np.pad(path_s[:, 0], (width // 2, width - 1 - width // 2), mode="edge")
    reference = np.maximum.accumulate(np.convolve(padded, np.ones(width) / width, "valid"))
    times = np.arange(path_s[0, 1] + anchor_step, path_s[-1, 1] - anchor_step / 2, anchor_step)
    inner = np.column_stack([np.interp(times, path_s[:, 1], reference), times])
    inner = inner[(inner[:, 0] > path_s[0, 0]) & (inner[:, 0] < path_s[-1, 0])]
    return _strictly_increasing(np.vstack([path_s[0], inner, path_s[-1]]))
