"""Stage 1 - splitting a concerto recording into piano and orchestra.

Baseline (this module, until the trained mask network of the "separation" issue
lands): **median-filtering harmonic/percussive separation** (Fitzgerald 2010) with a
long time kernel. A piano note is a sharp onset followed by a decay of well under a
second; the orchestra's strings and winds hold tones. Median filtering the magnitude
spectrogram :math:`|X|` along time with a kernel of about ``time_kernel_s`` seconds
keeps what is sustained (:math:`H`); along frequency it keeps what is broadband and
short (:math:`P`). Soft masks

.. math:: M_{piano} = \\frac{P^p}{H^p + P^p}, \\qquad M_{orch} = 1 - M_{piano}

applied to the complex mixture STFT (mixture phase) give the two estimates, which
sum back to the mixture exactly. It is an honest, unsupervised baseline: it puts
piano sustain into the orchestra and orchestral attacks into the piano.
"""
from __future__ import annotations

import numpy as np

__all__ = ["separate", "hpss_masks"]


def _stft_params(sr: int):
    n_fft = int(2 ** np.round(np.log2(0.093 * sr)))  # ~93 ms window at any sample rate
    return n_fft, n_fft // 4


def hpss_masks(S_mag: np.ndarray, sr: int, hop: int, time_kernel_s: float = 1.0, freq_kernel_hz: float = 250.0,
               power: float = 1.0):
    """Soft piano/orchestra masks from a magnitude spectrogram.

    Parameters
    ----------
    S_mag : np.ndarray [shape=(..., freq, frames)]
    sr, hop : int
        To turn the kernel sizes from seconds/Hz into bins.
    time_kernel_s : float
        Tones held longer than about this count as orchestra.
    freq_kernel_hz : float
        Width of the frequency median filter (percussive smoothing).
    power : float
        Mask exponent ``p``; larger = harder masks. The defaults gave the best alignment of
        the separated piano on the demo (``benchmarks/`` and the tests measure it).

    Returns
    -------
    piano_mask, orchestra_mask : np.ndarray, same shape as ``S_mag``, summing to 1.
    """
    import librosa

    n_fft = 2 * (S_mag.shape[-2] - 1)
    k_time = max(3, int(round(time_kernel_s * sr / hop)) | 1)
    k_freq = max(3, int(round(freq_kernel_hz * n_fft / sr)) | 1)
    H, P = librosa.decompose.hpss(S_mag, kernel_size=(k_time, k_freq), mask=False)
    Hp, Pp = H**power, P**power
    piano = Pp / np.maximum(Hp + Pp, 1e-12)
    return piano, 1.0 - piano


def separate(y: np.ndarray, sr: int, method: str = "hpss", chunk_s: float = 30.0, progress: bool = False, **kwargs):
    """Split a concerto recording into piano and orchestra.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        The mixture; channels are processed one by one.
    sr : int
    method : {"hpss"}
        The separator (the trained network joins this list with the "separation" issue).
    chunk_s : float
        Blocks of this many seconds, each with 2 s of context on both sides (the masks
        look at most 0.5 s away), so memory stays bounded on long recordings.
    progress : bool
        Show a progress bar over the blocks.
    **kwargs
        Passed to :func:`hpss_masks`.

    Returns
    -------
    piano, orchestra : np.ndarray, same shape as ``y``; ``piano + orchestra == y`` up to rounding.

    Examples
    --------
    >>> from concerto_nb import data, io, separation
    >>> y, sr = io.load_audio(data.demo_path("concerto"), sr=22050)
    >>> piano, orchestra = separation.separate(y, sr)
    >>> piano.shape == y.shape
    True
    """
    from tqdm.auto import tqdm

    if method != "hpss":
        raise ValueError(f"unknown separation method {method!r}; available: 'hpss'")
    y = np.asarray(y, dtype=np.float32)
    # blocks and margins on the STFT hop grid give the same frames, so the same masks, as one piece
    hop = _stft_params(sr)[1]
    n, margin = y.shape[-1], hop * int(2.0 * sr / hop)
    block = n if not np.isfinite(chunk_s) else hop * max(1, int(chunk_s * sr / hop))
    piano = np.empty_like(y)
    orchestra = np.empty_like(y)
    starts = range(0, n, block)
    for a in tqdm(starts, desc="separate", unit="block", disable=not progress, leave=False):
        b = min(n, a + block)
        lo, hi = max(0, a - margin), min(n, b + margin)
        p, o = _separate_block(y[..., lo:hi], sr, **kwargs)
        piano[..., a:b] = p[..., a - lo: b - lo]
        orchestra[..., a:b] = o[..., a - lo: b - lo]
    return piano, orchestra


def _separate_block(y: np.ndarray, sr: int, **kwargs):
    import librosa

    n_fft, hop = _stft_params(sr)
    X = librosa.stft(y, n_fft=n_fft, hop_length=hop)
    piano_mask, orch_mask = hpss_masks(np.abs(X), sr, hop, **kwargs)
    length = y.shape[-1]
    piano = librosa.istft(piano_mask * X, hop_length=hop, n_fft=n_fft, length=length)
    orchestra = librosa.istft(orch_mask * X, hop_length=hop, n_fft=n_fft, length=length)
    return piano.astype(np.float32), orchestra.astype(np.float32)
