"""A small spectrogram-mask network for piano/orchestra separation, designed for 2 CPU cores.

Shape of the computation (after Open-Unmix, much smaller):

    |X| (frames x 1025 bins, 22.05 kHz, 93 ms window, 23 ms hop)
      -> log(1 + |X|) compressed to 96 mel bands        (the frequency axis shrinks 10x)
      -> per-band affine normalisation -> Linear 96->192 -> tanh
      -> 2-layer bidirectional GRU (96 per direction)    (context: the whole excerpt)
      -> [GRU out, Linear out] -> Linear 384->1025 -> sigmoid = piano mask M
    orchestra mask = 1 - M, so the two estimates always add up to the mixture.

About 0.8 M parameters; the weights ship in ``concerto_nb/weights/masknet.pt`` (float16, ~1.6 MB) and
``concerto-nb train`` reproduces them from the licensed data in ``../shared/data``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["SR", "N_FFT", "HOP", "WEIGHTS", "MaskNet", "load_model"]

SR = 22050
N_FFT = 2048
HOP = 512
N_BINS = N_FFT // 2 + 1
WEIGHTS = Path(__file__).resolve().parent / "weights" / "masknet.pt"


def _torch():
    import torch

    return torch


def _mel_basis(n_bands: int) -> np.ndarray:
    import librosa

    fb = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=n_bands, fmin=30.0, fmax=SR / 2, norm=None)
    return (fb / np.maximum(fb.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32)


_CLASS = []


def _build():
    if _CLASS:
        return _CLASS[0]
    torch = _torch()
    nn = torch.nn

    class MaskNet(nn.Module):
        """Piano mask from a mixture magnitude spectrogram ``(batch, frames, 1025)``."""

        def __init__(self, n_bands: int = 96, hidden: int = 96):
            super().__init__()
            self.config = {"n_bands": n_bands, "hidden": hidden}
            self.register_buffer("mel", torch.from_numpy(_mel_basis(n_bands)))
            self.in_shift = nn.Parameter(torch.zeros(n_bands))
            self.in_scale = nn.Parameter(torch.ones(n_bands))
            self.fc_in = nn.Linear(n_bands, 2 * hidden)
            self.rnn = nn.GRU(2 * hidden, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=0.1)
            self.fc_out = nn.Linear(4 * hidden, N_BINS)

        def forward(self, mag):
            x = torch.log1p(mag) @ self.mel.T
            x = (x + self.in_shift) * self.in_scale
            h = torch.tanh(self.fc_in(x))
            r, _ = self.rnn(h)
            return torch.sigmoid(self.fc_out(torch.cat([r, h], dim=-1)))

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


def piano_mask(mag: np.ndarray, model=None, chunk_frames: int = 2600, context_frames: int = 130) -> np.ndarray:
    """Piano mask for a magnitude spectrogram ``(1025, frames)``, in chunks of ~60 s with ~3 s context."""
    torch = _torch()
    model = model or load_model()
    n = mag.shape[1]
    out = np.empty_like(mag, dtype=np.float32)
    with torch.inference_mode():
        for a in range(0, n, chunk_frames):
            b = min(n, a + chunk_frames)
            lo, hi = max(0, a - context_frames), min(n, b + context_frames)
            x = torch.from_numpy(np.ascontiguousarray(mag[:, lo:hi].T, dtype=np.float32))[None]
            out[:, a:b] = model(x)[0].numpy().T[:, a - lo: b - lo]
    return out
