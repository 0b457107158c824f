"""A practice kit: the orchestra of a passage, slower or as you played it last, with a count-in and clicks.

What pianists practise with (Music Minus One tracks, a teacher's metronome): the concerto's orchestra for the
bars at hand, at a tempo they can manage, started by a bar of clicks in the concerto's tempo and metre, with
clicks throughout if they want them, looped; or "follow my last take": the orchestra at the tempo curve of a
previous recording of theirs, so that they can play along live with an orchestra that breathes as they do.

The beat grid comes from beat tracking of the concerto recording (``librosa.beat.beat_track``: onset strength,
a global tempo, dynamic programming for the beats); the metre (``beats_per_bar``) is the user's to give, and
the bar lines count from the passage's first beat. Given the score as MIDI, the grid is the score's own: its
beats and bar lines carried onto the recording by aligning the score's rendering with it (:func:`score_grid`),
and a passage can be chosen by bar numbers. Notebook: ``05_time_scale_modification``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import io, separation, sync, tsm

__all__ = ["OUTPUTS", "beat_grid", "score_grid", "click_track", "practice"]

OUTPUTS = ("orchestra_practice.wav", "practice.json")
#: Length of each click, and the pitch of the bar's first click and of the others (a woodblock-like tick).
CLICK_S, ACCENT_HZ, CLICK_HZ = 0.03, 1760.0, 1320.0
#: Loops are joined with this cross-fade, so that the jump back to the passage's start does not click.
LOOP_FADE_S = 0.05
#: Seconds of the concerto around the passage that are separated with it: as much context as each block of
#: :func:`concerto_nb.separation.separate` gets at its edges (the masks look at most 0.5 s away).
SEPARATION_CONTEXT_S = 2.0
#: Seconds around the passage given to the beat tracker: several bars, so that its tempo settles before the passage.
BEAT_CONTEXT_S = 10.0


def beat_grid(y: np.ndarray, sr: int) -> np.ndarray:
    """Beat times (s) of a recording: ``librosa.beat.beat_track`` on its onset strength, moved to where the
    notes start.

    Notebook: ``05_time_scale_modification``.

    The tracker marks the onset strength's peaks, which come after the notes start (an attack takes time, a
    hall adds more): about 50 ms on the demo. The whole grid moves by the median distance from each beat back to
    the start of the nearest onset (``onset_detect(backtrack=True)``), so that it keeps the tracker's regular
    spacing and a count-in lands with the orchestra.

    Examples
    --------
    >>> from concerto_nb import data, io, practice
    >>> y, sr = io.load_audio(data.demo_path("concerto"), sr=22050)
    >>> beats = practice.beat_grid(y, sr)
    >>> period = np.polyfit(np.arange(len(beats)), beats, 1)[0]
    >>> round(60 / period)  # the demo's Allegro: 120 quarter notes a minute, 4/4
    120
    """
    import librosa

    hop = 256
    strength = librosa.onset.onset_strength(y=np.asarray(y, dtype=np.float32), sr=sr, hop_length=hop)
    _, beats = librosa.beat.beat_track(onset_envelope=strength, sr=sr, hop_length=hop, units="time")
    onsets = librosa.onset.onset_detect(onset_envelope=strength, sr=sr, hop_length=hop, backtrack=True,
                                        units="time")
    if len(beats) == 0 or len(onsets) == 0:
        return np.asarray(beats, dtype=float)
    to_onset = onsets[np.argmin(np.abs(onsets[None, :] - beats[:, None]), axis=1)] - beats
    close = np.abs(to_onset) < 0.1
    return np.asarray(beats, dtype=float) + (float(np.median(to_onset[close])) if close.any() else 0.0)


def score_grid(y: np.ndarray, sr: int, score, *, progress: bool = False) -> dict:
    """The score's bar lines and beats on a recording of it: the score rendered, then aligned with the recording.

    Notebook: ``05_time_scale_modification``.

    The MIDI file is synthesised (FluidR3, all parts) and aligned with the recording as the play-along aligns a
    pianist (:func:`concerto_nb.sync.align`, the rendering as the reference); the score's downbeats and beats
    (``pretty_midi``'s, from its time signatures) go through the time map. Bars count from 1 at the file's start,
    as the file has them (a pickup the file writes as a whole bar is bar 1). A beat tracker counting bars drifts by
    a beat wherever it misses one; the score cannot (``benchmarks/score_bars.py``).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        The recording.
    sr : int
        Its sample rate.
    score : path or pretty_midi.PrettyMIDI
        The piece's MIDI file (e.g. one of ``data/sources/mutopia_concertos_midi``), the whole of what is recorded.
    progress : bool
        Say on stderr what is being done (the rendering and alignment take about 10 s a minute of music).

    Returns
    -------
    dict
        ``bars_s``: ``(B + 1,)`` seconds of the recording where each bar starts, then where the last one ends;
        ``beats_s``: ``(N,)`` the score's beats; ``beats_per_bar``: ``(B,)`` beats in each bar; ``time_map``:
        ``(K, 2)`` [score s, recording s].

    Examples
    --------
    >>> from concerto_nb import data, io, practice, render
    >>> score = render.load_midi(data.SOURCES_DIR / "mutopia_concertos_midi" / "Mozart_KV488_mvt1_Allegro.mid")
    >>> demo = render.crop_midi(score, 120.0, 195.0)  # the demo's excerpt, 120-195 s of the score
    >>> y, sr = io.load_audio(data.demo_path("concerto"), sr=22050)
    >>> grid = practice.score_grid(y, sr, demo)
    >>> len(grid["bars_s"]) - 1, [round(float(t), 1) for t in grid["bars_s"][6:9]]  # 2 s bars, score tempo
    (38, [12.0, 14.0, 16.0])
    """
    import sys

    from . import render

    pm = _load_score(score)
    end = pm.get_end_time()
    if progress:
        print(f"aligning the score ({end / 60:.1f} min) with the recording", file=sys.stderr)
    rendered = render.render_midi(pm, sync.SYNC_SR, "fluidr3", end + 1.0)
    recording = io.resample(io.to_mono(np.asarray(y)), sr, sync.SYNC_SR)
    time_map = sync.align(rendered, recording)
    beats = pm.get_beats()
    lines = np.append(_score_downbeats(pm), end)
    per_bar = np.diff(np.searchsorted(beats, lines - 1e-6))
    return {"bars_s": sync.map_times(time_map, lines), "beats_s": sync.map_times(time_map, beats[beats < end]),
            "beats_per_bar": per_bar, "time_map": time_map}


def _score_downbeats(pm) -> np.ndarray:
    """Seconds of the score where each of its bars starts (``pretty_midi``'s downbeats before its last note ends):
    bar ``k`` starts at index ``k - 1``."""
    downbeats = pm.get_downbeats()
    return downbeats[downbeats < pm.get_end_time()]


#: The last :func:`score_grid` made from two files, under (concerto path, its mtime, score path, its mtime): the
#: notebook's panel makes a track per click from the same files, and a grid takes about 10 s a minute of music.
_last_score_grid: dict = {}


def _load_score(score):
    """``score`` as ``pretty_midi.PrettyMIDI`` (a path is read); a file that is not MIDI: ValueError, one line."""
    from . import render

    if hasattr(score, "get_downbeats"):
        return score
    try:
        pm = render.load_midi(score)
    except FileNotFoundError:
        raise
    except Exception as exc:  # mido and pretty_midi raise many kinds on a broken file
        raise ValueError(f"{score}: not a readable MIDI file ({type(exc).__name__})") from None
    if pm.get_end_time() <= 0 or not len(pm.get_downbeats()):
        raise ValueError(f"{score}: no notes in this MIDI file")
    return pm


def click_track(times_s, n: int, sr: int, *, accents=()) -> np.ndarray:
    """``n`` samples of clicks at ``times_s``: short decaying sine bursts, higher at the indices in ``accents``.

    Notebook: ``05_time_scale_modification``.
    """
    out = np.zeros(n, dtype=np.float32)
    t = np.arange(int(CLICK_S * sr)) / sr
    for k, at in enumerate(times_s):
        tick = 0.5 * np.sin(2 * np.pi * (ACCENT_HZ if k in accents else CLICK_HZ) * t) * np.exp(-t / (CLICK_S / 5))
        start = int(round(at * sr))
        if 0 <= start < n:
            out[start: start + len(tick)] += tick[: n - start].astype(np.float32)
    return out


def practice(concerto, out_dir, *, start_s: float = 0.0, end_s: float | None = None, tempo: float = 1.0,
             beats_per_bar: int | None = None, count_in_bars: int = 1, clicks: bool = False, loops: int = 1,
             follow=None, score=None, bars=None, separation_method: str = "model", force: bool = False,
             progress: bool = True) -> dict:
    """Export the orchestra of a passage for practice: its tempo, a count-in, clicks, loops.

    Notebook: ``05_time_scale_modification``.

    Parameters
    ----------
    concerto : path
        Recording of the concerto (piano and orchestra).
    out_dir : path
        Gets ``orchestra_practice.wav`` (at the concerto's sample rate; the clicks are mixed in) and
        ``practice.json`` (the passage, the tempo, the beats and the count-in, in output seconds).
    start_s, end_s : float
        The passage, in seconds of the concerto (``end_s`` None: to the end); or ``bars``.
    tempo : float
        Playing speed, 0.25-2 (0.8: 80 % of the recording's tempo); the pitch stays.
    beats_per_bar : int, optional
        The metre, 1-12: the count-in is ``count_in_bars`` bars of it, each bar's first click higher (default:
        the score's, in the passage's first bar; without a score, 4).
    count_in_bars : int
        Bars of clicks before the passage's first beat (0: none).
    clicks : bool
        Clicks on every beat of the passage too.
    loops : int
        Play the passage this many times, back to back (one count-in).
    follow : path, optional
        A previous recording of yours of the passage (or of the piece): the orchestra follows its tempo
        curve instead of ``tempo`` (aligned as ``concerto-nb playalong`` aligns it, from the passage's
        start).
    score : path, optional
        The piece's MIDI file: the beats and bar lines are the score's (:func:`score_grid`), not a beat
        tracker's.
    bars : (int, int), optional
        The passage as bar numbers of ``score``, first and last included (instead of ``start_s`` / ``end_s``).
    separation_method : str
        See :func:`concerto_nb.separation.separate`.
    force : bool
        Overwrite existing outputs.
    progress : bool
        Show progress bars.

    Returns
    -------
    dict
        What ``practice.json`` holds.

    Raises
    ------
    ValueError
        A setting out of range or a passage outside the recording, checked before any work.
    """
    tempo, count_in_bars, loops = float(tempo), int(count_in_bars), int(loops)
    metre_given = beats_per_bar is not None
    beats_per_bar = int(beats_per_bar) if metre_given else 4
    if not (0.25 <= tempo <= 2.0 and 1 <= beats_per_bar <= 12 and 0 <= count_in_bars <= 8 and 1 <= loops <= 50):
        raise ValueError("tempo must be 0.25-2, beats_per_bar 1-12, count_in_bars 0-8 and loops 1-50")
    if separation_method not in separation.METHODS:
        raise ValueError(f"separation_method must be one of {separation.METHODS}")
    pm = None if score is None else _load_score(score)
    if bars is not None:
        if pm is None:
            raise ValueError("a passage by bar numbers needs the score (score=..., --score FILE.mid)")
        first_bar, last_bar = (int(b) for b in bars)
        bar_count = len(_score_downbeats(pm))
        if not 1 <= first_bar <= last_bar <= bar_count:
            raise ValueError(f"bars {first_bar}-{last_bar}: the score has bars 1-{bar_count}")
        if start_s != 0.0 or end_s is not None:
            raise ValueError("give the passage either in seconds or in bars, not both")
    score_path = score if isinstance(score, (str, Path)) else None
    inputs = [concerto] + [p for p in (follow, score_path) if p is not None]
    outputs = io.OutputFolder(out_dir, OUTPUTS, force=force, inputs=inputs)
    y, sr = io.load_audio(concerto, mono=False)
    duration = y.shape[-1] / sr
    grid = None
    if pm is not None:
        key = None if score_path is None else tuple(x for p in (concerto, score_path)
                                                    for x in (str(p), Path(p).stat().st_mtime))
        grid = _last_score_grid.get(key)
        if grid is None:
            grid = score_grid(y, sr, pm, progress=progress)
            if key is not None:
                _last_score_grid.clear()
                _last_score_grid[key] = grid
        if bars is not None:
            start_s, end_s = (float(grid["bars_s"][k]) for k in (first_bar - 1, last_bar))
        # the metre of the passage's first bar
        bar = int(np.clip(np.searchsorted(grid["bars_s"], start_s + 1e-3) - 1, 0, len(grid["beats_per_bar"]) - 1))
        beats_per_bar = beats_per_bar if metre_given else int(np.clip(grid["beats_per_bar"][bar], 1, 12))
    end_s = duration if end_s is None else float(end_s)
    if not 0.0 <= start_s < end_s <= duration + 1e-6 or end_s - start_s < 2.0:
        raise ValueError(f"the passage {start_s:g}-{end_s:g} s must lie within the {duration:.1f} s of {concerto} "
                         "and last at least 2 s")
    with outputs:
        a, b = int(round(start_s * sr)), int(round(end_s * sr))
        if grid is not None:
            beats = grid["beats_s"]
        else:  # only the passage and some context is tracked and separated, not the whole concerto
            lo, hi = max(0, a - int(BEAT_CONTEXT_S * sr)), min(y.shape[-1], b + int(BEAT_CONTEXT_S * sr))
            beats = lo / sr + beat_grid(io.resample(io.to_mono(y[..., lo:hi]), sr, sync.SYNC_SR), sync.SYNC_SR)
        if len(beats) < 2:
            raise ValueError(f"{concerto}: no beat found to count in")
        lo, hi = max(0, a - int(SEPARATION_CONTEXT_S * sr)), min(y.shape[-1], b + int(SEPARATION_CONTEXT_S * sr))
        piano, orchestra = separation.separate(y[..., lo:hi], sr, method=separation_method, progress=progress)
        passage = orchestra[..., a - lo: b - lo]
        length = (b - a) / sr
        if follow is None:
            time_map = np.array([[0.0, 0.0], [length, length / tempo]])
        else:
            time_map = _time_map_of_take(io.resample(io.to_mono(piano[..., a - lo: b - lo]), sr, sync.SYNC_SR), follow)
        warped = tsm.warp(passage, sr, time_map, progress=progress)
        # the passage's beats in output seconds (before the count-in), and the beat period there
        inside = beats[(beats >= start_s - 1e-3) & (beats < end_s - 1e-3)] - start_s
        if len(inside) < 2:  # a passage too short or too free for the tracker: the recording's beat from its start
            inside = np.arange(0, length, float(np.median(np.diff(beats))))
        beats_out = sync.map_times(time_map, inside)
        # the beat period where the passage starts: a line through its first two bars' beats (the tracker's
        # beats sit on a grid of its frames; the fit averages that out)
        first = beats_out[: 2 * beats_per_bar + 1]
        period = float(np.polyfit(np.arange(len(first)), first, 1)[0])
        # the count-in: whole bars of clicks, the last one a period before the passage's first beat
        count = count_in_bars * beats_per_bar
        lead = max(0.0, count * period - beats_out[0]) + (0.1 if count else 0.0)
        count_in = beats_out[0] + lead - period * np.arange(count, 0, -1)
        track = _looped(warped, loops, sr)
        loop_s = warped.shape[-1] / sr
        track = np.concatenate([np.zeros(track.shape[:-1] + (int(round(lead * sr)),), track.dtype), track], axis=-1)
        ticks = list(count_in)
        accents = set(range(0, count, beats_per_bar))
        if clicks:
            for k in range(loops):
                first = len(ticks)
                ticks += list(lead + k * loop_s + beats_out)
                accents |= {first + j for j in range(0, len(beats_out), beats_per_bar)}
        click = click_track(ticks, track.shape[-1], sr, accents=accents)
        level = np.sqrt(np.mean(track**2)) + 1e-9
        track = track + click * min(1.0, 4 * level)  # clicks about as loud as the orchestra's peaks
        track = track * min(1.0, 0.9 / max(float(np.max(np.abs(track))), 1e-9))
        report = {
            "concerto": str(concerto),
            "passage_s": [round(start_s, 3), round(end_s, 3)],
            "tempo": tempo if follow is None else None,
            "follow": None if follow is None else str(follow),
            "beats_per_minute": round(60.0 / period, 1),
            "beats_per_bar": beats_per_bar,
            "score": None if score_path is None else str(score_path),
            "bars": None if bars is None else [first_bar, last_bar],
            "count_in_s": [round(float(t), 3) for t in count_in],
            "passage_starts_at_s": round(lead, 3),
            "loop_s": round(loop_s, 3),
            "loops": loops,
            "beats_s": [round(float(lead + t), 3) for t in beats_out],
            "sample_rate": sr,
            "outputs": {name: str(p) for name, p in outputs.targets.items()},
        }
        io.save_audio(outputs.path("orchestra_practice.wav"), track, sr)
        io.atomic_write(outputs.path("practice.json"),
                        lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2) + "\n"))
    return report


def _looped(one: np.ndarray, loops: int, sr: int) -> np.ndarray:
    """``loops`` copies of ``one`` back to back, each seam smoothed: the copy before fades out over
    :data:`LOOP_FADE_S`, the next fades in over 5 ms, so every copy starts on time and no seam clicks."""
    if loops == 1:
        return one
    n = one.shape[-1]
    fade_out, fade_in = min(int(LOOP_FADE_S * sr), n // 4), min(int(0.005 * sr), n // 4)
    out_ramp = np.ones(n, dtype=np.float32)
    out_ramp[n - fade_out:] = np.linspace(1.0, 0.0, fade_out)
    in_ramp = np.ones(n, dtype=np.float32)
    in_ramp[:fade_in] = np.linspace(0.0, 1.0, fade_in)
    copies = [one * (in_ramp if k else 1.0) * (out_ramp if k < loops - 1 else 1.0) for k in range(loops)]
    return np.concatenate(copies, axis=-1).astype(np.float32)


def _time_map_of_take(passage_piano22: np.ndarray, take) -> np.ndarray:
    """The map of a previous take against the passage's piano: passage seconds -> take seconds."""
    played, _ = io.load_audio(take, sr=sync.SYNC_SR)
    return sync.align(passage_piano22, played)
