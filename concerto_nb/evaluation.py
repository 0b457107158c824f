"""Stage 6 - measuring every stage against ground truth.

- :func:`sdr`: signal-to-distortion ratio of a separated stem,
  :math:`10\\log_{10} \\|s\\|^2 / \\|s - \\hat s\\|^2` (plain SDR, no allowed distortion filter).
- :func:`si_sdr`: scale-invariant SDR (Le Roux et al. 2019): the estimate may differ by a gain.
- :func:`bss_eval`: BSSEval v4 (museval, as in SiSEC 2018): SDR, SIR (bleed of the other
  source) and SAR (artifacts), each the median over 1 s frames; BSSEval allows a short
  distortion filter on the reference, so its SDR is higher than the plain one.
  (fast_bss_eval 0.1.4 fails under numpy 2.4; museval needs ``ffmpeg`` on the PATH to import.)
- :func:`oracle_irm`: the ideal ratio mask, the upper bound for any mask-based separator (also
  at the resolution of mel bands).
- :func:`mask_errors`: for a mask on the mixture STFT, the exact split of the error into
  *bleed* (the other source let through) and *distortion* (the target's own part removed
  or smeared), since :math:`M \\odot (P + O) = M \\odot P + M \\odot O`.
- :func:`onset_lags`: how far one signal's onsets lag behind another's (e.g. a warped
  orchestra against the ideal one), from cross-correlated onset-strength envelopes.
- :func:`alignment_errors`: absolute error of an estimated time map at known events
  (piano onsets), the measure used in the synctoolbox papers.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sdr", "si_sdr", "bss_eval", "oracle_irm", "mask_errors", "onset_lags", "onset_correlation",
           "alignment_errors", "alignment_summary"]


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB (higher is better).

    Notebook: ``07_dataset_and_evaluation``.
    """
    reference = np.asarray(reference, dtype=np.float64).ravel()
    estimate = np.asarray(estimate, dtype=np.float64).ravel()
    n = min(len(reference), len(estimate))
    reference, estimate = reference[:n], estimate[:n]
    num = np.sum(reference**2)
    den = np.sum((reference - estimate) ** 2)
    return float(10 * np.log10((num + 1e-12) / (den + 1e-12)))


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB: SDR after the best gain on the reference.

    Notebook: ``07_dataset_and_evaluation``.
    """
    reference = np.asarray(reference, dtype=np.float64).ravel()
    estimate = np.asarray(estimate, dtype=np.float64).ravel()
    n = min(len(reference), len(estimate))
    reference, estimate = reference[:n], estimate[:n]
    target = reference * np.dot(estimate, reference) / (np.dot(reference, reference) + 1e-12)
    return float(10 * np.log10((np.sum(target**2) + 1e-12) / (np.sum((estimate - target) ** 2) + 1e-12)))


def bss_eval(references, estimates, sr: int, window_s: float = 1.0) -> dict:
    """BSSEval v4 metrics (museval): the median over ``window_s`` frames of SDR, SIR, SAR per source.

    Notebook: ``07_dataset_and_evaluation``.

    Parameters
    ----------
    references, estimates
        Sequences of the true and estimated sources, each ``(n,)`` mono or
        ``(channels, n)``, in the same order (e.g. ``[piano, orchestra]``).
    sr
        Sample rate.
    window_s
        Frame length (1 s, as in SiSEC 2018); frames where a reference is silent are
        left out of its median.

    Returns
    -------
    dict
        ``sdr``, ``sir``, ``sar``, each a list with one value (dB) per source.
    """
    import shutil

    if shutil.which("ffmpeg") is None:
        raise RuntimeError("BSSEval (museval) needs ffmpeg on the PATH: apt install ffmpeg")
    import museval

    def stack(signals):
        signals = [np.atleast_2d(np.asarray(x, dtype=np.float64)) for x in signals]
        n = min(x.shape[-1] for x in signals)
        return np.stack([x[:, :n].T for x in signals])  # (sources, samples, channels)

    refs, ests = stack(references), stack(estimates)
    n = min(refs.shape[1], ests.shape[1])
    win = int(window_s * sr)
    sdr_, _, sir_, sar_ = museval.evaluate(refs[:, :n], ests[:, :n], win=win, hop=win)
    med = lambda v: [float(np.nanmedian(row)) for row in v]  # noqa: E731
    return {"sdr": med(sdr_), "sir": med(sir_), "sar": med(sar_)}


def oracle_irm(piano: np.ndarray, orchestra: np.ndarray, n_fft: int = 2048, hop: int = 512, n_bands: int | None = None,
               sr: int = 22050):
    """Separate ``piano + orchestra`` with the ideal ratio mask ``|P|^2 / (|P|^2 + |O|^2)`` and mixture phase.

    Notebook: ``07_dataset_and_evaluation``.

    The stems are ``(n,)`` or ``(channels, n)``; each channel gets its own mask.
    ``n_bands``: the ideal ratio of the energies in that many mel bands (those of
    :class:`concerto_nb.model.MaskNet`), spread back over each band's bins: the best mask that
    varies only from band to band. If it comes close to the full-resolution one, a network's gap
    to the oracle is not for want of frequency resolution. ``sr``, the stems' sample rate, places
    the bands (it matters only with ``n_bands``); above 11.025 kHz there are none, and the mask
    leaves those bins to the orchestra, as the network does.

    Examples
    --------
    >>> piano_est, orchestra_est = oracle_irm(piano, orchestra, n_bands=128)  # doctest: +SKIP
    """
    import librosa

    P = librosa.stft(piano, n_fft=n_fft, hop_length=hop)
    O = librosa.stft(orchestra, n_fft=n_fft, hop_length=hop)
    p2, o2 = np.abs(P) ** 2, np.abs(O) ** 2
    if n_bands is None:
        mask = p2 / np.maximum(p2 + o2, 1e-12)
    else:
        from .model import band_basis

        mel = band_basis(n_bands, n_fft, sr)
        band_p, band_o = np.einsum("bk,...kt->...bt", mel, p2), np.einsum("bk,...kt->...bt", mel, o2)
        spread = mel / np.maximum(mel.sum(axis=0, keepdims=True), 1e-9)
        mask = np.einsum("bk,...bt->...kt", spread, band_p / np.maximum(band_p + band_o, 1e-12))
    X = P + O
    n = piano.shape[-1]
    return (librosa.istft(mask * X, hop_length=hop, n_fft=n_fft, length=n),
            librosa.istft((1 - mask) * X, hop_length=hop, n_fft=n_fft, length=n))


def mask_errors(mask: np.ndarray, target: np.ndarray, other: np.ndarray, n_fft: int = 2048, hop: int = 512) -> dict:
    """SDR of a masked estimate, with its error split into bleed and distortion.

    Notebook: ``07_dataset_and_evaluation``.

    Parameters
    ----------
    mask
        Mask for ``target`` on the mixture STFT ``(1 + n_fft // 2, frames)``.
    target, other
        The true stems; the mixture is their sum.
    n_fft, hop
        STFT of the mask.

    Returns
    -------
    dict
        ``sdr`` (target vs estimate), ``sir`` (target vs bleed :math:`M \\odot O`: how much
        of the other source gets through) and ``sar`` (target vs distortion
        :math:`M \\odot T - T`: how much of the target is lost or smeared), all in dB.
        ``sdr`` is at most ``min(sir, sar)`` plus 3 dB.
    """
    import librosa

    n = len(target)
    T = librosa.stft(np.asarray(target, dtype=np.float32), n_fft=n_fft, hop_length=hop)
    O = librosa.stft(np.asarray(other, dtype=np.float32), n_fft=n_fft, hop_length=hop)
    kept = librosa.istft(mask * T, hop_length=hop, n_fft=n_fft, length=n)
    bleed = librosa.istft(mask * O, hop_length=hop, n_fft=n_fft, length=n)
    energy = np.sum(np.asarray(target, dtype=np.float64) ** 2) + 1e-12

    def ratio(err):
        return float(10 * np.log10(energy / (np.sum(np.asarray(err, dtype=np.float64) ** 2) + 1e-12)))

    return {"sdr": sdr(target, kept + bleed), "sir": ratio(bleed), "sar": ratio(kept - target)}


def _onset_envelopes(reference, estimate, sr, hop):
    """librosa's onset-strength envelopes of the two signals, cut to the same length."""
    import librosa

    ea, eb = (librosa.onset.onset_strength(y=np.asarray(s, dtype=np.float32), sr=sr, hop_length=hop)
              for s in (reference, estimate))
    n = min(len(ea), len(eb))
    return ea[:n], eb[:n]


def _lagged_correlation(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Lags ``-max_lag..max_lag`` (frames; positive: ``y`` late) and the cross-correlation of the two
    mean-removed envelopes (same length) at each."""
    w = len(x)
    k = min(max_lag, w - 1)
    x, y = x - x.mean(), y - y.mean()
    return np.arange(-k, k + 1), np.correlate(y, x, "full")[w - 1 - k: w + k]  # index w - 1 is lag 0


def onset_lags(reference: np.ndarray, estimate: np.ndarray, sr: int, window_s: float | None = 10.0,
               max_lag_s: float = 0.25, hop: int = 256) -> np.ndarray:
    """Lag (s) of ``estimate``'s onsets behind ``reference``'s, one value per window.

    Notebook: ``07_dataset_and_evaluation``.

    Parameters
    ----------
    reference, estimate
        Mono signals on the same time axis.
    sr
        Their sample rate.
    window_s
        Window length (``None``: the whole signal is one window).
    max_lag_s
        Largest lag looked for, either way.
    hop
        Hop of the onset-strength envelopes (resolution ``hop / sr``).

    Returns
    -------
    np.ndarray
        The lag maximising the cross-correlation of the two (mean-removed) onset-strength
        envelopes in each window (positive: ``estimate`` is late); windows without onsets are skipped.

    See Also
    --------
    onset_correlation : one lag for the whole signal, with how clearly it stands out.
    """
    ea, eb = _onset_envelopes(reference, estimate, sr, hop)
    n = len(ea)
    w = n if window_s is None else min(n, int(window_s * sr / hop))
    lags = []
    for a in range(0, n - w, w) or [0]:
        frames, xc = _lagged_correlation(ea[a: a + w], eb[a: a + w], int(max_lag_s * sr / hop))
        if xc.max() > 0:
            lags.append(frames[np.argmax(xc)])
    return np.array(lags) * hop / sr


def onset_correlation(reference: np.ndarray, estimate: np.ndarray, sr: int, *, max_lag_s: float = 0.5,
                      hop: int = 256) -> tuple[float, float, float]:
    """How well ``estimate``'s onsets line up with ``reference``'s over the whole signal.

    Notebook: ``07_dataset_and_evaluation``.

    Parameters
    ----------
    reference, estimate
        Mono signals on the same time axis.
    sr
        Their sample rate.
    max_lag_s
        Largest lag looked for, either way.
    hop
        Hop of the onset-strength envelopes (resolution ``hop / sr``).

    Returns
    -------
    lag_s : float
        The lag maximising the normalised cross-correlation of the onset-strength envelopes (positive:
        ``estimate`` is late).
    correlation : float
        That maximum, in [-1, 1].
    peak_ratio : float
        The maximum over the median absolute correlation of all lags: how clearly one lag stands out (beats
        that repeat make neighbouring lags correlate too).

    See Also
    --------
    onset_lags : one lag per window.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 22050
    >>> clicks = np.zeros(4 * sr); clicks[np.arange(7, 80, 13) * 1000] = 1.0
    >>> lag, correlation, _ = onset_correlation(clicks, np.roll(clicks, int(0.1 * sr)), sr)
    >>> round(lag, 2), correlation > 0.8
    (0.1, True)
    """
    ea, eb = _onset_envelopes(reference, estimate, sr, hop)
    frames, xc = _lagged_correlation(ea, eb, int(max_lag_s * sr / hop))
    xc = xc / (np.linalg.norm(ea - ea.mean()) * np.linalg.norm(eb - eb.mean()) + 1e-12)
    peak = int(np.argmax(xc))
    return float(frames[peak] * hop / sr), float(xc[peak]), float(xc[peak] / (np.median(np.abs(xc)) + 1e-12))


def alignment_errors(time_map: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Absolute errors (s) of ``time_map`` at ground-truth event pairs.

    Notebook: ``07_dataset_and_evaluation``.

    Parameters
    ----------
    time_map : np.ndarray [shape=(K, 2) or (K, 3)]
        Estimated ``[reference_s, performance_s]``; a map that jumps (a ``segment`` column,
        :func:`concerto_nb.sync.time_map_with_jumps`) is read in the segment that plays at each event's
        performance time, so a passage played twice is judged on each take.
    events : np.ndarray [shape=(E, 2)]
        True ``[reference_s, performance_s]`` of events (e.g. piano onsets); a reference time may come
        twice (a restart).

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import evaluation
    >>> restart = np.array([[0.0, 0.0, 0], [10.0, 10.0, 0], [5.0, 10.0, 1], [20.0, 25.0, 1]])
    >>> evaluation.alignment_errors(restart, np.array([[6.0, 6.0], [6.0, 11.0], [15.0, 20.0]])).tolist()
    [0.0, 0.0, 0.0]
    """
    from .io import check_time_map, time_map_segments
    from .sync import map_times

    events = np.asarray(events, dtype=float)
    pieces = time_map_segments(check_time_map(time_map))
    # the piece that plays at each event's performance time (the later one at a cut)
    starts = np.array([piece[0, 1] for piece in pieces])
    which = np.clip(np.searchsorted(starts, events[:, 1], side="right") - 1, 0, len(pieces) - 1)
    estimated = np.empty(len(events))
    for k, piece in enumerate(pieces):
        here = which == k
        estimated[here] = map_times(piece, events[here, 0])
    return np.abs(estimated - events[:, 1])


def alignment_summary(errors: np.ndarray) -> dict:
    """Median, share within 50/100 ms and maximum of alignment errors, in ms and %.

    Notebook: ``07_dataset_and_evaluation``.
    """
    errors = np.asarray(errors)
    return {
        "median_ms": float(np.median(errors) * 1000),
        "within_50ms_pct": float(np.mean(errors <= 0.05) * 100),
        "within_100ms_pct": float(np.mean(errors <= 0.1) * 100),
        "max_ms": float(np.max(errors) * 1000),
        "events": int(len(errors)),
    }
