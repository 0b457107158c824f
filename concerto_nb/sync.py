"""Stage 3 - music synchronization: which instant of the performance matches each instant of the reference.

Method (Sync Toolbox, Müller et al. 2021): both recordings become 50 Hz feature
sequences - quantised chroma (harmony) and DLNCO (decaying locally adaptive
normalised chroma onsets: where notes start). Multiresolution, multiscale DTW
(MrMsDTW) finds the warping path :math:`P = ((n_1, m_1), \\dots, (n_L, m_L))` minimising

.. math:: \\sum_\\ell C(n_\\ell, m_\\ell), \\quad C = C_{chroma} + C_{DLNCO},

first on coarse features, then refined in a band around the coarse path. The path
becomes a **time map**: a strictly increasing table ``[reference_s, performance_s]``
from ``(0, 0)`` to the two durations, thinned to one anchor per ``anchor_step`` seconds
and smoothed, since a frame-level staircase makes TSM stutter.

Where the piano rests (tutti) the features say nothing about the timing, and neither do
the decay of the last chord before the rest nor the silence before the entry after it:
only path points from the first to the last onset of each passage the pianist plays
become anchors (the first and the last onset always among them), and the map is a straight
line through the rest between them, from the note-off of the last note, which the pianist
holds in the tempo they played.

DTW's path is only as sharp as its 20 ms frames and its chroma, and it drifts in fast runs.
:func:`refine_with_onsets` then moves each anchor to line up note onsets pitch by pitch
(:func:`semitone_flux`: spectral flux in the 88 semitone bands of the piano, sharp in time and
octave-aware, where DLNCO folds octaves into pitch classes and gives each onset a 200 ms tail).

:func:`confidence` compares the chroma agreement along the path with that of
random frame pairs: near 1 for the same piece, near 0 for unrelated recordings.
"""
from __future__ import annotations

import contextlib
import io as _io

import numpy as np

from ._arrays import runs

__all__ = ["FEATURE_RATE", "SYNC_SR", "MIN_CONFIDENCE", "LOW_SECOND_CONFIDENCE", "MAX_LOW_CONFIDENCE_SHARE",
           "MAX_IMPLAUSIBLE_TEMPO_SHARE", "MIN_CHROMA_VARIETY", "chroma_variety", "pitch_profile", "pitch_offset",
           "low_confidence_share", "implausible_tempo_share", "skips_and_repeats", "uneven_ends", "realign_jumps",
           "features", "semitone_flux", "chroma", "align", "path_to_time_map", "refine_with_onsets", "chroma_shift",
           "confidence", "map_times"]

FEATURE_RATE = 50  # Hz, synctoolbox's default
SYNC_SR = 22050  # synctoolbox's filterbanks are designed for this rate

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
# :func:`chroma_variety` below this: a steady tone or noise, not music. Measured (tests/test_inputs.py,
# test_a_steady_tone_is_not_music): a sine, a held chord, white noise 0.00-0.01; the demo's recordings 0.29-0.44.
MIN_CHROMA_VARIETY = 0.05


def implausible_tempo_share(time_map: np.ndarray, window_s: float = 2.0) -> float:
    """Share of the reference where the map's tempo ratio over ``window_s`` is below 1/3 or above 3."""
    t = np.arange(0.0, max(time_map[-1, 0] - window_s, 0.0) + 1e-9, 0.25)
    ratio = _local_ratio(time_map, t, window_s)
    return float(np.mean((ratio < 1 / 3) | (ratio > 3)))


def skips_and_repeats(time_map: np.ndarray, min_s: float = 2.0, window_s: float = 1.0, max_ratio: float = 3.0,
                      played_s=None):
    """Passages the pianist skipped or played again, as the time map shows them.

    A skip leaves a stretch of the reference that maps to (almost) no performance time: the map's
    local tempo ratio :math:`\\Delta\\tau / \\Delta t` over ``window_s`` falls below ``1 / max_ratio``.
    A repeat is the reverse: performance time spent at (almost) one instant of the reference,
    ratio above ``max_ratio``. Runs shorter than ``min_s`` (of reference for a skip, of
    performance for a repeat) are ignored; runs of one kind less than ``min_s`` apart are one
    passage. Each is reported as the map's segments inside the run that are that flat (or
    steep) themselves: the window would blur its ends by ``window_s``. With ``played_s``
    (``details["played_s"]`` of :func:`align`) only the part between the pianist's first and last
    note is looked at: the two ends are :func:`uneven_ends`' business.

    Returns
    -------
    list of dict
        ``{"kind": "skip" | "repeat", "reference_s": [start, end], "performance_s": [start, end]}``,
        in reference order.
    """
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


def uneven_ends(time_map: np.ndarray, played_s, tolerance: float = 1.5, slack_s: float = 1.0):
    """Whether the pianist's silence before the first note and after the last one fits the concerto.

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


def chroma_variety(y: np.ndarray, sr: int = SYNC_SR, hop: int = 2048, gate_db: float = -40.0) -> float:
    """How much the pitch content of a recording changes: 0 for a steady tone or noise, 0.3-0.45 for music.

    One minus the median cosine similarity between each sounding frame's chroma and the recording's mean chroma
    (frames within ``gate_db`` of the loudest). A recording below :data:`MIN_CHROMA_VARIETY` holds nothing to
    align with a piece of music. Notebook: ``04_music_synchronization``.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 22050
    >>> round(chroma_variety(np.sin(2 * np.pi * 440 * np.arange(5 * sr) / sr), sr), 2)
    0.0
    """
    import librosa

    chroma = librosa.feature.chroma_stft(y=np.asarray(y, dtype=np.float32), sr=sr, hop_length=hop)
    rms = librosa.feature.rms(y=np.asarray(y, dtype=np.float32), hop_length=hop)[0][: chroma.shape[1]]
    chroma = chroma[:, rms > rms.max() * 10 ** (gate_db / 20)]
    chroma /= np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9
    mean = chroma.mean(axis=1)
    return float(1.0 - np.median(mean @ chroma) / (np.linalg.norm(mean) + 1e-9))


def pitch_profile(y: np.ndarray, sr: int = SYNC_SR, n_fft: int = 8192, hop: int = 2048) -> np.ndarray:
    """Which of the 88 piano keys a recording plays most: ``(88,)``, whitened, from A0.

    The STFT power summed per semitone, log-compressed, averaged over time, minus its 7-semitone moving average
    (the note peaks, not the spectral envelope of the instrument and room). Notebook: ``04_music_synchronization``.
    """
    import librosa

    power = np.abs(librosa.stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop)) ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    keys = np.full(len(freqs), -1)
    audible = freqs > 25.0
    keys[audible] = np.round(librosa.hz_to_midi(freqs[audible])).astype(int) - 21
    per_key = np.zeros((88, power.shape[1]))
    for key in range(88):
        per_key[key] = power[keys == key].sum(axis=0)
    profile = np.log1p(1e3 * per_key / (per_key.max() + 1e-12)).mean(axis=1)
    return profile - np.convolve(profile, np.ones(7) / 7, mode="same")


def pitch_offset(reference: np.ndarray, performance: np.ndarray, sr: int = SYNC_SR, max_shift: int = 24):
    """How many semitones ``reference`` sounds above ``performance``, from their :func:`pitch_profile`.

    Chroma (:func:`chroma_shift`) cannot tell octaves apart; this can: a recording whose header gives half
    its real sample rate plays an octave low, and the alignment alone would not notice.

    Returns
    -------
    semitones : int
        The shift that best lines up the two profiles.
    margin : float
        Its correlation minus the correlation at 0 (0 when ``semitones`` is 0).

    Examples
    --------
    >>> from concerto_nb import data, io, sync
    >>> piano, _ = io.load_audio(data.demo_path("piano"), sr=sync.SYNC_SR)
    >>> pianist, _ = io.load_audio(data.demo_path("pianist"), sr=sync.SYNC_SR)
    >>> sync.pitch_offset(piano, pianist)[0]
    0
    """
    a, b = pitch_profile(reference, sr), pitch_profile(performance, sr)
    shifts = np.arange(-max_shift, max_shift + 1)
    corr = np.array([np.corrcoef(a[max(k, 0): len(a) + min(k, 0)], b[max(-k, 0): len(b) + min(-k, 0)])[0, 1]
                     for k in shifts])
    best = int(np.argmax(corr))
    return int(shifts[best]), float(corr[best] - corr[max_shift])


def low_confidence_share(per_second: np.ndarray) -> float:
    """Share of the seconds with a per-second confidence below :data:`LOW_SECOND_CONFIDENCE` (NaN skipped)."""
    values = per_second[~np.isnan(per_second)]
    return float(np.mean(values < LOW_SECOND_CONFIDENCE)) if len(values) else 1.0


def features(y: np.ndarray, sr: int = SYNC_SR, tuning: float | None = None):
    """Quantised chroma and DLNCO features at :data:`FEATURE_RATE` (synctoolbox).

    ``tuning``: the recording's deviation from A = 440 Hz in cents (estimated when None).

    Returns
    -------
    chroma : np.ndarray [shape=(12, frames)]
    dlnco : np.ndarray [shape=(12, frames)]
    """
    from synctoolbox.feature.chroma import pitch_to_chroma, quantize_chroma
    from synctoolbox.feature.dlnco import pitch_onset_features_to_DLNCO
    from synctoolbox.feature.utils import estimate_tuning

    if sr != SYNC_SR:
        raise ValueError(f"features expect {SYNC_SR} Hz audio, got {sr}")
    y = np.asarray(y, dtype=np.float64)
    tuning = estimate_tuning(y, sr) if tuning is None else tuning
    f_pitch, f_peaks = _pitch_and_onset_features(y, sr, tuning)
    chroma_q = quantize_chroma(f_chroma=pitch_to_chroma(f_pitch=f_pitch))
    dlnco = pitch_onset_features_to_DLNCO(f_peaks=f_peaks, feature_rate=FEATURE_RATE,
                                          feature_sequence_length=chroma_q.shape[1])
    return chroma_q, dlnco


def _pitch_and_onset_features(y: np.ndarray, sr: int, tuning: float):
    """synctoolbox's ``audio_to_pitch_features`` and ``audio_to_pitch_onset_features``, in one pass.

    Both run the same 88-band filterbank over the same downsampled signals; synctoolbox does it once
    for each (about 40 % of an alignment's time). Here each band is filtered once and feeds both, and
    the onset threshold's window-by-window loop is vectorised; the outputs are synctoolbox's
    (``tests/test_sync.py`` checks them equal).
    """
    from scipy import signal
    from synctoolbox.feature import pitch as st_pitch, pitch_onset as st_onset
    from synctoolbox.feature.filterbank import FS_PITCH, generate_filterbank, generate_list_of_downsampled_audio
    from synctoolbox.feature.filterbank import get_fs_index

    window_and_sum = getattr(st_pitch, "__window_and_sum")
    find_peaks = getattr(st_onset, "__find_peaks")
    h = generate_filterbank(semitone_offset_cents=tuning)
    wav_ds = generate_list_of_downsampled_audio(y)
    # audio_to_pitch_features' segments: 2 / FEATURE_RATE s windows, hop 1 / FEATURE_RATE s
    win_len = sr / FEATURE_RATE * 2
    seg_start = np.concatenate([np.ones(1), np.arange(1, y.size + 1, int(win_len / 2))]).astype(np.float64)
    seg_stop = np.minimum(seg_start + win_len, y.size)
    seg_stop[0] = np.minimum(np.round(win_len / 2), y.size)
    f_pitch = np.zeros((128, seg_start.size))
    f_peaks = {}
    smoothing = {}
    for pitch in range(21, 109):
        index = get_fs_index(pitch)
        f_square = signal.sosfiltfilt(x=wav_ds[index], sos=h[pitch]) ** 2
        start = np.floor(seg_start / sr * FS_PITCH[index]).astype(int)
        stop = np.floor(seg_stop / sr * FS_PITCH[index]).astype(int)
        window_and_sum(f_pitch, f_square, pitch, seg_start.size, start, stop, sr / FS_PITCH[index])
        # audio_to_pitch_onset_features from here on (its defaults: manual_offset -25 ms)
        ws, ds = st_onset.WINDOW_SIZE[index], st_onset.DOWNSAMPLING_FACTORS[index]
        energy = signal.upfirdn(h=np.hanning(ws + 2)[1:-1], x=f_square, up=1, down=ds)
        delay = np.floor((ws - 1) / (ds * 2)).astype(int)
        energy = energy[delay: delay + np.floor(f_square.size / ds).astype(int)]
        if index not in smoothing:
            wp = st_onset.CUT_OFF[index]
            n, wn = signal.cheb2ord(wp=wp, ws=wp + 0.01, gpass=1, gstop=20)
            smoothing[index] = signal.cheby2(N=n, rs=20, Wn=wn, output="sos")
        onset = np.diff(signal.sosfiltfilt(x=energy, sos=smoothing[index]))
        onset *= onset > 0
        # threshold: 2/3 of the maximum of each window of WINDOW_LENGTHS samples
        w = st_onset.WINDOW_LENGTHS[index]
        padded = np.pad(onset, (0, -onset.size % w), constant_values=-np.inf)
        thresh = np.repeat(2 * padded.reshape(-1, w).max(axis=1) / 3, w)[: onset.size]
        peaks = find_peaks(W=onset, dir=1, abs_thresh=thresh)
        values = onset[peaks.astype(int)]
        res = st_onset.RES_FAC[index]
        times = (peaks * res - np.ceil(res / 2)) * 1000 / sr - 25
        positive = np.argwhere(times > 0)
        f_peaks[pitch] = np.array([times[positive], values[positive]])
    return f_pitch, f_peaks


def semitone_flux(y: np.ndarray, sr: int = SYNC_SR, tuning: float = 0.0, n_fft: int = 2048,
                  frames: int | None = None, gamma: float = 100.0) -> np.ndarray:
    """Spectral flux in the piano's 88 semitone bands, at :data:`FEATURE_RATE`.

    With :math:`X` the STFT (``n_fft`` window, centred frames, hop ``sr / FEATURE_RATE``) and
    :math:`B_p(n) = \\sum_{k \\in p} |X(k, n)|` the magnitude in the bins nearest to MIDI pitch
    :math:`p` (21-108, shifted by ``tuning`` cents),

    .. math:: F_p(n) = \\max\\big(0,\\ \\log(1 + \\gamma \\hat B_p(n)) - \\log(1 + \\gamma \\hat B_p(n-1))\\big),

    :math:`\\hat B` scaled by its maximum. A note's onset shows in its own pitch (and its
    overtones'), not in all twelve octaves of its pitch class as in chroma onsets.

    Returns
    -------
    np.ndarray [shape=(88, frames)], float32; ``frames`` defaults to ``len(y) // hop + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import sync
    >>> sr = sync.SYNC_SR
    >>> y = np.zeros(sr); y[sr // 2:] = np.sin(2 * np.pi * 440 * np.arange(sr // 2) / sr)  # A4 from 0.5 s
    >>> f = sync.semitone_flux(y)
    >>> f.shape, int(np.argmax(f.max(axis=1))) + 21  # frames, the MIDI pitch whose band rises most
    ((88, 51), 69)
    >>> float(np.argmax(f.max(axis=0)) / sync.FEATURE_RATE)  # when: the first window that reaches the onset
    0.48
    """
    import scipy.fft

    hop = sr // FEATURE_RATE
    frames = len(y) // hop + 1 if frames is None else frames
    padded = np.pad(np.asarray(y, dtype=np.float32), (n_fft // 2, n_fft // 2 + frames * hop))
    freqs = np.arange(1, n_fft // 2 + 1) * sr / n_fft  # bin 0 (DC) belongs to no pitch
    band = np.round(69 + 12 * np.log2(freqs / 440.0) - tuning / 100).astype(int) - 21
    bands = np.zeros((n_fft // 2, 88), dtype=np.float32)
    inside = (band >= 0) & (band < 88)
    bands[np.flatnonzero(inside), band[inside]] = 1
    window = np.hanning(n_fft).astype(np.float32)
    energy = np.empty((frames, 88), dtype=np.float32)
    for start in range(0, frames, 4096):  # blocks of frames: bounded memory
        idx = np.arange(start, min(frames, start + 4096))
        block = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[idx * hop] * window
        energy[idx] = np.abs(scipy.fft.rfft(block, axis=1)[:, 1:]) @ bands
    log = np.log1p(gamma * energy.T / max(float(energy.max()), 1e-12))
    return np.maximum(0.0, np.diff(log, axis=1, prepend=log[:, :1]))


def _alignment_features(y: np.ndarray, sr: int):
    """:func:`features` and :func:`semitone_flux` of one recording, its tuning estimated once."""
    from synctoolbox.feature.utils import estimate_tuning

    y = np.asarray(y, dtype=np.float64)  # once: features would copy a float32 recording again
    tuning = estimate_tuning(y, sr)
    chroma_q, dlnco = features(y, sr, tuning)
    return chroma_q, dlnco, semitone_flux(y, sr, tuning, frames=chroma_q.shape[1])


def _tuned_chroma(y: np.ndarray, sr: int) -> np.ndarray:
    from synctoolbox.feature.utils import estimate_tuning

    y = np.asarray(y, dtype=np.float64)
    return chroma(y, sr, estimate_tuning(y, sr))


def _level_db(y: np.ndarray, sr: int, frames: int) -> np.ndarray:
    """RMS level per feature frame, in dB relative to the recording's loud parts (95th percentile)."""
    hop = sr // FEATURE_RATE
    n = frames * hop
    y = np.pad(y[:n], (0, max(0, n - len(y))))
    rms = np.sqrt(np.mean(y.reshape(frames, hop) ** 2, axis=1) + 1e-12)
    return 20 * np.log10(rms / np.percentile(rms, 95))


def _activity(level_db: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """Boolean per frame: the signal is within ``floor_db`` of its loud parts, gaps under 1 s closed."""
    active = level_db > floor_db
    # a gap under 1 s between notes is not a rest: close it (dilate, then erode) - a plain dilation
    # would also mark the silence just before an entry as active, and the path there is arbitrary
    from scipy.ndimage import binary_closing

    pad = FEATURE_RATE
    closed = binary_closing(np.pad(active, pad, mode="edge"), structure=np.ones(FEATURE_RATE, dtype=bool))
    return closed[pad:-pad]


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
                     note_offs: np.ndarray | None = None) -> np.ndarray:
    """Turn a warping path (feature frames) into a smooth, strictly increasing time map.

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
    t_known = np.concatenate([[0.0], t[valid], held[:, 0], [ref_duration]])
    p_known = np.concatenate([[0.0], perf_of_ref[valid], held[:, 1], [perf_duration]])
    order = np.argsort(t_known, kind="stable")
    perf = np.interp(t, t_known[order], np.maximum.accumulate(p_known[order]))
    win = max(1, int(round(smooth_s * FEATURE_RATE)))
    if win > 1:
        kernel = np.ones(win) / win
        padded = np.pad(perf, (win // 2, win - 1 - win // 2), mode="edge")
        perf = np.convolve(padded, kernel, mode="valid")
    grid = np.arange(anchor_step, ref_duration - anchor_step / 2, anchor_step)
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


def _passages(valid: np.ndarray, max_gap_s: float = 0.2) -> list:
    """``(first, last + 1)`` frames of the runs of ``valid`` with gaps up to ``max_gap_s`` bridged."""
    bridged = valid.copy()
    for start, stop in runs(~valid):
        if start > 0 and stop < len(valid) and stop - start <= max_gap_s * FEATURE_RATE:
            bridged[start:stop] = True
    return runs(bridged)


def _held_notes(passages: list, valid: np.ndarray, perf_of_ref: np.ndarray, note_offs: np.ndarray,
                max_hold_s: float = 2.0, tempo_s: float = 2.0) -> np.ndarray:
    """``(reference s, performance s)`` of the note-off that ends each passage (``(first, last + 1)`` frames).

    A pianist counts their last held note in the tempo they played; where they stop, the line through
    the rest begins (a line from the last onset instead put KV488's tutti after 566 s 117 ms off).
    The note-off's reference time continues the passage's tempo over its last ``tempo_s``.
    """
    held = []
    for k, (start, stop) in enumerate(passages):
        last = stop - 1  # passages start and end on valid frames
        first = last - min(last - start, int(tempo_s * FEATURE_RATE))
        first += int(np.argmax(valid[first:]))
        if last - first < FEATURE_RATE // 2:
            continue
        # performance seconds per reference second
        rate = (perf_of_ref[last] - perf_of_ref[first]) / ((last - first) / FEATURE_RATE)
        ends = note_offs[(note_offs > perf_of_ref[last]) & (note_offs <= perf_of_ref[last] + max_hold_s)]
        if not len(ends) or not 0.5 <= rate <= 2.0:
            continue
        t_off = last / FEATURE_RATE + (ends[0] - perf_of_ref[last]) / rate
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


def chroma_shift(cens_reference: np.ndarray, cens_performance: np.ndarray, margin: float = 0.4) -> int:
    """Transposition (in semitones, for ``np.roll`` of the performance chroma) that best matches.

    DTW cost per path step is computed for all 12 cyclic shifts of the performance's
    CENS features. A non-zero shift is taken only if its cost is below ``margin`` times
    the median over all shifts: with a poorly separated piano all shifts score alike,
    and picking the noisy minimum would wreck an alignment that needs no shift; and an
    unrelated piece transposed into the same key must not pass for the same music.
    Measured ratios: true pairs 0.25 (Schubert, a semitone apart) and 0.28 (demo, no shift);
    the Bach C major prelude against the A major demo 0.45 (shift 9 refused).
    """
    import librosa

    costs = np.empty(12)
    for shift in range(12):
        D, wp = librosa.sequence.dtw(cens_reference, np.roll(cens_performance, shift, axis=0), metric="cosine")
        costs[shift] = D[-1, -1] / len(wp)
    best = int(np.argmin(costs))
    if best != 0 and costs[best] < margin * np.median(costs):
        return best
    return 0


def chroma(y: np.ndarray, sr: int = SYNC_SR, tuning: float = 0.0) -> np.ndarray:
    """Quantised chroma at :data:`FEATURE_RATE` (the harmony half of :func:`features`); ``tuning`` in cents."""
    from synctoolbox.feature.chroma import pitch_to_chroma, quantize_chroma
    from synctoolbox.feature.pitch import audio_to_pitch_features

    with contextlib.redirect_stdout(_io.StringIO()):  # synctoolbox prints progress dots
        f_pitch = audio_to_pitch_features(f_audio=np.asarray(y, dtype=np.float64), Fs=sr, tuning_offset=tuning,
                                          feature_rate=FEATURE_RATE)
    return quantize_chroma(f_chroma=pitch_to_chroma(f_pitch=f_pitch))


def confidence(chroma_ref: np.ndarray, chroma_perf: np.ndarray, path: np.ndarray, active: np.ndarray | None = None,
               seed: int = 0):
    """How much better the path matches than chance: overall, and per second of reference.

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


def align(reference: np.ndarray, performance: np.ndarray, sr: int = SYNC_SR, anchor_step: float = 0.5,
          handle_rests: bool = True, mixture: np.ndarray | None = None, return_details: bool = False,
          refine: bool = True, realign: bool = True):
    """Align a performance with a reference recording.

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

    from ._arrays import check_audio

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


def realign_jumps(path: np.ndarray, found: list, features_1, features_2, margin_s: float = 5.0,
                  max_step: int = 2, max_cells: int = 20_000_000) -> np.ndarray:
    """Re-align around each skip or repeat with a path that jumps, forward or back, in one step.

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
    skipped, so neither a long jump nor a long stall is cheap in itself. The returned path
    stays monotonic: after a jump back it resumes where the repeat has caught up.

    Parameters
    ----------
    path : np.ndarray [shape=(2, L)]
        Strictly monotonic warping path (both rows increase), feature frames, reference in row 0.
    found : list of dict
        :func:`skips_and_repeats`'s passages.
    features_1, features_2 : tuple of np.ndarray
        (chroma, DLNCO) of the reference and the performance, as given to MrMsDTW.
    margin_s : float
        Seconds of reference re-aligned on each side of a passage.
    max_step : int
        Most reference frames per performance frame outside the jump (tempo ratio up to ``max_step``).
    max_cells : int
        A passage whose window has more (reference x performance) frames keeps DTW's path: the dynamic
        programming holds about 14 bytes per cell (the default: a repeat of about 30 s, a skip of minutes).

    Returns
    -------
    path : np.ndarray [shape=(2, L')]
        Strictly monotonic: no path points inside a skip or a repeat.
    """
    from synctoolbox.dtw.utils import compute_cost_matrices_between_anchors, make_path_strictly_monotonic
    from synctoolbox.feature.utils import normalize_feature

    (chroma_1, onset_1), (chroma_2, onset_2) = features_1, features_2
    chroma_1, chroma_2 = (normalize_feature(c, 2, 0.001) for c in (chroma_1, chroma_2))
    for passage in found:
        (start_s, end_s), (perf_start, perf_end) = passage["reference_s"], passage["performance_s"]
        back = passage["kind"] == "repeat"
        # a repeat's first playing can begin up to its length in performance time before the stall
        margin = margin_s + (perf_end - perf_start if back else 0.0)
        a = int(np.searchsorted(path[0], max(0, int((start_s - margin) * FEATURE_RATE))))
        b = min(int(np.searchsorted(path[0], int((end_s + margin) * FEATURE_RATE))), path.shape[1] - 1)
        (n0, m0), (n1, m1) = path[:, a], path[:, b]
        if n1 - n0 < 3 or m1 - m0 < 3 or (n1 - n0 + 1) * (m1 - m0 + 1) > max_cells:
            continue
        # the cost MrMsDTW's finest level uses: chroma and DLNCO, half and half
        cost = compute_cost_matrices_between_anchors(chroma_1, chroma_2, np.array([[n0, n1], [m0, m1]]),
                                                     onset_1, onset_2)[0]
        rows = np.maximum.accumulate(_one_jump_path(cost, back, max_step))
        local = np.stack([rows + n0, np.arange(cost.shape[1]) + m0])
        path = np.concatenate([path[:, :a], local, path[:, b + 1:]], axis=1)
    return make_path_strictly_monotonic(path).astype(int)


def _one_jump_path(cost: np.ndarray, back: bool = False, max_step: int = 2, penalty: float = 0.1) -> np.ndarray:
    """Reference frame (row of ``cost``) of each performance frame (column) from the first row to the last:
    steps of 0 to ``max_step`` rows and at most one jump, forward by more than ``max_step`` or, with
    ``back``, backward; 0, ``max_step`` and the jump cost ``penalty`` times the mean cost. See
    :func:`realign_jumps`."""
    n, m = cost.shape
    rho = penalty * float(cost.mean())
    step_cost = [rho if s in (0, max_step) else 0.0 for s in range(max_step + 1)]
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
                cand[s:] = prev[: n - s] + step_cost[s]
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
    jumped = after[-1] < before[-1]
    ref = np.zeros(m, np.int64)
    r = n - 1
    for j in range(m - 1, 0, -1):
        ref[j] = r
        if jumped and step_after[j, r] == -1:
            r, jumped = int(jump_from[j, r]), False
        else:
            r -= int((step_after if jumped else step_before)[j, r])
    ref[0] = r
    return ref


def _shift_pitches(bands: np.ndarray, chroma_shift: int) -> np.ndarray:
    """``(88, frames)`` pitch bands moved as :func:`chroma_shift`'s rotation moves chroma, by the nearest
    transposition (shift 11: one semitone down, 2: two up); what leaves the piano's range is dropped."""
    semitones = (chroma_shift + 6) % 12 - 6
    out = np.zeros_like(bands)
    if semitones >= 0:
        out[semitones:] = bands[: len(bands) - semitones]
    else:
        out[:semitones] = bands[-semitones:]
    return out


def map_times(time_map: np.ndarray, reference_times) -> np.ndarray:
    """Performance times of reference instants (linear between anchors)."""
    return np.interp(reference_times, time_map[:, 0], time_map[:, 1])
