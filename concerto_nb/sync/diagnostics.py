"""Is it the same piece, and does the recording fit it: confidence, implausible tempi, uneven ends.
Notebook: ``04_music_synchronization``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio_features import FEATURE_RATE
from .jumps import _local_ratio, _plausible_part, skips_and_repeats

__all__ = ["MIN_CONFIDENCE", "LOW_SECOND_CONFIDENCE", "MAX_LOW_CONFIDENCE_SHARE", "MAX_IMPLAUSIBLE_TEMPO_SHARE",
           "MIN_CHROMA_VARIETY", "implausible_tempo_share", "uneven_ends", "low_confidence_share", "confidence",
           "not_the_piece", "octave_apart", "out_of_tune", "how_the_recording_fits"]

#: Below this :func:`confidence` (measured on the mixture), the recordings are probably not the same music.
#: Demo concerto against its pianist 0.68, against the first or second half of it 0.74 / 0.58, the real
#: Schubert pair (a semitone apart) 0.59; against real recordings of other pieces (four Bach recordings,
#: their first 30 s, 30-105 s, first 75 s) 0.06-0.27 (``benchmarks/same_piece.py``).
MIN_CONFIDENCE = 0.35
#: A second of the path scoring below this counts as a poor match (for :func:`low_confidence_share`).
LOW_SECOND_CONFIDENCE = 0.2
#: If more than this share of the (non-silent) seconds have a per-second confidence below
#: :data:`LOW_SECOND_CONFIDENCE`, only part of the recordings match (demo: 2 %). A pianist who plays only
#: half the piece scores 5-12 % here, under the bound; :func:`implausible_tempo_share` catches that.
MAX_LOW_CONFIDENCE_SHARE = 0.15
#: If the time map's local tempo leaves [1/3, 3] on more than this share of the reference, the
#: pianist probably plays only part of the piece (demo: 0 %; first or second half only: > 50 %).
MAX_IMPLAUSIBLE_TEMPO_SHARE = 0.2
#: Unsure passages named in the warning itself; report.json lists them all.
MAX_UNSURE_NAMED = 5
#: Reference seconds of a map's last segment at most, for the orchestra to hold its last sound there: the step
#: from a concerto cut mid-note's last frame to the ends is one 20 ms frame (``sync.path_to_time_map``).
CUT_STEP_S = 0.05
#: :func:`~concerto_nb.sync.chroma_variety` below this: a steady tone or noise, not music. Measured
#: (tests/test_reliability.py, test_a_steady_tone_is_not_music): a sine, a held chord, white noise 0.00-0.01;
#: the demo's recordings 0.29-0.44.
MIN_CHROMA_VARIETY = 0.05


def implausible_tempo_share(time_map: np.ndarray, window_s: float = 2.0) -> float:
    """Share of the reference where the map's tempo ratio over ``window_s`` is below 1/3 or above 3.

    Notebook: ``04_music_synchronization``.
    """
    t = np.arange(0.0, max(time_map[-1, 0] - window_s, 0.0) + 1e-9, 0.25)
    ratio = _local_ratio(time_map, t, window_s)
    return float(np.mean((ratio < 1 / 3) | (ratio > 3)))


def uneven_ends(time_map: np.ndarray, played_s, tolerance: float = 1.5, slack_s: float = 1.0):
    """Whether the pianist's silence before the first note and after the last one fits the concerto.

    Notebook: ``04_music_synchronization``.

    Before the pianist's first note the map can only be a straight line from (0, 0); if the
    recording leaves far less (or more) time than the orchestra's introduction takes at the
    pianist's tempo, the introduction is squeezed (or stretched) to fit. Same at the end.

    Parameters
    ----------
    time_map : np.ndarray [shape=(K, 2)]
    played_s : [[reference_s, performance_s], [reference_s, performance_s]]
        The pianist's first and last note on the map (``details["played_s"]`` of :func:`align`).
    tolerance, slack_s : float
        Reported when the pianist's silence is outside ``[needed / tolerance - slack_s,
        needed * tolerance + slack_s]``, ``needed`` = the reference's stretch times the pianist's
        average tempo ratio between their first and last note.

    Returns
    -------
    list of dict
        ``{"kind": "lead-in" | "ending", "performance_s": the pianist's silence,
        "needed_s": what the concerto needs there at their tempo}``.
    """
    (r_first, p_first), (r_last, p_last) = _plausible_part(time_map, played_s)
    tempo = (p_last - p_first) / (r_last - r_first) if r_last > r_first else 1.0
    found = []
    for kind, have, reference in (("lead-in", p_first, r_first),
                                  ("ending", time_map[-1, 1] - p_last, time_map[-1, 0] - r_last)):
        needed = reference * tempo
        if not needed / tolerance - slack_s <= have <= needed * tolerance + slack_s:
            found.append({"kind": kind, "performance_s": round(float(have), 2), "needed_s": round(float(needed), 2)})
    return found


def low_confidence_share(per_second: np.ndarray) -> float:
    """Share of the seconds with a per-second confidence below :data:`LOW_SECOND_CONFIDENCE` (NaN skipped).

    Notebook: ``04_music_synchronization``.
    """
    values = per_second[~np.isnan(per_second)]
    return float(np.mean(values < LOW_SECOND_CONFIDENCE)) if len(values) else 1.0


def confidence(chroma_ref: np.ndarray, chroma_perf: np.ndarray, path: np.ndarray, active: np.ndarray | None = None,
               seed: int = 0):
    """How much better the path matches than chance: overall, and per second of reference.

    Notebook: ``04_music_synchronization``.

    ``1 - mean cosine distance along the path / mean cosine distance of random frame pairs``:
    0 when the path matches no better than chance, 1 for identical features.

    Parameters
    ----------
    chroma_ref, chroma_perf : np.ndarray [shape=(12, frames)]
    path : np.ndarray [shape=(2, L)]
    active : np.ndarray of bool [shape=(L,)], optional
        Path points that count (e.g. where the performance is not silent).

    Returns
    -------
    overall : float
    per_second : np.ndarray [shape=(reference seconds,)]
        NaN for seconds without counted path points.
    """
    def unit(c):
        return c / np.maximum(np.linalg.norm(c, axis=0, keepdims=True), 1e-9)

    a, b = unit(chroma_ref), unit(chroma_perf)
    i_ref = np.minimum(path[0], a.shape[1] - 1)
    i_perf = np.minimum(path[1], b.shape[1] - 1)
    if active is None:
        active = np.ones(len(i_ref), dtype=bool)
    if not active.any():
        return 0.0, np.full(int(np.ceil(a.shape[1] / FEATURE_RATE)), np.nan)
    on_path = 1 - np.sum(a[:, i_ref] * b[:, i_perf], axis=0)
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, a.shape[1], 4000), rng.integers(0, b.shape[1], 4000)
    chance = np.mean(1 - np.sum(a[:, i] * b[:, j], axis=0))
    overall = float(np.clip(1.0 - np.mean(on_path[active]) / max(chance, 1e-9), 0.0, 1.0))
    seconds = i_ref[active] // FEATURE_RATE
    n_sec = int(np.ceil(a.shape[1] / FEATURE_RATE))
    counts = np.bincount(seconds, minlength=n_sec)
    sums = np.bincount(seconds, weights=on_path[active], minlength=n_sec)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_second = np.clip(1.0 - (sums / counts) / max(chance, 1e-9), 0.0, 1.0)
    return overall, per_second


def _unplayed_ends(time_map: np.ndarray, jumps: list, step_s: float = 0.05):
    """The skips of ``jumps`` at the recording's very start and end (:func:`~concerto_nb.sync.align` adds them
    where the recording covers one passage of the concerto), each or None."""
    opening = [j for j in jumps if j["kind"] == "skip" and j["performance_s"] <= step_s and j["reference_s"][0] <= 0]
    closing = [j for j in jumps if j["kind"] == "skip" and j["performance_s"] >= time_map[-1, 1] - step_s
               and j["reference_s"][1] >= time_map[-1, 0] - step_s]
    return (opening[0] if opening else None), (closing[0] if closing else None)


def not_the_piece(confidence_value: float, pianist, concerto) -> str:
    """The sentence for a confidence below :data:`MIN_CONFIDENCE`.

    Notebook: ``04_music_synchronization``.
    """
    return (f"alignment confidence {confidence_value:.2f} is below {MIN_CONFIDENCE}: "
            f"{Path(pianist).name} does not seem to be the piano part of {Path(concerto).name}")


def octave_apart(semitones: int, concerto, sr: int) -> str:
    """The sentence for a concerto an octave from the pianist (:func:`~concerto_nb.sync.pitch_offset`): most
    likely a header that gives half or twice the real sample rate.

    Notebook: ``04_music_synchronization``.
    """
    return (f"{Path(concerto).name} sounds an octave {'below' if semitones < 0 else 'above'} your recording: "
            f"is its sample rate right? Its header says {sr} Hz; "
            f"{round(sr * 2.0 ** -round(semitones / 12))} Hz would put it in your octave")


def out_of_tune(cents: float, *, shifted: bool) -> str:
    """The sentence for a pianist transposed or tuned away from the concerto
    (:func:`~concerto_nb.sync.pitch_difference_cents`), and what was done about it.

    Notebook: ``04_music_synchronization``.

    Examples
    --------
    >>> from concerto_nb.sync import diagnostics
    >>> diagnostics.out_of_tune(-30.0, shifted=True).split(": ")[0]
    'your recording sounds 30 cents below the concerto'
    >>> diagnostics.out_of_tune(199.0, shifted=False)
    'your recording sounds 1.99 semitones above the concerto: the orchestra was kept at its pitch'
    """
    amount = f"{abs(cents):.0f} cents" if abs(cents) < 50 else f"{abs(cents) / 100:.2f} semitones"
    direction = "above" if cents > 0 else "below"
    if shifted:
        return (f"your recording sounds {amount} {direction} the concerto: the orchestra is shifted "
                f"{'up' if cents > 0 else 'down'} to match (--keep-pitch leaves it as it was)")
    return f"your recording sounds {amount} {direction} the concerto: the orchestra was kept at its pitch"


def how_the_recording_fits(time_map: np.ndarray, details: dict, *, concerto, pianist) -> dict:
    """What the time map says about how the pianist's recording fits the concerto, as numbers and as sentences.

    Notebook: ``04_music_synchronization``.

    Parameters
    ----------
    time_map : np.ndarray [shape=(K, 2)]
    details : dict
        :func:`~concerto_nb.sync.align`'s details (``confidence``, ``confidence_per_second``, ``played_s``,
        ``pauses``, ``jumps``: the restarts and skips the play-along follows are named as such, and a skip at the
        recording's very start or end as where in the concerto it starts or ends;
        ``unsure_passages``: where the note pairing was unsure).
    concerto, pianist : path
        Named in the sentences.

    Returns
    -------
    dict
        ``low_confidence_share``, ``implausible_tempo_share``, ``uneven_ends`` (:func:`uneven_ends`),
        ``skips_and_repeats`` (:func:`~concerto_nb.sync.skips_and_repeats`) and ``warnings``: one sentence for
        each thing a pianist should know, in the order they would fix them.
    """
    followed = details.get("jumps", [])
    opening, closing = _unplayed_ends(time_map, followed)
    low_share = low_confidence_share(details["confidence_per_second"])
    played = time_map[(time_map[:, 0] >= (opening["reference_s"][1] if opening else 0.0))
                      & (time_map[:, 0] <= (closing["reference_s"][0] if closing else np.inf))]
    implausible = implausible_tempo_share(played - played[0]) if len(played) >= 2 else 0.0
    messages = []
    if details["confidence"] < MIN_CONFIDENCE:
        messages.append(not_the_piece(details["confidence"], pianist, concerto))
    elif low_share > MAX_LOW_CONFIDENCE_SHARE or implausible > MAX_IMPLAUSIBLE_TEMPO_SHARE:
        messages.append(f"{low_share:.0%} of the seconds match poorly and {implausible:.0%} of the piece would need a "
                        "tempo change beyond 3x: the pianist may play only part of the piece, or skip or repeat "
                        "passages; check time_map.csv")
    ends = uneven_ends(time_map, details["played_s"])
    # a recording of one passage: where it starts and ends, said here, not as a skip nor as an uneven end
    if opening:
        messages.append(f"your recording starts {opening['reference_s'][1]:.1f} s into the concerto, and so does "
                        "the orchestra (to hear what comes before, leave silence before your first note)")
    if closing:
        (end, concerto_end) = closing["reference_s"]
        messages.append(f"your recording ends {end:.1f} s into the concerto, {concerto_end - end:.1f} s before its "
                        "end, and so does the orchestra")
    for end in ends:
        if (opening and end["kind"] == "lead-in") or (closing and end["kind"] == "ending"):
            continue
        have, needed = end["performance_s"], end["needed_s"]
        if end["kind"] == "ending" and have > needed and time_map[-1, 0] - time_map[-2, 0] <= CUT_STEP_S:
            # a concerto cut mid-note: the map steps from its last frame to the ends (sync.path_to_time_map)
            messages.append(f"the concerto recording stops {needed:.1f} s after your last note, which rings on "
                            f"{have:.1f} s: the orchestra holds its last sound until your recording ends")
            continue
        where = "before your first note" if end["kind"] == "lead-in" else "after your last note"
        part = "introduction" if end["kind"] == "lead-in" else "ending"
        msg = (f"your recording has {have:.1f} s {where}; the concerto's {part} takes about {needed:.1f} s at "
               f"your tempo, so the orchestra plays it ")
        if have < needed:
            msg += f"squeezed: leave about {needed:.0f} s there (count the {part} through)"
        else:
            msg += f"{have / max(needed, 0.1):.1f}x slower: trim your recording there to about {needed:.0f} s"
        messages.append(msg)
    passages = skips_and_repeats(time_map, played_s=details["played_s"], pauses=details.get("pauses"))
    for jump in followed:
        if jump is opening or jump is closing:
            continue
        (before, after), at = jump["reference_s"], jump["performance_s"]
        messages.append(f"at {at:.1f} s of your recording you go back from {before:.1f} s to {after:.1f} s of the "
                        "concerto (a restart): the orchestra goes back with you" if jump["kind"] == "restart" else
                        f"at {at:.1f} s of your recording you skip from {before:.1f} s to {after:.1f} s of the "
                        "concerto: the orchestra skips with you")
    pauses = np.asarray(details.get("pauses", []), dtype=float).reshape(-1, 3)
    if len(pauses):
        messages.append("the orchestra waits where you pause: at " + ", ".join(
            f"{start:.1f} s ({end - start:.1f} s)" for _, start, end in pauses) + " of your recording")
    unsure = np.asarray(details.get("unsure_passages", []), dtype=float).reshape(-1, 4)
    if len(unsure):
        where = ", ".join(f"{start:.1f}-{end:.1f} s" for start, end in unsure[:MAX_UNSURE_NAMED, 2:])
        more = f" and {len(unsure) - MAX_UNSURE_NAMED} more" if len(unsure) > MAX_UNSURE_NAMED else ""
        messages.append(f"the orchestra may be a note or a breath off your playing at {where}{more} of your "
                        "recording, where two timings fit about as well: listen there "
                        "(report.json: alignment.unsure_passages)")
    for passage in passages:
        (r0, r1), (p0, p1) = passage["reference_s"], passage["performance_s"]
        if any(p0 - 1.0 <= jump["performance_s"] <= p1 + 1.0 for jump in followed):
            continue  # named above, and followed
        msg = (f"the pianist seems to skip {r0:.1f}-{r1:.1f} s of the concerto (at {p0:.1f} s of their recording)"
               if passage["kind"] == "skip" else
               f"the pianist seems to repeat a passage: {p0:.1f}-{p1:.1f} s of their recording match "
               f"only {r0:.1f}-{r1:.1f} s of the concerto")
        messages.append(msg + "; the orchestra is squeezed or held there")
    return {"low_confidence_share": low_share, "implausible_tempo_share": implausible, "uneven_ends": ends,
            "skips_and_repeats": passages, "warnings": messages}
