"""Small array helpers shared by several stages, and the checks every public function applies to its audio."""
from __future__ import annotations

import math
import warnings

import numpy as np

#: Lowest sample rate accepted (Hz): below it the piano's upper half is gone, and such a rate is far more often a
#: damaged header than a recording; resampling a 5 Hz "recording" to 22 kHz would also need 4000x its memory.
MIN_SAMPLE_RATE = 4000
#: Highest sample rate accepted (Hz): above any recording format in use.
MAX_SAMPLE_RATE = 768000
#: A 2-D array with at most this many columns and more rows is read as ``(samples, channels)``.
MAX_CHANNELS = 64


def runs(flags: np.ndarray, min_len: int = 1):
    """(start, end) index pairs of the runs of True in ``flags`` at least ``min_len`` long (end exclusive)."""
    edges = np.diff(np.concatenate([[0], np.asarray(flags).astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends) if b - a >= min_len]


def check_sample_rate(sr, *, name: str = "sr") -> int:
    """``sr`` as an int, or a ``ValueError`` if it is not a whole number of Hz in the accepted range."""
    try:
        value = float(sr)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of Hz, got {sr!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{name} must be a whole number of Hz, got {sr!r}")
    if not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise ValueError(f"{name}={int(value)} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    return int(value)


def check_audio(y, *, name: str = "y", mono: bool = False) -> np.ndarray:
    """Audio as float32 ``(n,)`` or ``(channels, n)``, checked, or one ``ValueError`` that says what is wrong.

    Integer samples are scaled to [-1, 1] (int16 by 2**15, uint8 around 128, ...); a ``(samples, channels)``
    array, as ``soundfile.read`` returns it, is transposed with a warning; ``mono=True`` averages the channels.

    Examples
    --------
    >>> import numpy as np
    >>> check_audio(np.array([0, 16384, -32768], dtype=np.int16)).tolist()
    [0.0, 0.5, -1.0]
    """
    a = np.asarray(y)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{name}: audio must be an array of numbers, got dtype {a.dtype}")
    if a.dtype.kind == "u":
        half = 2.0 ** (8 * a.dtype.itemsize - 1)
        a = (a.astype(np.float64) - half) / half
    elif a.dtype.kind == "i":
        a = a / 2.0 ** (8 * a.dtype.itemsize - 1)
    if a.ndim == 2 and a.shape[0] > a.shape[1] and a.shape[1] <= MAX_CHANNELS:
        warnings.warn(f"{name}: read the {a.shape} array as (samples, channels) and transposed it to "
                      f"{a.shape[::-1]} (concerto_nb wants channels first)", stacklevel=3)
        a = a.T
    if a.ndim not in (1, 2):
        raise ValueError(f"{name}: audio must be (samples,) or (channels, samples), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name}: audio holds no samples")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: audio holds NaN or infinite samples")
    a = np.asarray(a, dtype=np.float32)
    if mono and a.ndim == 2:
        a = a.mean(axis=0)
    return a
