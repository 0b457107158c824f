"""Models of a pianist's performance and home recording, for benchmarks with a known ground truth.

The demo's pianist follows a smooth tempo curve (:func:`concerto_nb.render.tempo_curve_time_map`); real
pianists shape phrases: they slow down into each phrase end (ritardando), take a breath before the next, hold a
fermata, and come back "a tempo". Their notes of one chord are a few milliseconds apart and their dynamics vary.
And they record at home: a phone or a cheap microphone, a noise floor, mains hum, a low level, lossy coding and a
piano that is not at A = 440 Hz. ``benchmarks/expressive.py`` measures the alignment on such performances.

- :func:`expressive_time_map`: the time map of a phrase-shaped performance (reference -> performance time);
- :func:`humanize`: chord asynchrony and velocity variation of the notes;
- :func:`home_recording`: a recording chain of a pianist at home;
- :func:`rubato_take`: all of them on an excerpt of a concerto's piano part, beside its reference rendering.
"""
from __future__ import annotations

import copy

import numpy as np

__all__ = ["STYLES", "expressive_time_map", "humanize", "wrong_notes", "home_recording", "rubato_take",
           "edited_take", "passage_take"]

#: Pianist models: overall tempo, rubato depth within a phrase, the tempo reached at a phrase's end (fraction of the
#: local tempo), the breath (s) every ``breath_bars``, the fermata (s) held at one phrase end, and a slow drift of
#: the tempo (sd of log2 tempo per phrase). "rubato": a slow, singing player; "impetuous": fast, rushing phrases,
#: shallower ritardandi, no breaths.
STYLES = {
    "rubato": {"tempo": 0.75, "arc": 0.10, "phrase_end": (0.5, 0.7), "breath_s": (0.25, 0.6), "breath_bars": 8,
               "fermata_s": (1.5, 2.5), "drift": 0.05},
    "impetuous": {"tempo": 1.25, "arc": 0.15, "phrase_end": (0.7, 0.85), "breath_s": (0.0, 0.0), "breath_bars": 8,
                  "fermata_s": (1.0, 1.5), "drift": 0.10},
}


def expressive_time_map(duration: float, bar_s: float, *, style: str = "rubato", offset_s: float = 0.0,
                        phrase_bars: int = 4, rests=(), seed: int = 0, step: float = 0.01) -> np.ndarray:
    """The time map of a pianist who shapes each phrase of ``phrase_bars`` bars.

    Notebook: ``07_dataset_and_evaluation``.

    Inside a phrase the local tempo rises and falls once (an arc of depth ``arc``) on top of the style's overall
    tempo; over the phrase's last bar it slows to ``phrase_end`` of the local tempo (ritardando) and comes back
    "a tempo" at the next; every ``breath_bars`` bars the pianist breathes (the performance time goes on while
    the score stands still) and at one phrase end, chosen at random, holds a fermata. Inside ``rests`` (where
    the soloist does not play) the pianist counts in one steady tempo
    (:func:`concerto_nb.render.steady_through_rests`).

    Parameters
    ----------
    duration : float
        Length of the excerpt in reference (score) seconds.
    bar_s : float
        Length of a bar in reference seconds.
    style : str
        A key of :data:`STYLES`.
    offset_s : float
        Reference time of the excerpt's start in the piece (phrases start on multiples of ``phrase_bars``
        bars from the piece's start).
    phrase_bars : int
        Bars per phrase.
    rests : sequence of (start_s, end_s)
        Passages (excerpt time) where the soloist rests.
    seed : int
        Random seed (phrase shapes, breaths, the fermata's place).
    step : float
        Grid of the map in reference seconds.

    Returns
    -------
    time_map : np.ndarray [shape=(K, 2)]
        ``[reference_s, performance_s]``, both strictly increasing, from (0, 0) to the end; a breath or a
        fermata is a segment 1 ms long in reference time.

    Examples
    --------
    >>> tm = expressive_time_map(40.0, 2.0, style="rubato", seed=1)
    >>> bool(np.all(np.diff(tm, axis=0) > 0)), round(float(tm[-1, 1] / tm[-1, 0]), 1)  # slower than the score
    (True, 1.4)
    """
    from .render import steady_through_rests

    p = STYLES[style]
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration + step / 2, step)
    phrase_s = phrase_bars * bar_s
    position = (t + offset_s) / phrase_s  # phrases since the piece's start
    phrase, x = np.floor(position).astype(int), position % 1.0
    phrases = np.unique(phrase)
    arc = {k: p["arc"] * rng.uniform(0.5, 1.0) for k in phrases}
    end = {k: rng.uniform(*p["phrase_end"]) for k in phrases}
    drift = dict(zip(phrases, np.cumsum(rng.normal(0.0, p["drift"], len(phrases)))))
    # local tempo (x the score's): overall tempo x drift x phrase arc, falling to `end` over the last bar
    last_bar = np.clip((x - (1 - 1 / phrase_bars)) * phrase_bars, 0.0, 1.0)
    tempo = np.array([p["tempo"] * 2 ** drift[k] * (1 + arc[k] * np.sin(np.pi * xi)) for k, xi in zip(phrase, x)])
    tempo *= 1 - last_bar**2 * (1 - np.array([end[k] for k in phrase]))
    # performance time: the integral of 1 / tempo over reference time
    tau = np.concatenate([[0.0], np.cumsum(step / (0.5 * (tempo[1:] + tempo[:-1])))])
    time_map = steady_through_rests(np.stack([t, tau], axis=1), rests)
    # breaths and the fermata: pauses at phrase boundaries outside the rests
    boundaries = [i for i in range(1, len(t)) if phrase[i] != phrase[i - 1]
                  and not any(a <= t[i] <= b for a, b in rests)]
    pauses = {}
    for i in boundaries:
        bars_from_start = phrase[i] * phrase_bars
        if bars_from_start % p["breath_bars"] == 0 and p["breath_s"][1] > 0:
            pauses[i] = rng.uniform(*p["breath_s"])
    if boundaries:
        i = boundaries[rng.integers(len(boundaries))]
        pauses[i] = pauses.get(i, 0.0) + rng.uniform(*p["fermata_s"])
    rows = []
    shift = 0.0
    for i, (ref, perf) in enumerate(time_map):
        if i in pauses:  # the score stands (1 ms) while the performance goes on
            rows.append((ref - 0.001, perf + shift))
            shift += pauses[i]
        rows.append((ref, perf + shift))
    return np.array(rows)


def humanize(pm, *, asynchrony_s: float = 0.008, velocity_sd: float = 8.0, seed: int = 0):
    """A copy of ``pm`` whose notes start a little apart within a chord and vary in loudness.

    Notebook: ``07_dataset_and_evaluation``.

    Each note starts ``N(0, asynchrony_s)`` seconds off (the length of the note kept), and its velocity moves by
    ``N(0, velocity_sd)`` within 20-120.
    """
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(pm)
    for inst in out.instruments:
        for note in inst.notes:
            shift = float(rng.normal(0.0, asynchrony_s))
            length = note.end - note.start
            note.start = max(0.0, note.start + shift)
            note.end = note.start + length
            note.velocity = int(np.clip(round(note.velocity + rng.normal(0.0, velocity_sd)), 20, 120))
    return out


def wrong_notes(pm, share: float, *, seed: int = 0):
    """A copy of ``pm`` in which a ``share`` of the notes is played on a neighbouring key (a slip).

    Notebook: ``07_dataset_and_evaluation``.

    Each chosen note moves one or two semitones up or down (equally likely), keeping its time, length and
    velocity: what a practising pianist's slips change is the pitch, not the timing, so the ground truth of
    the clean performance still holds.

    Examples
    --------
    >>> import pretty_midi
    >>> pm = pretty_midi.PrettyMIDI()
    >>> pm.instruments.append(pretty_midi.Instrument(0))
    >>> pm.instruments[0].notes = [pretty_midi.Note(80, 60 + i % 12, i * 0.25, i * 0.25 + 0.2) for i in range(100)]
    >>> slipped = wrong_notes(pm, 0.1, seed=0)
    >>> sum(a.pitch != b.pitch for a, b in zip(pm.instruments[0].notes, slipped.instruments[0].notes))
    10
    """
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(pm)
    notes = [note for inst in out.instruments for note in inst.notes]
    for i in rng.choice(len(notes), size=int(round(share * len(notes))), replace=False):
        notes[i].pitch = int(np.clip(notes[i].pitch + rng.choice([-2, -1, 1, 2]), 0, 127))
    return out


def home_recording(y: np.ndarray, sr: int, *, noise_db: float = -50.0, hum_db: float = -50.0,
                   level_dbfs: float = -30.0, detune_cents: float = 0.0, mp3_kbps: int | None = None,
                   seed: int = 0):
    """``y`` as a phone on the piano's lid would record it at home.

    Notebook: ``07_dataset_and_evaluation``.

    A phone microphone's response (high-pass at 150 Hz, a presence rise around 3 kHz, roll-off above 8 kHz),
    mains hum (50 Hz and its harmonics) and noise at ``hum_db`` and ``noise_db`` relative to the music's RMS,
    the whole at ``level_dbfs`` RMS; a piano ``detune_cents`` off A = 440 Hz is modelled by playing the audio
    that much faster (higher and shorter: performance times scale by the returned factor); with ``mp3_kbps``
    the result goes through an MP3 encoder and decoder at that bit rate (ffmpeg).

    Returns
    -------
    y : np.ndarray
        The recording, same sample rate.
    time_scale : float
        Performance times in ``y`` are the input's times x this (1 without detuning).
    """
    from scipy.signal import butter, sosfilt

    from .io import resample

    rng = np.random.default_rng(seed)
    faster_rate = int(round(sr * 2 ** (detune_cents / 1200)))
    if faster_rate != sr:
        # read as if sampled at the faster rate: the pitch rises by faster_rate / sr, the length shrinks by it
        y = resample(y, faster_rate, sr)
    sos = np.concatenate([butter(2, 150, "highpass", fs=sr, output="sos"),
                          butter(2, min(8000, 0.45 * sr), "lowpass", fs=sr, output="sos"),
                          butter(1, [2000, min(4500, 0.45 * sr)], "bandpass", fs=sr, output="sos")])
    band = sosfilt(sos[-1:], y)
    y = sosfilt(sos[:-1], y + 0.5 * band)
    rms = np.sqrt(np.mean(y**2)) + 1e-12
    n = np.arange(len(y)) / sr
    hum = sum(np.sin(2 * np.pi * 50 * k * n + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3))
    hum *= rms * 10 ** (hum_db / 20) / (np.sqrt(np.mean(hum**2)) + 1e-12)
    noise = rng.standard_normal(len(y)) * rms * 10 ** (noise_db / 20)
    y = y + hum + noise
    y *= 10 ** (level_dbfs / 20) / (np.sqrt(np.mean(y**2)) + 1e-12)
    if mp3_kbps:
        y = _through_mp3(y, sr, mp3_kbps)
    return y, sr / faster_rate


def _through_mp3(y: np.ndarray, sr: int, kbps: int) -> np.ndarray:
    """``y`` encoded to MP3 at ``kbps`` and decoded again (ffmpeg; the encoder's delay is removed)."""
    import subprocess
    import tempfile
    from pathlib import Path

    import soundfile as sf

    from .io import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        wav, mp3 = Path(tmp) / "in.wav", Path(tmp) / "out.mp3"
        sf.write(wav, np.clip(y, -1, 1), sr, subtype="FLOAT")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-b:a", f"{kbps}k", str(mp3)], check=True)
        z, _ = load_audio(mp3, sr=sr)
    return np.pad(z, (0, max(0, len(y) - len(z))))[: len(y)]


def rubato_take(midi: str, start_s: float, length_s: float, *, seed: int, bar_s: float | None = None,
                room: str | None = None, sr: int = 22050):
    """An excerpt of a concerto's piano part and a rubato pianist's take of it, with the ground truth.

    Notebook: ``04_music_synchronization``.

    The reference is the excerpt in FluidR3 (in ``room``, if given); the pianist plays it in the ``rubato`` style
    (:func:`expressive_time_map`, :func:`humanize`) on MuseScore's piano, recorded at home 20 cents sharp
    (:func:`home_recording`).

    Parameters
    ----------
    midi : str
        A file of ``data/sources/mutopia_concertos_midi``.
    start_s, length_s : float
        The excerpt (s of the MIDI file).
    seed : int
        The performance's random choices (phrase shapes, breaths, the fermata, asynchrony).
    bar_s : float, optional
        Seconds per bar at the score's tempo (default: four beats at the file's first tempo).
    room : str, optional
        An impulse response of ``data/sources/openair_irs`` for the reference.
    sr : int
        Sample rate.

    Returns
    -------
    reference, pianist : np.ndarray
        The two recordings.
    onsets : np.ndarray [shape=(N, 2)]
        ``[reference_s, performance_s]`` of every piano onset.
    true_map : np.ndarray [shape=(K, 2)]
        The performance's time map.

    See Also
    --------
    concerto_nb.sync.align : what is measured on it (``benchmarks/jump_detection.py``, ``tests/test_sync.py``).
    """
    from . import render
    from .data import SOURCES_DIR

    pm = render.load_midi(SOURCES_DIR / "mutopia_concertos_midi" / midi)
    piano = render.crop_midi(render.split_stems(pm)[0], start_s, start_s + length_s)
    reference = render.render_midi(piano, sr, "fluidr3", length_s)
    if room is not None:
        hall = render.load_impulse_response(SOURCES_DIR / "openair_irs" / room, sr)
        reference = render.apply_room(reference, hall, 0.4)
    bar_s = 4 * 60 / pm.get_tempo_changes()[1][0] if bar_s is None else bar_s
    true_map = expressive_time_map(length_s, bar_s, style="rubato", offset_s=start_s,
                                   rests=render.piano_rests(piano, length_s), seed=seed)
    played = humanize(render.warp_midi(piano, true_map), seed=seed)
    pianist = render.render_midi(played, sr, "musescore", true_map[-1, 1] + 1.0)
    pianist, scale = home_recording(pianist, sr, detune_cents=20.0, seed=1)
    true_map[:, 1] *= scale
    onsets = np.unique(np.round([n.start for inst in piano.instruments for n in inst.notes], 3))
    onsets = onsets[(onsets > 0.05) & (onsets < length_s - 0.05)]
    return reference, pianist, np.stack([onsets, np.interp(onsets, *true_map.T)], axis=1), true_map


def edited_take(pianist: np.ndarray, onsets: np.ndarray, kind: str, seconds: float, *, at: float | None = None,
                cut_s: float | None = None, sr: int = 22050):
    """A take cut between two notes near ``at`` of it (a share of its last onset's time) or at ``cut_s``, and
    ``seconds`` before the cut played again (``kind="restart"``), after it left out (``kind="skip"``), or of the
    recording's own noise floor put in (``kind="pause"``: the pianist stops to think; the sound is released at
    the cut and the next note comes ``seconds`` late, without the ring of the one before starting again).

    Notebook: ``04_music_synchronization``.

    Parameters
    ----------
    pianist : np.ndarray [shape=(n,)]
        The take, e.g. :func:`rubato_take`'s.
    onsets : np.ndarray [shape=(N, 2)]
        ``[reference_s, performance_s]`` of its onsets.
    kind : {"restart", "skip", "pause"}
    seconds : float
        Seconds of the take played again, left out, or of silence.
    at : float, optional
        Where to cut, as a share of the last onset's performance time: the midpoint between two onsets nearest it.
    cut_s : float, optional
        Or the cut itself, in seconds of the take (e.g. a point chosen between two notes beforehand).
    sr : int
        Sample rate of ``pianist``.

    Returns
    -------
    audio : np.ndarray
        The edited take.
    events : np.ndarray [shape=(N', 2)]
        ``[reference_s, performance_s]`` of its onsets as played (a restart's notes twice).
    cut : float
        Performance seconds of the cut.

    See Also
    --------
    concerto_nb.sync.time_map_with_jumps : the map that follows such a take (``benchmarks/jump_detection.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import performance
    >>> take, onsets = np.ones(1000, dtype=np.float32), np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 6.0]])  # 10 s at 100 Hz
    >>> audio, events, cut = performance.edited_take(take, onsets, "pause", 2.0, at=0.5, sr=100)
    >>> len(audio) / 100, cut, events[:, 1].tolist()  # cut between the first two notes; the others 2 s later
    (12.0, 2.0, [1.0, 5.0, 8.0])
    """
    played = onsets[:, 1]
    if (at is None) == (cut_s is None):
        raise ValueError("give either at (a share of the take) or cut_s (seconds)")
    between = (played[:-1] + played[1:]) / 2
    cut = float(between[np.argmin(np.abs(between - at * played[-1]))]) if cut_s is None else float(cut_s)
    if kind == "restart":
        audio = np.concatenate([pianist[: int(cut * sr)], pianist[int((cut - seconds) * sr):]])
        events = np.vstack([onsets[played < cut], onsets[played >= cut - seconds] + [0.0, seconds]])
    elif kind == "skip":
        audio = np.concatenate([pianist[: int(cut * sr)], pianist[int((cut + seconds) * sr):]])
        events = np.vstack([onsets[played < cut], onsets[played >= cut + seconds] - [0.0, seconds]])
    elif kind == "pause":
        # the pianist lets go at the cut (the dampers fall: the sound released over 0.1 s), is silent, and plays
        # the next note `seconds` late; the take's sound between the cut and that note (the last one's ring,
        # which a pianist who stops does not pick up again) becomes silence too
        following = played[played >= cut]
        resume = max(cut, (following[0] if len(following) else len(pianist) / sr) - 0.01)
        release = int(min(0.1, resume - cut) * sr)
        head = pianist[: int(cut * sr) + release].copy()
        head[len(head) - release:] *= np.linspace(1.0, 0.0, release, dtype=pianist.dtype)
        noise = _noise_floor(pianist, int(round((resume + seconds) * sr)) - len(head))
        tail = pianist[int(round(resume * sr)):].copy()
        fade_in = min(len(tail), max(1, int(0.01 * sr)))
        tail[:fade_in] *= np.linspace(0.0, 1.0, fade_in + 1, dtype=pianist.dtype)[1:]
        audio = np.concatenate([head, noise, tail])
        events = np.vstack([onsets[played < cut], onsets[played >= cut] + [0.0, seconds]])
    else:
        raise ValueError(f"kind must be 'restart', 'skip' or 'pause', got {kind!r}")
    return audio, events, cut


def passage_take(pianist: np.ndarray, onsets: np.ndarray, start_s: float, end_s: float, *, silence_s: float = 1.0,
                 sr: int = 22050):
    """A pianist practising one passage: of a take, only the notes of the reference's ``[start_s, end_s]``, with
    ``silence_s`` of the recording's own noise floor before the first (recording started, hands ready) and after
    the last, released where the next note would have come.

    Notebook: ``04_music_synchronization``.

    Parameters
    ----------
    pianist : np.ndarray [shape=(n,)]
        The whole take, e.g. :func:`rubato_take`'s.
    onsets : np.ndarray [shape=(N, 2)]
        ``[reference_s, performance_s]`` of its onsets.
    start_s, end_s : float
        The passage, reference seconds.
    silence_s : float
    sr : int
        Sample rate of ``pianist``.

    Returns
    -------
    audio : np.ndarray
        The passage take.
    events : np.ndarray [shape=(N', 2)]
        ``[reference_s, performance_s]`` of its onsets.

    See Also
    --------
    edited_take : a take with a restart, a skip or a pause.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import performance
    >>> take, onsets = np.ones(1000, dtype=np.float32), np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 6.0]])  # 10 s at 100 Hz
    >>> audio, events = performance.passage_take(take, onsets, 0.5, 1.5, sr=100)
    >>> len(audio) / 100, events.round(2).tolist()  # the second note alone, released halfway to the third
    (3.51, [[1.0, 1.01]])
    """
    reference, played = onsets[:, 0], onsets[:, 1]
    inside = (reference >= start_s) & (reference <= end_s)
    if not inside.any():
        raise ValueError(f"no onset between {start_s} and {end_s} s of the reference")
    first, last = played[inside][[0, -1]]
    following = played[played > last]
    stop = (last + following[0]) / 2 if len(following) else len(pianist) / sr
    body = pianist[int(round((first - 0.01) * sr)): int(round(stop * sr))].copy()
    fade_in, release = min(len(body), int(0.01 * sr)), min(len(body) // 2, int(0.1 * sr))
    body[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=pianist.dtype)
    body[len(body) - release:] *= np.linspace(1.0, 0.0, release, dtype=pianist.dtype)  # the dampers fall
    before, after = np.split(_noise_floor(pianist, 2 * int(round(silence_s * sr))), 2)
    audio = np.concatenate([before, body, after])
    return audio, onsets[inside] + [0.0, silence_s - (first - 0.01)]


def _noise_floor(pianist: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples of noise at the level of the recording's quietest samples: its own floor, as between two
    notes (the same samples for the same length)."""
    level = np.percentile(np.abs(pianist), 5)
    return np.random.default_rng(0).standard_normal(n).astype(pianist.dtype) * level
