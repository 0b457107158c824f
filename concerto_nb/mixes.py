"""Random mixes of piano-only and orchestra-only audio, and one training step of the network on them.

Both trainings of :class:`concerto_nb.model.MaskNet` draw from here: the full training from the licensed data
(``scripts/train.py``) and test-time adaptation on a recording's own solo and tutti passages
(:mod:`concerto_nb.adaptation`). Notebook ``01_source_separation`` runs a few steps of it.

The loss is the L1 distance between the masked mixture magnitudes and the true stem magnitudes, relative to the
mixture's mean magnitude (so quiet and loud examples count the same), plus an optional weight x the error of the
estimated piano waveform relative to the mixture, in dB (what SDR measures).
"""
from __future__ import annotations

import numpy as np

from . import model as masknet, render

__all__ = ["SEGMENT_S", "RandomMixes", "step_batch", "mask_loss", "training_step"]

SEGMENT_S = 6.0  # seconds per training example: several bars of context for the GRU (the shipped recipe)


class RandomMixes:
    """Endless random piano + orchestra mixes (waveforms), reproducible from a seed.

    Notebook: ``01_source_separation``.

    ``stems``: lists of waveforms ``piano`` and ``orchestra``, and optionally ``piano_corpus`` /
    ``orchestra_corpus`` (drawn for a share ``corpus_share`` of the excerpts) and ``piano_real`` /
    ``orchestra_real`` (real recordings, drawn for a share ``real_share``; each real excerpt is played up
    to a semitone faster or slower, pitch with it, as a tape would: more pieces and keys from few minutes).
    ``made_up_rooms``: share of the room-augmented mixes that get a made-up room
    (:func:`concerto_nb.render.synthetic_impulse_response`) instead of one of ``rooms``.
    ``recorded``: share of the mixes that go through a recording chain (:meth:`recording_chain`).
    """

    def __init__(self, stems: dict, rooms: list, seed: int = 0, segment_s: float = SEGMENT_S, peak_range=(0.03, 1.0),
                 made_up_rooms: float = 0.0, corpus_share: float = 0.0, real_share: float = 0.0,
                 recorded: float = 0.0):
        self.stems, self.rooms = stems, rooms
        self.made_up_rooms, self.corpus_share = made_up_rooms, corpus_share
        self.real_share, self.recorded = real_share, recorded
        self.rng = np.random.default_rng(seed)
        self.n = int(segment_s * masknet.SR)
        self.peak_range = peak_range

    def _excerpt(self, kind):
        rng = self.rng
        sources, speed = self.stems[kind], 1.0
        # (a share of 0 draws nothing, so a recipe without real recordings keeps its random sequence)
        if self.real_share and self.stems.get(f"{kind}_real") and rng.uniform() < self.real_share:
            sources, speed = self.stems[f"{kind}_real"], 2 ** (rng.uniform(-1, 1) / 12)
        elif self.stems.get(f"{kind}_corpus") and rng.uniform() < self.corpus_share:
            sources = self.stems[f"{kind}_corpus"]
        length = int(round(self.n * speed))  # samples read, played back in self.n samples
        for _ in range(20):  # look for a non-silent excerpt
            y = sources[rng.integers(len(sources))]
            start = rng.integers(0, max(1, len(y) - length))
            seg = y[start: start + length]
            if len(seg) == length and np.sqrt(np.mean(seg**2)) > 1e-3:
                if length != self.n:
                    seg = np.interp(np.linspace(0, length - 1, self.n), np.arange(length), seg).astype(np.float32)
                return seg / (np.sqrt(np.mean(seg**2)) + 1e-9)
        return seg[: self.n] if len(seg) >= self.n else np.zeros(self.n, np.float32)

    def recording_chain(self, piano, orch):
        """What a microphone, a noisy room and mastering do to a mix, applied to both stems alike.

        A random peak or dip (+-6 dB, one octave wide, 100 Hz-8 kHz) for a microphone's colour, a
        compressor on the mixture (threshold 6-20 dB below its peak, ratio 2-6, 50 ms frames) whose
        gain curve multiplies both stems, so they still add up to the mixture, and a noise floor
        40-70 dB below the mixture's level, counted with the orchestra (the rest that is not piano).
        """
        from scipy.signal import lfilter

        rng = self.rng
        f0, gain_db = 10 ** rng.uniform(2, np.log10(8000)), rng.uniform(-6, 6)
        b, a = _peaking_filter(f0, gain_db, masknet.SR)
        piano, orch = lfilter(b, a, piano), lfilter(b, a, orch)
        hop = int(0.05 * masknet.SR)
        mix = piano + orch
        frames = np.sqrt(np.convolve(mix**2, np.ones(hop) / hop, mode="same")) + 1e-9
        threshold = np.max(frames) * 10 ** (-rng.uniform(6, 20) / 20)
        ratio = rng.uniform(2, 6)
        # above the threshold the level grows 1/ratio as fast: the gain that does it, smoothed over a frame
        gain = np.minimum(1.0, (frames / threshold) ** (1 / ratio - 1))
        gain = np.convolve(gain, np.ones(hop) / hop, mode="same")
        noise = lfilter([1.0], [1.0, -0.9], rng.standard_normal(len(mix)))  # a dull, pinkish hiss
        level = np.sqrt(np.mean((mix * gain) ** 2)) * 10 ** (-rng.uniform(40, 70) / 20)
        return piano * gain, orch * gain + noise / (np.sqrt(np.mean(noise**2)) + 1e-9) * level

    def _tilt(self, y):
        # a gentle random spectral tilt: one-pole low- or high-shelf mix
        from scipy.signal import lfilter

        a = self.rng.uniform(0.0, 0.6)
        low = lfilter([1 - a], [1, -a], y)
        w = self.rng.uniform(-0.5, 0.5)
        return (1 - abs(w)) * y + (w if w > 0 else 0) * low + (-w if w < 0 else 0) * (y - low)

    def example(self):
        rng = self.rng
        piano = self._tilt(self._excerpt("piano"))
        orch = self._tilt(self._excerpt("orchestra"))
        piano *= 10 ** (rng.uniform(-9, 9) / 20)
        u = rng.uniform()
        if u < 0.1:
            piano *= 0.0  # tutti
        elif u < 0.2:
            orch *= 0.0  # cadenza
        if self.rooms and rng.uniform() < 0.6:
            if rng.uniform() < self.made_up_rooms:
                ir = render.synthetic_impulse_response(masknet.SR, rng.uniform(0.4, 2.5), rng, rng.uniform(0.4, 0.9),
                                                       rng.uniform(0.0, 0.03))
            else:
                ir = self.rooms[rng.integers(len(self.rooms))]
            wet = rng.uniform(0.1, 0.6)
            # one room, but the piano and the orchestra sit in different places in it
            piano = render.apply_room(piano, ir, float(np.clip(wet + rng.uniform(-0.1, 0.1), 0.05, 0.7)))
            orch = render.apply_room(orch, ir, wet)
        if self.recorded and rng.uniform() < self.recorded:
            piano, orch = self.recording_chain(piano, orch)
        lo, hi = np.log10(self.peak_range)
        scale = 10 ** rng.uniform(lo, hi) / (np.max(np.abs(piano + orch)) + 1e-9)
        return (piano * scale).astype(np.float32), (orch * scale).astype(np.float32)

    def batch(self, size):
        pairs = [self.example() for _ in range(size)]
        return np.stack([p for p, _ in pairs]), np.stack([o for _, o in pairs])


def _peaking_filter(f0: float, gain_db: float, sr: int, q: float = 1.4):
    """(b, a) of a peaking equaliser: ``gain_db`` at ``f0`` Hz, about an octave wide (RBJ's cookbook)."""
    amp, w0 = 10 ** (gain_db / 40), 2 * np.pi * f0 / sr
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * amp, -2 * np.cos(w0), 1 - alpha * amp])
    a = np.array([1 + alpha / amp, -2 * np.cos(w0), 1 - alpha / amp])
    return b / a[0], a / a[0]


def _stft(torch, y):
    window = torch.hann_window(masknet.N_FFT)
    X = torch.stft(torch.from_numpy(y), masknet.N_FFT, masknet.HOP, window=window, return_complex=True)
    return X.transpose(1, 2)  # (batch, frames, bins)


def _magnitudes(torch, y):
    return _stft(torch, y).abs()


def step_batch(mixes: RandomMixes, batch_size: int, seed: int, step: int) -> dict:
    """The batch of step ``step``: random mixes that depend only on (seed, step), with their spectrograms.

    Notebook: ``01_source_separation``.

    Returns
    -------
    dict of tensors: waveforms ``piano`` and ``mixture`` ``(batch, samples)``, the mixture's STFT
    ``X`` and the magnitudes ``P`` and ``O`` of the two stems ``(batch, frames, bins)``.
    """
    import torch

    mixes.rng = np.random.default_rng([seed, step])
    piano, orch = mixes.batch(batch_size)
    mixture = piano + orch
    return {"piano": torch.from_numpy(piano), "mixture": torch.from_numpy(mixture), "X": _stft(torch, mixture),
            "P": _magnitudes(torch, piano), "O": _magnitudes(torch, orch)}


def mask_loss(mask, batch: dict, *, waveform_weight: float = 0.0, bleed_weight: float = 0.0):
    """The training loss of a piano mask ``(batch, frames, bins)`` on a :func:`step_batch`.

    Notebook: ``01_source_separation``.

    The L1 distance of the two masked magnitudes to the true stems', relative to the mixture's mean magnitude (so
    quiet and loud examples count the same), plus ``bleed_weight`` x the part of the orchestra's error where the
    estimate has too much (the piano left in the orchestra track), plus ``waveform_weight`` x the error of the piano
    waveform (soft mask, mixture phase) in dB relative to the mixture: what SDR measures.
    """
    import torch

    X, P, O = batch["X"], batch["P"], batch["O"]
    M = X.abs()
    # each example weighs the same whatever its level (the mixes range over 30 dB)
    level = M.mean(dim=(1, 2)).clamp_min(1e-6)
    orchestra_error = (1 - mask) * M - O
    loss = (mask * M - P).abs().mean(dim=(1, 2)) + orchestra_error.abs().mean(dim=(1, 2))
    if bleed_weight:
        loss = loss + bleed_weight * orchestra_error.clamp_min(0).mean(dim=(1, 2))
    loss = (loss / level).mean()
    if waveform_weight:
        window = torch.hann_window(masknet.N_FFT)
        estimate = torch.istft((mask * X).transpose(1, 2), masknet.N_FFT, masknet.HOP, window=window,
                               length=batch["piano"].shape[1])
        # the two masks add up to 1, so the orchestra's error is the piano's error with its sign flipped
        error = (batch["piano"] - estimate).pow(2).sum(dim=1)
        energy = batch["mixture"].pow(2).sum(dim=1).clamp_min(1e-9)
        loss = loss + waveform_weight * (10 * torch.log10(error / energy + 1e-4)).mean()
    return loss


def training_step(net, opt, mixes: RandomMixes, batch_size: int, seed: int, step: int, clip_norm=None,
                  waveform_weight: float = 0.0, batch: dict | None = None) -> float:
    """One optimisation step on a batch of random mixes that depends only on (seed, step).

    Notebook: ``01_source_separation``.

    The loss is :func:`mask_loss`'s. ``batch``: the step's :func:`step_batch`, if it was made ahead (by a worker
    process); else it is made here.
    """
    import torch

    torch.manual_seed(seed * 1_000_003 + step)
    if batch is None:
        batch = step_batch(mixes, batch_size, seed, step)
    loss = mask_loss(net(batch["X"].abs()), batch, waveform_weight=waveform_weight)
    opt.zero_grad()
    loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
    opt.step()
    return loss.item()
