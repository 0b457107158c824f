"""Rendering multitrack concerto audio from MIDI: exact piano/orchestra stems and a "pianist".

The demo data in ``data/demo`` is made by :func:`render_demo` (``make data`` or
``concerto-nb render-demo``) from the Mutopia MIDI of Mozart's Piano Concerto KV488, I:

- the **concerto recording** = piano stem + orchestra stem, synthesised with one
  soundfont and convolved with one concert-hall impulse response;
- the **pianist** = the same piano part on a smooth tempo curve (0.8x-1.25x), another
  soundfont and another room, with its ground-truth time map.

Piano tracks are GM program 0; every other track is orchestra, so stems are exact.
Needs Debian's ``libfluidsynth3`` and soundfonts (``make setup`` installs them).
"""
from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np

from . import io

__all__ = [
    "SOUNDFONTS",
    "load_midi",
    "crop_midi",
    "split_stems",
    "tempo_curve_time_map",
    "steady_through_rests",
    "piano_rests",
    "warp_midi",
    "render_midi",
    "render_sampled_piano",
    "load_piano_samples",
    "score_to_midi",
    "apply_room",
    "synthetic_impulse_response",
    "render_demo",
]

SOUNDFONTS = {
    "fluidr3": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "musescore": "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
    "timgm6mb": "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "gmbank": "/usr/share/sounds/sf2/sf_GMbank.sf2",  # Csound's public-domain GM bank
}

PIANO_PROGRAMS = range(0, 8)  # GM pianos


def load_midi(path):
    """A MIDI file as ``pretty_midi.PrettyMIDI``, quietly, with Mutopia's mislabelled brass mended.

    Notebook: ``07_dataset_and_evaluation``.
    """
    import pretty_midi

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tempo, Key or Time signature")
        pm = pretty_midi.PrettyMIDI(str(path))
    for inst in pm.instruments:
        if inst.program == 69:  # Mutopia's Op.37 horns and trumpets come out as "english horn"
            inst.program = 60 if "horn" in inst.name.lower() else 56
    return pm


def crop_midi(pm, start: float, end: float):
    """Notes starting in ``[start, end)``, shifted to start at 0 (pedal state carried in).

    Notebook: ``07_dataset_and_evaluation``.
    """
    import pretty_midi

    out = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for inst in pm.instruments:
        new = pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum, name=inst.name)
        for n in inst.notes:
            if start <= n.start < end:
                new.notes.append(pretty_midi.Note(n.velocity, n.pitch, n.start - start, min(n.end, end) - start))
        ccs = sorted(inst.control_changes, key=lambda c: c.time)
        for number in {c.number for c in ccs}:
            before = [c for c in ccs if c.number == number and c.time < start]
            if before:  # the pedal (or volume) that is down at the cut stays down
                new.control_changes.append(pretty_midi.ControlChange(number, before[-1].value, 0.0))
        new.control_changes += [
            pretty_midi.ControlChange(c.number, c.value, c.time - start) for c in ccs if start <= c.time < end
        ]
        if new.notes:
            out.instruments.append(new)
    return out


def split_stems(pm):
    """Return ``(piano_pm, orchestra_pm)``: GM pianos vs everything else.

    Notebook: ``07_dataset_and_evaluation``.
    """
    piano, orchestra = copy.deepcopy(pm), copy.deepcopy(pm)
    piano.instruments = [i for i in piano.instruments if i.program in PIANO_PROGRAMS and not i.is_drum]
    orchestra.instruments = [i for i in orchestra.instruments if not (i.program in PIANO_PROGRAMS and not i.is_drum)]
    return piano, orchestra


def tempo_curve_time_map(duration: float, min_ratio=0.8, max_ratio=1.25, period=37.0, seed=0, step=0.05):
    """A smooth tempo curve and the time map it induces.

    Notebook: ``07_dataset_and_evaluation``.

    The local tempo ratio is ``r(t) = 2 ** s(t)``, ``s`` a sum of two slow sinusoids
    scaled to span ``[log2 min_ratio, log2 max_ratio]``; performance time is
    ``tau(t) = integral_0^t dt' / r(t')`` (r > 1 = the pianist plays faster).

    Returns
    -------
    time_map : np.ndarray [shape=(K, 2)]
        ``[reference_s, performance_s]`` every ``step`` seconds, including both ends.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration + step, step)
    t[-1] = duration
    phase = rng.uniform(0, 2 * np.pi, 2)
    s = np.sin(2 * np.pi * t / period + phase[0]) + 0.5 * np.sin(2 * np.pi * t / (period / 2.7) + phase[1])
    lo, hi = np.log2(min_ratio), np.log2(max_ratio)
    s = lo + (s - s.min()) / (s.max() - s.min()) * (hi - lo)
    inv_rate = 2.0 ** (-s)
    tau = np.concatenate([[0.0], np.cumsum(0.5 * (inv_rate[1:] + inv_rate[:-1]) * np.diff(t))])
    return np.stack([t, tau], axis=1)


def steady_through_rests(time_map: np.ndarray, rests) -> np.ndarray:
    """The same time map with a constant tempo inside each rest ``(start_s, end_s)`` of the soloist.

    Notebook: ``07_dataset_and_evaluation``.

    While the pianist rests, their recording holds no timing: a tempo curve that keeps bending there
    is a ground truth no aligner could know. Holding the tempo steady across the rest (the map's
    values at both ends unchanged) models a pianist who counts the rest in one tempo.
    """
    time_map = np.array(time_map, dtype=float)
    t = time_map[:, 0]
    for a, b in rests:
        inside = (t > a) & (t < b)
        if inside.any():
            ya, yb = np.interp([a, b], t, time_map[:, 1])
            time_map[inside, 1] = ya + (t[inside] - a) * (yb - ya) / (b - a)
    return time_map


def piano_rests(pm_piano, duration: float, min_s: float = 2.0):
    """Intervals ``(start_s, end_s)`` of at least ``min_s`` where no note of ``pm_piano`` sounds.

    Notebook: ``07_dataset_and_evaluation``.
    """
    notes = sorted((n.start, n.end) for i in pm_piano.instruments for n in i.notes)
    rests, sounding_until = [], 0.0
    for start, end in notes + [(duration, duration)]:
        if start - sounding_until >= min_s:
            rests.append((sounding_until, start))
        sounding_until = max(sounding_until, end)
    return rests


def warp_midi(pm, time_map):
    """A copy of ``pm`` with every event moved from reference time to performance time.

    Notebook: ``07_dataset_and_evaluation``.
    """
    warped = copy.deepcopy(pm)
    warped.adjust_times(time_map[:, 0], time_map[:, 1])
    return warped


def render_midi(pm, sr: int, soundfont: str, duration: float | None = None) -> np.ndarray:
    """Synthesise ``pm`` with FluidSynth, each instrument on its own, summed without normalising.

    Notebook: ``07_dataset_and_evaluation``.

    ``soundfont`` is a key of :data:`SOUNDFONTS` or an ``.sf2``/``.sf3`` path.
    """
    sf2 = SOUNDFONTS.get(soundfont, soundfont)
    if not Path(sf2).exists():
        raise FileNotFoundError(f"soundfont {sf2} missing: run `make setup` (installs Debian soundfonts)")
    # pretty_midi.PrettyMIDI.fluidsynth normalises the sum, which would break stem sums
    parts = [inst.fluidsynth(fs=sr, sf2_path=sf2) for inst in pm.instruments]
    n = max([len(p) for p in parts] + [int(round((duration or 0) * sr))])
    y = np.zeros(n, dtype=np.float64)
    for p in parts:
        y[: len(p)] += p
    if duration is not None:
        y = y[: int(round(duration * sr))]
    return y


def render_sampled_piano(pm, sr: int, samples, duration: float | None = None, release_s: float = 0.25) -> np.ndarray:
    """Synthesise the notes of ``pm`` from recorded piano samples: a minimal sampler.

    Notebook: ``07_dataset_and_evaluation``.

    Each note plays the sample of the nearest recorded pitch, read faster or slower by the semitones between
    them (samples every minor third: at most 1.5 semitones away), scaled by ``(velocity / 80) ** 1.5`` (one
    velocity layer stands for all), and damped over ``release_s`` after the note ends.

    Parameters
    ----------
    pm : pretty_midi.PrettyMIDI
        The notes (every instrument's).
    sr : int
        Output sample rate.
    samples : dict or path
        ``{midi_pitch: waveform at sr}``, or a folder of files named like ``A0v10.ogg`` / ``D#4v10.ogg``
        (the Salamander Grand Piano's naming, as ``benchmarks/expressive.py`` fetches it).
    duration : float, optional
        Output length in seconds (default: until the last note's release).
    release_s : float
        Damper time after a note's end.

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    if not isinstance(samples, dict):
        samples = load_piano_samples(samples, sr)
    pitches = np.array(sorted(samples))
    notes = [n for inst in pm.instruments for n in inst.notes]
    end = max([n.end + release_s for n in notes] + [duration or 0.0])
    y = np.zeros(int(round((duration or end) * sr)) + 1)
    release = np.exp(-np.arange(int(release_s * sr)) / (0.2 * release_s * sr))
    for note in notes:
        nearest = int(pitches[np.argmin(np.abs(pitches - note.pitch))])
        sample = samples[nearest]
        rate = 2 ** ((note.pitch - nearest) / 12)  # read this much faster: that many semitones higher
        held = int((note.end - note.start) * sr)
        length = min(int((len(sample) - 1) / rate), held + len(release))
        start = int(round(note.start * sr))
        length = min(length, len(y) - start)
        if length <= 0:
            continue
        tone = np.interp(np.arange(length) * rate, np.arange(len(sample)), sample)
        tail = tone[held:]
        tail *= release[: len(tail)]
        y[start: start + length] += (note.velocity / 80) ** 1.5 * tone
    return y[: int(round(duration * sr))] if duration is not None else y


def load_piano_samples(folder, sr: int) -> dict:
    """``{midi_pitch: mono waveform at sr}`` from files named like ``C4v10.ogg`` or ``F#2v10.ogg`` in ``folder``.

    Notebook: ``07_dataset_and_evaluation``.
    """
    import re

    from .io import load_audio

    names = {"C": 0, "C#": 1, "D": 2, "D#": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "G#": 8, "A": 9, "A#": 10, "B": 11}
    samples = {}
    for path in sorted(Path(folder).glob("*.ogg")):
        match = re.match(r"([A-G]#?)(\d)v\d+$", path.stem)
        if match:
            pitch = 12 * (int(match.group(2)) + 1) + names[match.group(1)]
            samples[pitch] = load_audio(path, sr=sr)[0]
    if not samples:
        raise FileNotFoundError(f"{folder}: no piano samples named like C4v10.ogg")
    return samples


def score_to_midi(score, programs, qpm: float = 120.0, max_s: float | None = None, velocity: int = 80):
    """A music21 score as MIDI: one instrument per part, ties merged, at one steady tempo.

    Notebook: ``07_dataset_and_evaluation``.

    Scores in music21's corpus seldom carry a metronome mark, so the tempo is the caller's.

    Parameters
    ----------
    score : music21.stream.Score
    programs : list of int
        GM program of each part, in score order.
    qpm : float
        Quarter notes per minute.
    max_s : float, optional
        Keep the notes that start before this time.
    velocity : int

    Returns
    -------
    pretty_midi.PrettyMIDI
    """
    import pretty_midi

    spq = 60.0 / qpm
    out = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    for part, program in zip(score.parts, programs):
        inst = pretty_midi.Instrument(program=int(program), name=str(part.partName or part.id))
        sounding = {}  # pitch -> the open Note that a tie carries on
        for element in part.flatten().notes:
            if element.duration.isGrace:
                continue
            start, end = float(element.offset) * spq, float(element.offset + element.quarterLength) * spq
            if max_s is not None and start >= max_s:
                break
            for note in element.notes if element.isChord else [element]:
                pitch, tie = note.pitch.midi, note.tie.type if note.tie is not None else None
                open_note = sounding.get(pitch)
                if tie in ("continue", "stop") and open_note is not None:
                    open_note.end = end
                else:
                    open_note = pretty_midi.Note(velocity, pitch, start, end)
                    inst.notes.append(open_note)
                if tie in ("start", "continue"):
                    sounding[pitch] = open_note
                else:
                    sounding.pop(pitch, None)
        if inst.notes:
            out.instruments.append(inst)
    return out


def load_impulse_response(path, sr: int) -> np.ndarray:
    """Channel 0 (the omni W channel of B-format IRs), at ``sr``, normalised to unit energy."""
    import soundfile as sf

    ir, ir_sr = sf.read(str(path), always_2d=True, dtype="float64")
    ir = io.resample(ir[:, 0], ir_sr, sr)
    return ir / np.sqrt(np.sum(ir**2))


def synthetic_impulse_response(sr: int, rt60: float, rng, high_decay: float = 0.6, predelay_s: float = 0.01,
                               n_reflections: int = 6) -> np.ndarray:
    """A made-up room's reverberation: a few early reflections, then exponentially decaying noise,
    unit energy (no direct sound: :func:`apply_room` adds the dry signal).

    Notebook: ``07_dataset_and_evaluation``.

    Parameters
    ----------
    sr : int
    rt60 : float
        Seconds for the (low-frequency) tail to decay by 60 dB.
    rng : np.random.Generator
        Source of the noise and of the reflections' times and signs.
    high_decay : float
        The tail above ~1.5 kHz decays in ``high_decay * rt60`` (air and walls absorb highs).
    predelay_s : float
        Silence between the direct sound and the tail.
    n_reflections : int
        Early reflections, at random times in the first 40 ms.

    Returns
    -------
    np.ndarray [shape=(n,)], n = 1.2 * rt60 seconds (at most 3 s)
    """
    from scipy.signal import butter, sosfilt

    n = int(min(3.0, 1.2 * rt60) * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal(n)
    low = sosfilt(butter(2, 1500.0, fs=sr, output="sos"), noise)
    tail = low * np.exp(-6.91 * t / rt60) + (noise - low) * np.exp(-6.91 * t / (high_decay * rt60))
    tail *= np.clip((t - predelay_s) / 0.02, 0.0, 1.0)  # the tail builds up after the pre-delay
    ir = tail / np.sqrt(np.sum(tail**2))
    for k in rng.integers(int(0.003 * sr), int(0.04 * sr), n_reflections):
        ir[k] += rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.4)
    return ir / np.sqrt(np.sum(ir**2))


def apply_room(y: np.ndarray, ir: np.ndarray, wet: float = 0.35) -> np.ndarray:
    """Dry/wet mix of ``y`` and its convolution with ``ir``; output length = input length.

    Notebook: ``07_dataset_and_evaluation``.
    """
    from scipy.signal import fftconvolve

    reverberant = fftconvolve(y, ir)[: len(y)]
    return (1 - wet) * y + wet * reverberant


DEMO = {
    "midi": "mutopia_concertos_midi/Mozart_KV488_mvt1_Allegro.mid",
    "start": 120.0,  # 12 s before the piano's entry at 132 s
    "duration": 75.0,
    "sr": 44100,
    "concerto_soundfont": "fluidr3",
    "concerto_room": "openair_irs/Jack Lyons Hall, University of York.wav",
    "pianist_soundfont": "musescore",
    "pianist_room": "openair_irs/Genesis 6 Studio Live Room.wav",
    "tempo": {"min_ratio": 0.8, "max_ratio": 1.25, "period": 37.0, "seed": 488},
}


def render_demo(shared_data, out_dir, force: bool = False, duration: float | None = None) -> dict:
    """Render the demo concerto, its stems, the pianist and the ground-truth time map.

    Notebook: ``07_dataset_and_evaluation``.

    Parameters
    ----------
    shared_data : path
        Folder with ``mutopia_concertos_midi/`` and ``openair_irs/`` (:data:`concerto_nb.data.SOURCES_DIR`).
    out_dir : path
        Where ``concerto.ogg``, ``piano.ogg``, ``orchestra.ogg``, ``pianist.ogg``,
        ``pianist_time_map.csv``, ``piano_onsets.csv`` and ``demo.json`` go.
    duration : float, optional
        Shorter excerpt (tests); default ``DEMO["duration"]``.
    """
    import pretty_midi

    shared_data, out_dir = Path(shared_data), Path(out_dir)
    cfg = dict(DEMO, duration=duration or DEMO["duration"])
    sr, dur = cfg["sr"], cfg["duration"]
    names = ["concerto.ogg", "piano.ogg", "orchestra.ogg", "pianist.ogg", "pianist_time_map.csv", "piano_onsets.csv"]
    for name in names + ["demo.json"]:
        io.check_output(out_dir / name, force)

    with warnings.catch_warnings():
        # Mutopia's MIDI has tempo events on note tracks; the tempo is constant, so this is harmless
        warnings.filterwarnings("ignore", message="Tempo, Key or Time signature")
        score = pretty_midi.PrettyMIDI(str(shared_data / cfg["midi"]))
    pm = crop_midi(score, cfg["start"], cfg["start"] + dur)
    piano_pm, orch_pm = split_stems(pm)

    hall = load_impulse_response(shared_data / cfg["concerto_room"], sr)
    piano = apply_room(render_midi(piano_pm, sr, cfg["concerto_soundfont"], dur), hall)
    orchestra = apply_room(render_midi(orch_pm, sr, cfg["concerto_soundfont"], dur), hall)

    time_map = tempo_curve_time_map(dur, **cfg["tempo"])
    pianist_pm = warp_midi(piano_pm, time_map)
    studio = load_impulse_response(shared_data / cfg["pianist_room"], sr)
    pianist = apply_room(render_midi(pianist_pm, sr, cfg["pianist_soundfont"], time_map[-1, 1]), studio, wet=0.2)

    # one gain for both stems keeps piano + orchestra == concerto
    gain = 0.9 / np.max(np.abs(piano + orchestra))
    io.save_audio(out_dir / "piano.ogg", piano * gain, sr, force)
    io.save_audio(out_dir / "orchestra.ogg", orchestra * gain, sr, force)
    io.save_audio(out_dir / "concerto.ogg", (piano + orchestra) * gain, sr, force)
    io.save_audio(out_dir / "pianist.ogg", pianist * 0.9 / np.max(np.abs(pianist)), sr, force)
    io.save_time_map(out_dir / "pianist_time_map.csv", time_map, force)
    onsets = np.unique(np.round([n.start for i in piano_pm.instruments for n in i.notes], 4))
    io.save_time_map(
        out_dir / "piano_onsets.csv", np.stack([onsets, np.interp(onsets, *time_map.T)], axis=1), force
    )
    meta = {k: v for k, v in cfg.items()}
    meta["note"] = "reference = concerto time; performance = pianist time; piano + orchestra = concerto"
    (out_dir / "demo.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
