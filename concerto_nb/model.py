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
``concerto-nb train`` reproduces them from the licensed data in ``data/sources``.

Why the bins go *in* but the mask comes out of the bands: the ideal ratio mask averaged over the
128 bands separates within about 0.5 dB of the full-resolution one
(``evaluation.oracle_irm(n_bands=128)``), so the mask needs little frequency detail; but which
instrument fills a band is written in the spacing and shape of its partials, which the band
energies average away. Feeding the bins in (0.7.0, with a core of 160 units instead of 128)
lowered the training loss from the first hundred steps on and gained about 0.5 dB on held-out
excerpts (``benchmarks/separation.py``).

``MaskNet(freq_conv=16, harmonics=1)`` adds context across frequency: a convolution along a
log-frequency axis whose input channels are the spectrum at f/2, f, 2f, 3f and 4f, so a note's
partials meet in one place. It lowered the training loss but not the gap to the oracle on
held-out music or timbre (``benchmarks/results/freq_context.txt``), so the shipped network
has none.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

__all__ = ["SR", "N_FFT", "HOP", "WEIGHTS", "MaskNet", "band_basis", "log_frequency_basis", "load_model"]

SR = 22050
N_FFT = 2048
HOP = 512
N_BINS = N_FFT // 2 + 1
WEIGHTS = Path(__file__).resolve().parent / "weights" / "masknet.pt"


def _torch():
    import torch

    return torch


def band_basis(n_bands: int, n_fft: int = N_FFT, sr: int = SR) -> np.ndarray:
    """The network's frequency bands: ``(n_bands, n_fft // 2 + 1)`` mel triangles from 30 Hz to
    11.025 kHz (the network's Nyquist frequency), each row summing to 1, so ``basis @ |X|`` is each
    band's mean level. At another ``sr`` the same bands cover the bins of the same frequencies."""
    import librosa

    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_bands, fmin=30.0, fmax=SR / 2, norm=None)
    return (fb / np.maximum(fb.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32)


LOG_BINS_PER_OCTAVE = 36


def log_frequency_basis(fmin: float = 27.5, bins_per_octave: int = LOG_BINS_PER_OCTAVE, n_octaves: int = 7,
                        n_fft: int = N_FFT, sr: int = SR) -> np.ndarray:
    """A log-frequency axis over the STFT bins: ``(bins_per_octave * n_octaves, n_fft // 2 + 1)``
    triangles centred at ``fmin * 2 ** (k / bins_per_octave)``, each row summing to 1. A triangle
    is at least one STFT bin wide, so where the log axis is finer than the STFT (low notes) its
    row interpolates between the two nearest bins. On this axis every note's partials make the
    same pattern, shifted: what a convolution across frequency can learn once for all notes."""
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    centres = fmin * 2.0 ** (np.arange(bins_per_octave * n_octaves) / bins_per_octave)
    width = np.maximum(centres * (2.0 ** (1 / bins_per_octave) - 1), sr / n_fft)
    basis = np.maximum(0.0, 1.0 - np.abs(freqs[None, :] - centres[:, None]) / width[:, None])
    return (basis / np.maximum(basis.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32)


HARMONICS = (0.5, 1, 2, 3, 4)  # the log-frequency spectrum shifted to these multiples: channels of the conv


LOG_FLOOR = 1e-3


def _bin_features(torch, logmag, log_bands, mel, weights):
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


_CLASS = []


def _build():
    if _CLASS:
        return _CLASS[0]
    torch = _torch()
    nn = torch.nn

    class MaskNet(nn.Module):
        """Piano mask from a mixture magnitude spectrogram ``(batch, frames, 1025)``."""

        def __init__(self, n_bands: int = 128, hidden: int = 160, log_input: int = 1, bin_features: int = 1,
                     bin_input: int = 1, freq_conv: int = 0, harmonics: int = 0):
            super().__init__()
            self.config = {"n_bands": n_bands, "hidden": hidden, "log_input": log_input, "bin_features": bin_features,
                           "bin_input": bin_input}
            if freq_conv:  # only then: the configuration of older weights stays as it was
                self.config.update(freq_conv=freq_conv, harmonics=harmonics)
            self.register_buffer("mel", torch.from_numpy(band_basis(n_bands)))
            self.in_shift = nn.Parameter(torch.full((n_bands,), 3.0 if log_input else 0.0))
            self.in_scale = nn.Parameter(torch.full((n_bands,), 0.3 if log_input else 1.0))
            self.fc_in = nn.Linear(n_bands, 2 * hidden)
            if bin_input:
                # every bin's log level also feeds the core: the partials' fine pattern, which tells
                # a piano from an orchestra, is averaged away in the bands
                self.bin_shift = nn.Parameter(torch.full((N_BINS,), 3.0))
                self.bin_scale = nn.Parameter(torch.full((N_BINS,), 0.3))
                self.fc_bins = nn.Linear(N_BINS, 2 * hidden, bias=False)
            if freq_conv:
                # context across frequency: convolutions along a log-frequency axis, the same
                # weights for every note, optionally with the spectrum at f/2, 2f, 3f, 4f beside f
                basis = log_frequency_basis()
                self.register_buffer("logf", torch.from_numpy(basis))
                self.shifts = [round(LOG_BINS_PER_OCTAVE * np.log2(h)) for h in (HARMONICS if harmonics else (1,))]
                c = freq_conv
                self.conv_in = nn.Conv1d(len(self.shifts), c, 9, padding=4)
                self.conv_out = nn.Conv1d(c, 4, 1)
                self.fc_conv = nn.Linear(4 * basis.shape[0], 2 * hidden, bias=False)
            self.rnn = nn.GRU(2 * hidden, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=0.1)
            self.fc_out = nn.Linear(4 * hidden, N_BINS)
            if bin_features:
                self.bin_weights = nn.Parameter(torch.zeros(3, N_BINS))

        def forward(self, mag):
            log_bands = None
            if self.config["log_input"] or self.config["bin_features"]:
                # log of the band energies: the same features at any recording level
                log_bands = torch.log(mag @ self.mel.T + LOG_FLOOR)
            x = log_bands if self.config["log_input"] else torch.log1p(mag) @ self.mel.T
            x = (x + self.in_shift) * self.in_scale
            logmag = torch.log(mag + LOG_FLOOR) if self.config["bin_input"] or self.config["bin_features"] else None
            pre = self.fc_in(x)
            if self.config["bin_input"]:
                pre = pre + self.fc_bins((logmag + self.bin_shift) * self.bin_scale)
            if self.config.get("freq_conv"):
                pre = pre + self.fc_conv(self._freq_context(mag))
            h = torch.tanh(pre)
            r, _ = self.rnn(h)
            logit = self.fc_out(torch.cat([r, h], dim=-1))
            if self.config["bin_features"]:
                logit = logit + _bin_features(torch, logmag, log_bands, self.mel, self.bin_weights)
            return torch.sigmoid(logit)

        def _freq_context(self, mag):
            b, t, _ = mag.shape
            x = torch.log(mag @ self.logf.T + LOG_FLOOR).reshape(b * t, 1, -1)  # (batch x frames, 1, log bins)
            n, lo = x.shape[-1], max(0, -min(self.shifts))
            padded = torch.nn.functional.pad(x, (lo, max(self.shifts)), value=float(np.log(LOG_FLOOR)))
            # channel k: the level at HARMONICS[k] times each bin's frequency (the floor past the axis)
            x = torch.cat([padded[..., lo + s: lo + s + n] for s in self.shifts], dim=1)
            return self.conv_out(torch.relu(self.conv_in((x + 3.0) * 0.3))).reshape(b, t, -1)

    _CLASS.append(MaskNet)
    return MaskNet


def __getattr__(name):
    # MaskNet is built on first use, so importing concerto_nb never imports torch
    if name == "MaskNet":
        return _build()
    raise AttributeError(name)


_CACHE = {}


def load_model(path=None):
    """The trained :class:`MaskNet` in eval mode (cached per path).

    Raises
    ------
    FileNotFoundError
        No weights at ``path`` (``concerto-nb train`` makes them).
    """
    torch = _torch()
    path = Path(path or WEIGHTS)
    key = str(path.resolve())
    if key not in _CACHE:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no separation weights; run `concerto-nb train` to make them")
        state = torch.load(path, map_location="cpu", weights_only=True)
        config = {k: int(v) for k, v in state.pop("_config").items()}
        config.setdefault("log_input", 0)  # weights from before 0.4.0
        config.setdefault("bin_features", 0)
        config.setdefault("bin_input", 0)  # weights from before 0.7.0
        model = _build()(**config)
        model.load_state_dict({k: v.float() for k, v in state.items()})
        _CACHE[key] = model.eval()
    return _CACHE[key]


def save_model(model, path) -> Path:
    """Save weights as float16 with their configuration (small enough to ship in the repo)."""
    torch = _torch()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    state["_config"] = {k: torch.tensor(v) for k, v in model.config.items()}
    torch.save(state, path)
    return path


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run torch on ``n`` threads inside the block (the setting is restored after it).

    The GRU's many small steps are a poor fit for two threads: when another process holds a
    core, two threads take several times as long as one.
    """
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def piano_mask(mag: np.ndarray, model=None, chunk_frames: int = 2600, context_frames: int = 130) -> np.ndarray:
    """Piano mask for a magnitude spectrogram ``(1025, frames)``, in chunks of ~60 s with ~3 s context."""
    torch = _torch()
    model = model or load_model()
    n = mag.shape[1]
    out = np.empty_like(mag, dtype=np.float32)
    with torch_threads(1), torch.inference_mode():
        for a in range(0, n, chunk_frames):
            b = min(n, a + chunk_frames)
            lo, hi = max(0, a - context_frames), min(n, b + context_frames)
            x = torch.from_numpy(np.ascontiguousarray(mag[:, lo:hi].T, dtype=np.float32))[None]
            out[:, a:b] = model(x)[0].numpy().T[:, a - lo: b - lo]
    return out
