"""Separation informed by the pianist's own recording: a small network that corrects the blind mask.

Once the pianist's recording is aligned to the concerto (stage 3) and warped onto its frames
(:func:`concerto_nb.separation.warped_pianist`), it says which partials a piano holds in every frame. It is
another piano, in another room, at other dynamics, so its magnitudes are not the concerto's piano's; but brought
to the level of the blind estimate, one gain per frequency band and one per second, they say roughly *how loud* the
concerto's piano is in each bin, which the blind network has to guess where both instruments fill a bin
(``benchmarks/README.md``, "Informed separation").

Shape of the computation, per frame and bin of the network's STFT (:data:`concerto_nb.model.SR`,
:data:`concerto_nb.model.N_FFT`, :data:`concerto_nb.model.HOP`):

    blind mask M_b (the shipped MaskNet), mixture |X|, warped pianist |P|
      -> |P| at the blind estimate's level: one gain per band (EQ: piano and room) and per ~1 s (dynamics),
         fitted where both sound                                                         (:func:`pianist_at_level`)
      -> 5 feature maps: logit(M_b), log(levelled |P| / |X|) (the pianist's share of the bin),
         log|X|, how far each bin of |P| stands out of its neighbours (a partial or not), and how fast it rises
      -> two convolutions over 3 frames x 9 bins (12 channels, the second dilated to 17 bins), one 1 x 1
      -> added to logit(M_b) -> sigmoid = informed piano mask.

The last convolution starts at zero, so an untrained :class:`InformedNet` returns the blind mask exactly; training
(``scripts/train_informed.py``) only teaches the correction. Its examples pair the piano part of a concerto
rendered in one soundfont with the same notes rendered in another, recorded in a made-up home room, coloured,
levelled differently over time and shifted by tens of milliseconds, as an aligned pianist is.

Notebook: ``01_source_separation``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import model as masknet

__all__ = ["INFORMED_WEIGHTS", "InformedNet", "pianist_at_level", "load_informed", "informed_mask"]

INFORMED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "informed.pt"
#: Bands of the pianist's level fit: about a third of an octave each, fine enough for a piano's and a room's colour
#: (set by that reasoning, not tuned).
N_LEVEL_BANDS = 32
#: Frames over which the pianist's level may change (~1 s): dynamics change slower than notes (not tuned).
LEVEL_FRAMES = 43
#: Relative floor of the logs (-60 dB re an example's mean magnitude).
FLOOR = 1e-3


def _logit(mask):
    return torch.log(mask.clamp(1e-4, 1 - 1e-4)) - torch.log1p(-mask.clamp(1e-4, 1 - 1e-4))


def pianist_at_level(pianist_mag, blind_estimate, band_basis):
    """The pianist's magnitudes brought to the level of the blind piano estimate.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    pianist_mag, blind_estimate : torch.Tensor [shape=(batch, frames, bins)]
        The warped pianist's magnitudes and the blind mask times the mixture's magnitudes.
    band_basis : torch.Tensor [shape=(bands, bins)]
        Rows summing to 1 (:func:`concerto_nb.model.band_basis`).

    Returns
    -------
    torch.Tensor [shape=(batch, frames, bins)]
        ``pianist_mag`` times one gain per band (the mean log ratio of the two where both sound) and one per frame
        (the mean log ratio left over, averaged over :data:`LEVEL_FRAMES`). Zero where the pianist is silent.
    """
    scale_p = pianist_mag.mean(dim=(1, 2), keepdim=True).clamp_min(1e-9)
    scale_b = blind_estimate.mean(dim=(1, 2), keepdim=True).clamp_min(1e-9)
    log_p = torch.log(pianist_mag / scale_p + FLOOR)
    log_b = torch.log(blind_estimate / scale_b + FLOOR)
    # bins where both sound (within 40 dB of their loudest) say how the two pianos' levels compare
    both = ((pianist_mag > 1e-2 * pianist_mag.amax(dim=(1, 2), keepdim=True))
            & (blind_estimate > 1e-2 * blind_estimate.amax(dim=(1, 2), keepdim=True))).float()
    ratio = (log_b - log_p) * both
    # one gain per band: the mean log ratio over its bins and all frames
    in_band = band_basis.T > 0  # (bins, bands)
    weights = in_band.float()
    band_sum = (ratio.sum(dim=1) @ weights)  # (batch, bands)
    band_count = (both.sum(dim=1) @ weights)
    overall = ratio.sum(dim=(1, 2)) / both.sum(dim=(1, 2)).clamp_min(1.0)
    band_gain = torch.where(band_count > 0, band_sum / band_count.clamp_min(1.0), overall[:, None])
    bin_gain = band_gain @ (weights / weights.sum(dim=1, keepdim=True).clamp_min(1.0)).T  # (batch, bins)
    # one gain per frame for what is left (dynamics), smoothed over about a second
    left = (ratio - bin_gain[:, None, :] * both)
    frame_sum, frame_count = left.sum(dim=2), both.sum(dim=2)
    kernel = torch.ones(1, 1, LEVEL_FRAMES)
    smooth_sum = nn.functional.conv1d(frame_sum[:, None], kernel, padding=LEVEL_FRAMES // 2)[:, 0]
    smooth_count = nn.functional.conv1d(frame_count[:, None], kernel, padding=LEVEL_FRAMES // 2)[:, 0]
    frame_gain = smooth_sum / smooth_count.clamp_min(1.0)
    log_gain = bin_gain[:, None, :] + frame_gain[:, :, None]
    return pianist_mag / scale_p * torch.exp(log_gain) * scale_b


class InformedNet(nn.Module):
    """Informed piano mask from the blind mask, the mixture and the warped pianist, all ``(batch, frames, 1025)``.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    channels : int
        Feature maps of the two hidden convolutions.

    Examples
    --------
    >>> net = InformedNet().eval()
    >>> blind = torch.full((1, 5, 1025), 0.3)
    >>> bool(torch.allclose(net(blind, torch.ones(1, 5, 1025), torch.ones(1, 5, 1025)), blind))  # untrained
    True
    """

    def __init__(self, channels: int = 12):
        super().__init__()
        self.config = {"channels": channels}
        self.register_buffer("bands", torch.from_numpy(masknet.band_basis(N_LEVEL_BANDS)))
        self.core = nn.Sequential(
            nn.Conv2d(5, channels, (3, 9), padding=(1, 4)), nn.GELU(),
            nn.Conv2d(channels, channels, (3, 9), padding=(1, 8), dilation=(1, 2)), nn.GELU(),
        )
        self.out = nn.Conv2d(channels, 1, 1)
        # starts as the blind mask: the correction is what training adds
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, blind_mask, mixture_mag, pianist_mag):
        blind_logit = _logit(blind_mask)
        levelled = pianist_at_level(pianist_mag, blind_mask * mixture_mag, self.bands)
        scale = mixture_mag.mean(dim=(1, 2), keepdim=True).clamp_min(1e-9)
        log_x = torch.log(mixture_mag / scale + FLOOR)
        share = (torch.log(levelled / scale + FLOOR) - log_x).clamp(-6.0, 3.0)
        log_p = torch.log(pianist_mag / pianist_mag.mean(dim=(1, 2), keepdim=True).clamp_min(1e-9) + FLOOR)
        # how far a bin of the pianist stands out of its neighbours (+-4 bins): a partial, or the gap between two
        neighbours = nn.functional.avg_pool1d(log_p.flatten(0, 1)[:, None], 9, stride=1, padding=4,
                                              count_include_pad=False)[:, 0].view_as(log_p)
        # how fast each bin of the pianist rises: a note's attack, which the concerto's piano has at the same time
        rise = torch.diff(log_p, dim=1, prepend=log_p[:, :1]).clamp(-6.0, 6.0)
        features = torch.stack([blind_logit.clamp(-8, 8) / 4, share / 3, log_x / 4, (log_p - neighbours) / 3,
                                rise / 3], dim=1)
        delta = self.out(self.core(features))[:, 0]
        return torch.sigmoid(blind_logit + delta)


def load_informed(path=None):
    """The trained :class:`InformedNet` in eval mode (loaded once per file and version of it).

    Notebook: ``01_source_separation``.

    Raises
    ------
    FileNotFoundError
        No weights at ``path`` (``python scripts/train_informed.py`` makes them).
    """
    return masknet.load_weights(path or INFORMED_WEIGHTS, InformedNet,
                                "no informed-separation weights; run `python scripts/train_informed.py`")


def informed_mask(blind_mask: np.ndarray, mixture_mag: np.ndarray, pianist_mag: np.ndarray, net=None, *,
                  chunk_frames: int = 2600, context_frames: int = 43) -> np.ndarray:
    """The informed piano mask ``(1025, frames)`` for a blind mask, the mixture's and the warped pianist's
    magnitudes (all ``(1025, frames)``), in chunks of ~60 s with ~1 s of context.

    Notebook: ``01_source_separation``.
    """
    net = net or load_informed()
    out = np.empty_like(blind_mask, dtype=np.float32)
    with masknet.torch_threads(1), torch.inference_mode():
        for a, b, lo, hi in masknet.frame_chunks(blind_mask.shape[1], chunk_frames, context_frames):
            mask = net(*(masknet.frames_tensor(x, lo, hi) for x in (blind_mask, mixture_mag, pianist_mag)))
            out[:, a:b] = mask[0].numpy().T[:, a - lo: b - lo]
    return out
