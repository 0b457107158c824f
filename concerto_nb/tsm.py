"""Stage 4 - time-scale modification: play the orchestra at the pianist's tempo, pitch untouched.

A time map :math:`\\tau` (reference seconds -> performance seconds) becomes libtsm
anchor points in samples. HPS-TSM (Driedger et al. 2014) splits the signal into
harmonic and percussive parts, stretches the harmonic part with a phase vocoder
(which keeps tones clean) and the percussive part with OLA on short windows
(which keeps attacks sharp), and adds them. WSOLA and the plain phase vocoder
are there for comparison.

The output is exactly as long as the performance: sample :math:`\\tau(t)\\,f_s` of
the output plays what sample :math:`t\\,f_s` of the input played.
"""
from __future__ import annotations

import numpy as np

__all__ = ["METHODS", "anchors_from_time_map", "warp"]

METHODS = ("hps", "wsola", "pv")


def anchors_from_time_map(time_map: np.ndarray, sr: int, n_in: int, n_out: int) -> np.ndarray:
    """libtsm anchor points ``(S, 2)`` in samples: strictly increasing, from (0, 0) to the last samples."""
    a = np.round(np.asarray(time_map, dtype=float) * sr).astype(int)
    a[0] = 0, 0
    a[-1] = n_in - 1, n_out - 1
    keep = np.concatenate([[True], (np.diff(a[:, 0]) > 0) & (np.diff(a[:, 1]) > 0)])
    a = a[keep]
    if a[-1, 0] != n_in - 1:  # the end was dropped as a repeat: put it back
        a[-1] = n_in - 1, n_out - 1
    return a


def warp(y: np.ndarray, sr: int, time_map: np.ndarray, method: str = "hps") -> np.ndarray:
    """Time-scale ``y`` along ``time_map`` (reference time -> performance time).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio on the reference time axis.
    sr : int
    time_map : np.ndarray [shape=(K, 2)]
        ``[reference_s, performance_s]``, strictly increasing, starting at (0, 0); the
        last row gives the output duration.
    method : {"hps", "wsola", "pv"}

    Returns
    -------
    np.ndarray, shape ``(round(time_map[-1, 1] * sr),)`` or ``(channels, ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import tsm
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    >>> tsm.warp(y, sr, np.array([[0.0, 0.0], [1.0, 1.5]])).shape
    (33075,)
    """
    import libtsm

    if method not in METHODS:
        raise ValueError(f"unknown TSM method {method!r}; choose from {METHODS}")
    y = np.asarray(y, dtype=np.float64)
    time_map = np.asarray(time_map, dtype=float)
    if time_map.ndim != 2 or time_map.shape[1] != 2 or np.any(np.diff(time_map, axis=0) <= 0):
        raise ValueError("time_map must be (K, 2), strictly increasing in both columns")
    n_in = y.shape[-1]
    n_out = int(round(time_map[-1, 1] * sr))
    anchors = anchors_from_time_map(time_map, sr, n_in, n_out)
    x = y.T if y.ndim == 2 else y  # libtsm wants (samples, channels)
    if method == "hps":
        out = libtsm.hps_tsm(x, anchors, Fs=sr)
    elif method == "wsola":
        out = libtsm.wsola_tsm(x, anchors)
    else:
        out = libtsm.pv_tsm(x, anchors, Fs=sr)
    out = np.asarray(out)
    out = out[:n_out] if len(out) >= n_out else np.pad(out, [(0, n_out - len(out))] + [(0, 0)] * (out.ndim - 1))
    out = out.T if y.ndim == 2 else out.reshape(-1)
    return out.astype(np.float32)
