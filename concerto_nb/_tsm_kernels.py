"""Compiled loops of :mod:`concerto_nb.tsm`'s HPS-TSM (numba: compiled on first use, cached on disk; they
release the GIL so that chunks can be warped in threads)."""
import numba
import numpy as np


def median_filter(x: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Median of ``length`` neighbours along ``axis`` of a 2-D array, zero-padded (``length // 2`` before the
    centre, the rest after, as libtsm's ``median_filter``); the two middle values averaged for even lengths."""
    y = _median_rows(np.ascontiguousarray(x if axis == 0 else x.T, dtype=np.float64), length)
    return y if axis == 0 else y.T


@numba.njit(cache=True, nogil=True)
def _median_rows(x, length):
    rows, cols = x.shape
    out = np.empty((rows, cols))
    for i in range(rows):
        buf = np.empty(length)
        for k in range(cols):
            for m in range(length):
                j = i - length // 2 + m
                v = x[j, k] if 0 <= j < rows else 0.0
                p = m
                while p > 0 and buf[p - 1] > v:  # insertion sort: the window is short
                    buf[p] = buf[p - 1]
                    p -= 1
                buf[p] = v
            out[i, k] = 0.5 * (buf[(length - 1) // 2] + buf[length // 2])
    return out


@numba.njit(cache=True, nogil=True)
def locked_phase_shifts(mag, phase, ana_hop, n_fft, syn_hop):
    """Phase vocoder with identity phase locking (libtsm ``pv_tsm(..., phase_locking=True)``).

    Parameters
    ----------
    mag, phase
        (frames, bins) magnitude and phase of the STFT at the analysis positions
    ana_hop
        (frames - 1,) samples between consecutive analysis frames
    n_fft, syn_hop
        Frame length; samples between synthesis frames.

    Returns
    -------
    theta
        (frames, bins) rotation of each bin: every spectral peak's phase advances at its
        instantaneous frequency over ``syn_hop``; the bins around a peak turn with it.
    """
    frames, bins = mag.shape
    theta = np.zeros((frames, bins))
    omega = 2 * np.pi * np.arange(bins) / n_fft
    last = phase[0].copy()  # phases of the last synthesised frame
    peaks = np.empty(bins, dtype=np.int64)
    for i in range(1, frames):
        n_peaks = 0
        for k in range(bins):
            c = mag[i, k]
            if ((mag[i, k - 2] if k >= 2 else 0.0) < c and (mag[i, k - 1] if k >= 1 else 0.0) < c
                    and (mag[i, k + 1] if k + 1 < bins else 0.0) < c and (mag[i, k + 2] if k + 2 < bins else 0.0) < c):
                peaks[n_peaks] = k
                n_peaks += 1
        for n in range(n_peaks):
            p = peaks[n]
            dev = phase[i, p] - phase[i - 1, p] - omega[p] * ana_hop[i - 1]
            dev -= 2 * np.pi * np.round(dev / (2 * np.pi))
            # instantaneous frequency; where a stretch beyond syn_hop reads one position twice, the bin's own
            inst = omega[p] + dev / ana_hop[i - 1] if ana_hop[i - 1] > 0 else omega[p]
            shift = last[p] + inst * syn_hop - phase[i, p]
            start = 0 if n == 0 else (peaks[n - 1] + p + 1) // 2
            # libtsm ends the last peak's region at the number of peaks, not at the top bin: kept
            end = n_peaks if n == n_peaks - 1 else (p + peaks[n + 1] + 1) // 2
            for k in range(start, end):
                theta[i, k] = shift
        for k in range(bins):
            last[k] = (theta[i, k] + phase[i, k] + np.pi) % (2 * np.pi) - np.pi if mag[i, k] > 0 else 0.0
    return theta
