"""Features for synchronization: chroma and DLNCO (synctoolbox), semitone flux, levels, and what a recording's
pitch content says (variety, profile, transposition). Notebook: ``04_music_synchronization``.
"""
from __future__ import annotations

import contextlib
import io as _io

import numpy as np

from .._arrays import runs

__all__ = ["FEATURE_RATE", "SYNC_SR", "chroma_variety", "pitch_profile", "pitch_offset", "pitch_difference_cents",
           "tuning_cents", "features", "semitone_flux",
           "chroma_shift", "chroma"]

FEATURE_RATE = 50  # Hz, synctoolbox's default
SYNC_SR = 22050  # synctoolbox's filterbanks are designed for this rate


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

    Notebook: ``04_music_synchronization``.

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


def features(y: np.ndarray, sr: int = SYNC_SR, tuning: float | None = None):
    """Quantised chroma and DLNCO features at :data:`FEATURE_RATE` (synctoolbox).

    Notebook: ``04_music_synchronization``.

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

    Notebook: ``04_music_synchronization``.

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


def tuning_cents(y: np.ndarray, sr: int = SYNC_SR) -> float:
    """A recording's deviation from A = 440 Hz in cents, -50 to 50, to the cent.

    Notebook: ``04_music_synchronization``.

    synctoolbox's ``estimate_tuning`` (libfmp's frequency distribution folded onto one semitone), its window
    kept at 0.37 s whatever the rate: its default of 16384 samples is meant for 44.1 kHz, and at 22.05 kHz it
    reads a recording moved by a known number of cents up to 3 cents wrong (to the cent with this window; the
    check is in tests/test_tuning.py).

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import sync
    >>> t = np.arange(5 * sync.SYNC_SR) / sync.SYNC_SR
    >>> sync.tuning_cents(np.sin(2 * np.pi * 440 * 2 ** (-20 / 1200) * t))  # an A 20 cents flat
    -20.0
    """
    from synctoolbox.feature.utils import estimate_tuning

    window = int(2 ** round(np.log2(16384 * sr / 44100)))  # 0.37 s, a power of two
    return float(estimate_tuning(np.asarray(y, dtype=np.float64), sr, N=window))


def _alignment_features(y: np.ndarray, sr: int):
    """:func:`features` and :func:`semitone_flux` of one recording; the tuning their filterbanks used
    (synctoolbox's estimate, as its own pipeline makes it: the alignment was tuned with it), and
    :func:`tuning_cents`."""
    from synctoolbox.feature.utils import estimate_tuning

    y = np.asarray(y, dtype=np.float64)  # once: features would copy a float32 recording again
    feature_tuning = estimate_tuning(y, sr)
    chroma_q, dlnco = features(y, sr, feature_tuning)
    flux = semitone_flux(y, sr, feature_tuning, frames=chroma_q.shape[1])
    return chroma_q, dlnco, flux, float(feature_tuning), tuning_cents(y, sr)


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


def chroma_shift(cens_reference: np.ndarray, cens_performance: np.ndarray, margin: float = 0.4) -> int:
    """Transposition (in semitones, for ``np.roll`` of the performance chroma) that best matches.

    Notebook: ``04_music_synchronization``.

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


def pitch_difference_cents(chroma_shift: int, reference_tuning: float, performance_tuning: float) -> float:
    """How many cents the performance sounds above the reference: a transposition plus a tuning difference.

    Notebook: ``04_music_synchronization``.

    Each recording's chroma is computed on its own tuning, so :func:`chroma_shift` counts whole semitones between
    the two tuned scales; the difference of the tunings adds the rest:

    .. math:: c = 100\\,s + t_{perf} - t_{ref}, \\quad s \\in \\{-6, \\dots, 5\\}

    with :math:`s` the nearest transposition that rolls the performance's chroma by ``chroma_shift`` onto the
    reference's. Octaves are invisible to chroma (:func:`pitch_offset` sees them).

    Parameters
    ----------
    chroma_shift : int
        0-11, as :func:`chroma_shift` returns it (``np.roll`` of the performance's chroma).
    reference_tuning, performance_tuning : float
        The tunings, in cents, that the two chroma sequences were computed with.

    Returns
    -------
    cents : float

    Examples
    --------
    >>> from concerto_nb import sync
    >>> sync.pitch_difference_cents(10, 5.0, 4.0)  # two semitones up, one cent lower tuned
    199.0
    >>> sync.pitch_difference_cents(0, 5.0, -25.0)  # a home piano 30 cents flat
    -30.0
    """
    semitones = -((int(chroma_shift) + 6) % 12 - 6)
    return float(100.0 * semitones + performance_tuning - reference_tuning)


def chroma(y: np.ndarray, sr: int = SYNC_SR, tuning: float = 0.0) -> np.ndarray:
    """Quantised chroma at :data:`FEATURE_RATE` (the harmony half of :func:`features`); ``tuning`` in cents.

    Notebook: ``04_music_synchronization``.
    """
    from synctoolbox.feature.chroma import pitch_to_chroma, quantize_chroma
    from synctoolbox.feature.pitch import audio_to_pitch_features

    with contextlib.redirect_stdout(_io.StringIO()):  # synctoolbox prints progress dots
        f_pitch = audio_to_pitch_features(f_audio=np.asarray(y, dtype=np.float64), Fs=sr, tuning_offset=tuning,
                                          feature_rate=FEATURE_RATE)
    return quantize_chroma(f_chroma=pitch_to_chroma(f_pitch=f_pitch))


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


def _silences(level_db: np.ndarray, min_s: float = 0.4, max_s: float = 5.0, floor_db: float = -40.0) -> list:
    """``(first, last + 1)`` frames of the interior silences of ``min_s`` to ``max_s``: frames below the noise
    floor (``floor_db`` under the loud parts, or 10 dB above the quietest frames where a noisy home recording
    never gets that low, up to -30 dB). A longer silence is a pianist counting through a tutti; silence at either
    end is the time map's ends' business."""
    floor = min(max(floor_db, np.percentile(level_db, 3) + 10.0), -30.0)
    return [(a, b) for a, b in runs(level_db < floor, int(round(min_s * FEATURE_RATE)))
            if a > 0 and b < len(level_db) and b - a <= max_s * FEATURE_RATE]


def _frames_between_pauses(silences: list, n_frames: int, kept_s: float = 0.1) -> np.ndarray:
    """Indices of the performance frames DTW sees: all but the inside of each pause in ``silences``.

    A pause (a breath, a fermata's silence, a stop to think) is silence the reference does not have: DTW has to
    spread it over the music around it, and put the notes after a 3 s breath seconds off. Each pause keeps
    ``kept_s`` at each side and loses its inside; the path steps over it, and the map holds the reference still.
    """
    keep = np.ones(n_frames, dtype=bool)
    edge = int(round(kept_s * FEATURE_RATE))
    for start, stop in silences:
        keep[start + edge: stop - edge] = False
    return np.flatnonzero(keep)
