"""A small spectrogram-mask network for piano/orchestra separation, designed for 2 CPU cores.

Shape of the computation (after Open-Unmix, much smaller):

    |X| (frames x 1025 bins, 22.05 kHz, 93 ms window, 23 ms hop)
      -> log of 128 mel-band energies                    (the frequency axis shrinks 8x)
      -> per-band affine normalisation -> Linear 128->320
         + per-bin affine normalisation of log|X| -> Linear 1025->320   (the partials' fine pattern)
      -> tanh
      -> 2-layer bidirectional GRU (160 per direction)   (context: the whole excerpt)
      -> [GRU out, Linear out] -> Linear 640->1025
      -> + per-bin weights x (bin's log level above its band, its rise, its fall)
      -> sigmoid = piano mask M
    orchestra mask = 1 - M, so the two estimates always add up to the mixture.

About 2.0 M parameters; the weights ship in ``concerto_nb/weights/masknet.pt`` (float16, ~4 MB) and
``python scripts/train.py`` reproduces them from the licensed data in ``data/sources``.

Why the bins go *in* but the mask comes out of the bands: the ideal ratio mask averaged over the
128 bands separates within about 0.5 dB of the full-resolution one
(``evaluation.oracle_irm(n_bands=128)``), so the mask needs little frequency detail; but which
instrument fills a band is written in the spacing and shape of its partials, which the band
energies average away: so every bin's log level feeds the core too (``benchmarks/README.md``,
"Where the gap is").

Importing this module imports torch; :mod:`concerto_nb.separation` imports it only when the network is used,
so ``import concerto_nb`` stays light. Training: ``scripts/train.py`` with :mod:`concerto_nb.mixes`;
notebook ``01_source_separation``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["SR", "N_FFT", "HOP", "WEIGHTS", "MaskNet", "band_basis", "load_weights", "load_model", "save_model",
           "stft_and_mask", "piano_mask", "frame_chunks", "loss_curve_path"]

SR = 22050
N_FFT = 2048
HOP = 512
N_BINS = N_FFT // 2 + 1
WEIGHTS = Path(__file__).resolve().parent / "weights" / "masknet.pt"


def band_basis(n_bands: int, n_fft: int = N_FFT, sr: int = SR) -> np.ndarray:
    """The network's frequency bands: ``(n_bands, n_fft // 2 + 1)`` mel triangles from 30 Hz to
    11.025 kHz (the network's Nyquist frequency), each row summing to 1, so ``basis @ |X|`` is each
    band's mean level. At another ``sr`` the same bands cover the bins of the same frequencies.

    Notebook: ``01_source_separation``.
    """
    import librosa

    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_bands, fmin=30.0, fmax=SR / 2, norm=None)
    return (fb / np.maximum(fb.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32)


#: Added to magnitudes before the log: -60 dB re full scale, below what the training mixes hold in a band.
LOG_FLOOR = 1e-3


def _bin_features(logmag, log_bands, mel, weights):
    """Per-bin evidence the 128 bands blur: how far a bin stands out of its band (a partial of a
    note or the noise between partials) and how fast it is rising or falling (piano notes start
    sharply and decay; held orchestral tones do not), each with one learnt weight per bin.
    ``logmag`` = log(mag + LOG_FLOOR) and ``log_bands`` = log(mag @ mel.T + LOG_FLOOR), shared
    with the network's input."""
    band = log_bands @ (mel / mel.sum(dim=0, keepdim=True).clamp_min(1e-9))
    peak = logmag - band
    rise = torch.diff(logmag, dim=-2, prepend=logmag[..., :1, :])
    fall = torch.diff(logmag, dim=-2, append=logmag[..., -1:, :])
    return weights[0] * peak + weights[1] * rise + weights[2] * fall


class MaskNet(nn.Module):
    """Piano mask from a mixture magnitude spectrogram ``(batch, frames, 1025)``.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    n_bands : int
        Mel bands of the input (:func:`band_basis`).
    hidden : int
        GRU units per direction.

    Examples
    --------
    >>> net = MaskNet(hidden=8).eval()
    >>> net(torch.ones(1, 5, 1025)).shape
    torch.Size([1, 5, 1025])
    """

    def __init__(self, n_bands: int = 128, hidden: int = 160):
        super().__init__()
        self.config = {"n_bands": n_bands, "hidden": hidden}
        self.register_buffer("mel", torch.from_numpy(band_basis(n_bands)))
        # per-band affine normalisation of the log band energies
        self.in_shift = nn.Parameter(torch.full((n_bands,), 3.0))
        self.in_scale = nn.Parameter(torch.full((n_bands,), 0.3))
        self.fc_in = nn.Linear(n_bands, 2 * hidden)
        # every bin's log level also feeds the core: the partials' fine pattern, which tells
        # a piano from an orchestra, is averaged away in the bands
        self.bin_shift = nn.Parameter(torch.full((N_BINS,), 3.0))
        self.bin_scale = nn.Parameter(torch.full((N_BINS,), 0.3))
        self.fc_bins = nn.Linear(N_BINS, 2 * hidden, bias=False)
        self.rnn = nn.GRU(2 * hidden, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=0.1)
        self.fc_out = nn.Linear(4 * hidden, N_BINS)
        self.bin_weights = nn.Parameter(torch.zeros(3, N_BINS))

    def forward(self, mag):
        # log of the band energies and of the bins: the same features at any recording level
        log_bands = torch.log(mag @ self.mel.T + LOG_FLOOR)
        logmag = torch.log(mag + LOG_FLOOR)
        pre = self.fc_in((log_bands + self.in_shift) * self.in_scale)
        pre = pre + self.fc_bins((logmag + self.bin_shift) * self.bin_scale)
        h = torch.tanh(pre)
        r, _ = self.rnn(h)
        logit = self.fc_out(torch.cat([r, h], dim=-1))
        logit = logit + _bin_features(logmag, log_bands, self.mel, self.bin_weights)
        return torch.sigmoid(logit)


_LOADED = {}


def load_weights(path, network, missing: str):
    """A ``network`` class (:class:`MaskNet`, :class:`concerto_nb.informed.InformedNet`) with the weights and
    configuration :func:`save_model` wrote to ``path``, in eval mode; loaded once per file and version of it.

    Notebook: ``01_source_separation``.

    Raises
    ------
    FileNotFoundError
        No weights at ``path``: ``missing`` says how to make them.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: {missing}")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)  # a file written again is loaded again
    if key not in _LOADED:
        state = torch.load(path, map_location="cpu", weights_only=True)
        config = {k: int(v) for k, v in state.pop("_config").items()}
        net = network(**config)
        net.load_state_dict({k: v.float() for k, v in state.items()})
        _LOADED[key] = net.eval()
    return _LOADED[key]


def load_model(path=None):
    """The trained :class:`MaskNet` in eval mode (loaded once per file and version of it).

    Notebook: ``01_source_separation``.

    Raises
    ------
    FileNotFoundError
        No weights at ``path`` (``python scripts/train.py`` makes them).
    """
    return load_weights(path or WEIGHTS, MaskNet, "no separation weights; run `python scripts/train.py` to make them")


def save_model(model, path) -> Path:
    """Save weights as float16 with their configuration (small enough to ship in the repo).

    Notebook: ``01_source_separation``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    state["_config"] = {k: torch.tensor(v) for k, v in model.config.items()}
    torch.save(state, path)
    return path


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run torch on ``n`` threads inside the block, and after it.

    The GRU's many small steps are a poor fit for two threads: when another process holds a
    core, two threads take several times as long as one. The setting is not restored: resizing
    OpenMP's thread pool back and forth around every call can deadlock a process that has loaded
    two OpenMP runtimes (torch's and scikit-learn's, as a notebook kernel does), in the middle of a
    matrix product; so it changes only when a caller asks for another count.
    """
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    yield


def stft_and_mask(y: np.ndarray, sr: int, model=None):
    """The network's STFT of ``y`` (at :data:`SR`, :data:`N_FFT` / :data:`HOP`) and the piano mask it puts on it.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        A mixture at ``sr``; with channels, one mask for all, from their mean magnitude.
    sr : int

    Returns
    -------
    X : np.ndarray [shape=(..., 1025, frames)], complex
    mask : np.ndarray [shape=(1025, frames)], in [0, 1]
    """
    import librosa

    from .io import resample

    y22 = resample(np.asarray(y, dtype=np.float32), sr, SR)
    X = librosa.stft(y22, n_fft=N_FFT, hop_length=HOP)
    mono_mag = np.abs(X) if X.ndim == 2 else np.abs(X.mean(axis=0))
    return X, piano_mask(mono_mag, model)


def piano_mask(mag: np.ndarray, model=None, chunk_frames: int = 2600, context_frames: int = 130) -> np.ndarray:
    """Piano mask for a magnitude spectrogram ``(1025, frames)``, in chunks of ~60 s with ~3 s context.

    Notebook: ``01_source_separation``.
    """
    model = model or load_model()
    out = np.empty_like(mag, dtype=np.float32)
    with torch_threads(1), torch.inference_mode():
        for a, b, lo, hi in frame_chunks(mag.shape[1], chunk_frames, context_frames):
            out[:, a:b] = model(frames_tensor(mag, lo, hi))[0].numpy().T[:, a - lo: b - lo]
    return out


def frame_chunks(n_frames: int, chunk_frames: int, context_frames: int):
    """``(a, b, lo, hi)`` for each chunk of frames ``a:b`` and the frames ``lo:hi`` a network reads for it: the
    chunk with up to ``context_frames`` on either side. Chunks bound the memory of long recordings.

    Notebook: ``01_source_separation``.

    Examples
    --------
    >>> list(frame_chunks(10, 4, 1))
    [(0, 4, 0, 5), (4, 8, 3, 9), (8, 10, 7, 10)]
    """
    for a in range(0, n_frames, chunk_frames):
        b = min(n_frames, a + chunk_frames)
        yield a, b, max(0, a - context_frames), min(n_frames, b + context_frames)


def frames_tensor(spectrogram: np.ndarray, lo: int, hi: int):
    """Frames ``lo:hi`` of a ``(bins, frames)`` array as the networks take them: a ``(1, frames, bins)`` tensor."""
    return torch.from_numpy(np.ascontiguousarray(spectrogram[:, lo:hi].T, dtype=np.float32))[None]


def loss_curve_path(weights) -> Path:
    """Where the training (``scripts/train.py``) writes the loss per step of ``weights`` (CSV ``step,loss``).

    Notebook: ``01_source_separation``.
    """
    return Path(weights).with_suffix(".loss.csv")
