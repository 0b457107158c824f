"""Stage 1 - splitting a concerto recording into piano and orchestra, and stage 2 - turning the masks into
waveforms (``reconstruction``: :func:`sharpen_mask`, :func:`wiener_gain`, :func:`multichannel_wiener`).
Notebooks: ``01_source_separation`` and ``03_signal_reconstruction``.

Two separators, one interface (:func:`separate`):

``method="model"`` (default): the trained mask network of :mod:`concerto_nb.model` predicts a
piano mask :math:`M \\in [0, 1]` for the mixture's 22.05 kHz STFT :math:`X`. Reconstruction:

- ``"mask"``: :math:`\\hat S_{piano} = M \\odot X` with the mixture's phase;
- ``"wiener"``: single-channel Wiener gain from the two magnitude estimates,
  :math:`G = \\frac{(M|X|)^2}{(M|X|)^2 + ((1-M)|X|)^2}`, :math:`\\hat S_{piano} = G \\odot X`
  (sharper: less bleed, a little more musical noise);
- ``"em"``: multichannel Wiener filtering with expectation-maximisation (norbert, as in
  Open-Unmix): each source is modelled as :math:`s_j(f,t) \\sim \\mathcal N_c(0, v_j(f,t) R_j(f))`,
  a power spectrogram :math:`v_j` times a spatial covariance :math:`R_j` (channels x channels, one
  per frequency). Starting from the soft-mask estimates, each EM iteration re-estimates
  :math:`v_j, R_j` from the current estimates and applies the multichannel Wiener filter
  :math:`\\hat{\\mathbf s}_j = v_j R_j \\big(\\textstyle\\sum_k v_k R_k\\big)^{-1} \\mathbf x`. On a stereo
  recording it uses where the piano sits between the loudspeakers; on mono it only refines the powers.

Artifact reduction, with any of the three: ``smooth=(frames, bins)`` median-filters the mask
over a small time-frequency neighbourhood first. Isolated mask peaks are what one hears as
"musical noise" (short chirps) and isolated holes as a gargled target; the median removes both
at the cost of a little bleed (:func:`concerto_nb.evaluation.bss_eval` shows the trade in SIR/SAR).

**The pianist's recording as side information** (:func:`warped_pianist`): once aligned (stage 3), the user's
own recording of the piano part can be warped onto the concerto's frames, moved to the concerto's tuning; it says
which partials the piano holds in each frame. ``separate(..., pianist=...)`` gives it to
:class:`concerto_nb.informed.InformedNet`, which corrects the blind mask (informed separation, what ``playalong``
uses); notebook ``01`` also uses it for score-informed NMF.

The piano estimate is band-limited to 11 kHz (the network's band); the orchestra is the
mixture minus the piano at the input's own rate, so the two always add up to the input.

``method="hpss"``, the unsupervised baseline: **median-filtering harmonic/percussive
separation** (Fitzgerald 2010) with a long time kernel. A piano note is a sharp onset followed
by a decay of well under a second; the orchestra's strings and winds hold tones. Median filtering the magnitude
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

__all__ = ["METHODS", "RECONSTRUCTIONS", "separate", "pianist_side_information", "hpss_masks", "sharpen_mask",
           "wiener_gain", "smooth_mask", "multichannel_wiener", "mixture_and_mask", "warped_pianist"]

METHODS = ("model", "hpss")
RECONSTRUCTIONS = ("mask", "wiener", "em")
#: Shortest recording test-time adaptation accepts (s): a solo passage counts from 3 s
#: (:func:`concerto_nb.adaptation.find_solo_passages`' ``min_s``).
MIN_ADAPT_S = 3.0


def _stft_params(sr: int):
    n_fft = int(2 ** np.round(np.log2(0.093 * sr)))  # ~93 ms window at any sample rate
    return n_fft, n_fft // 4


def hpss_masks(S_mag: np.ndarray, sr: int, hop: int, time_kernel_s: float = 1.0, freq_kernel_hz: float = 250.0,
               power: float = 1.0):
    """Soft piano/orchestra masks from a magnitude spectrogram.

    Notebook: ``01_source_separation``.

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


def sharpen_mask(piano_mask: np.ndarray, power: float) -> np.ndarray:
    """Mask from the two magnitude estimates raised to ``power``: :math:`M^p / (M^p + (1-M)^p)`.

    Notebook: ``01_source_separation``.

    ``power=1`` gives the soft mask back, ``power=2`` the Wiener gain (ratio of the estimated
    powers), large powers approach a binary mask (less bleed, more musical noise), powers
    below 1 a flatter one (less musical noise, more bleed).

    Examples
    --------
    >>> import numpy as np
    >>> sharpen_mask(np.array([0.25, 0.5, 0.75]), 2).round(2).tolist()
    [0.1, 0.5, 0.9]
    """
    p, o = piano_mask**power, (1.0 - piano_mask) ** power
    return p / np.maximum(p + o, 1e-12)


def wiener_gain(piano_mask: np.ndarray) -> np.ndarray:
    """Single-channel Wiener gain from a soft mask: ratio of the two estimated powers.

    Notebook: ``03_signal_reconstruction``.
    """
    return sharpen_mask(piano_mask, 2.0)


def smooth_mask(mask: np.ndarray, size=(3, 3)) -> np.ndarray:
    """Median-filter a mask ``(freq, frames)`` over ``size = (frames, bins)`` (artifact reduction).

    Notebook: ``03_signal_reconstruction``.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((5, 5)); m[2, 2] = 1.0  # one isolated peak: a "musical noise" chirp
    >>> float(smooth_mask(m).max())
    0.0
    """
    from scipy.ndimage import median_filter

    frames, bins = size
    return median_filter(mask, size=(1,) * (mask.ndim - 2) + (bins, frames), mode="nearest")


def multichannel_wiener(X: np.ndarray, piano_mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """Piano STFT by multichannel Wiener filtering with EM (:func:`norbert.wiener`).

    Notebook: ``03_signal_reconstruction``.

    Parameters
    ----------
    X : np.ndarray [shape=(channels, freq, frames) or (freq, frames)], complex
        Mixture STFT.
    piano_mask : np.ndarray [shape=(freq, frames)]
        Soft piano mask (shared by the channels): the starting magnitudes are
        ``piano_mask * |X_c|`` and ``(1 - piano_mask) * |X_c|`` per channel ``c``.
    iterations : int
        EM iterations (0 = the soft mask itself).

    Returns
    -------
    np.ndarray, complex, same shape as ``X``: the piano's STFT.
    """
    import norbert

    x = X.T[:, :, None] if X.ndim == 2 else np.transpose(X, (2, 1, 0))  # norbert wants (frames, bins, channels)
    m = piano_mask.T[:, :, None]
    v = np.stack([m * np.abs(x), (1.0 - m) * np.abs(x)], axis=-1).astype(np.float32)
    piano = norbert.wiener(v, x.astype(np.complex64), iterations=iterations)[..., 0]
    return piano[:, :, 0].T if X.ndim == 2 else np.transpose(piano, (2, 1, 0))


def mixture_and_mask(y: np.ndarray, sr: int, method: str = "model", net=None, **kwargs):
    """The mixture STFT and the piano mask a separator puts on it (for looking at masks).

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono mixture.
    sr : int
    method : {"model", "hpss"}
    net : MaskNet, optional
        With ``method="model"``: the network (default: the shipped weights).
    **kwargs
        Passed to :func:`hpss_masks`.

    Returns
    -------
    X : np.ndarray [shape=(freq, frames)], complex
        STFT of ``y`` (at :data:`concerto_nb.model.SR` for the network, at ``sr`` for HPSS).
    piano_mask : np.ndarray, same shape, in [0, 1]
    sr_X, hop : int
        Sample rate and hop of that STFT.
    """
    import librosa

    from . import model

    if method == "model":
        X, mask = model.stft_and_mask(y, sr, net)
        return X, mask, model.SR, model.HOP
    n_fft, hop = _stft_params(sr)
    X = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop)
    return X, hpss_masks(np.abs(X), sr, hop, **kwargs)[0], sr, hop


def warped_pianist(pianist: np.ndarray, sr: int, time_map: np.ndarray, *, n_frames: int, start_s: float = 0.0,
                   cents: float = 0.0):
    """The pianist's magnitude spectrogram on the concerto's frames, at the concerto's pitch.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    pianist : np.ndarray [shape=(n,) or (channels, n)]
        The pianist's recording at ``sr``.
    sr : int
    time_map : np.ndarray [shape=(K, 2) or (K, 3)]
        Concerto time -> pianist time, in seconds (:func:`concerto_nb.sync.align`; a third column numbers the
        segments of a map that jumps, :func:`concerto_nb.sync.time_map_with_jumps`).
    n_frames : int
        Frames of the network's STFT (:data:`concerto_nb.model.HOP` at :data:`concerto_nb.model.SR`, centred) to
        fill, the first at ``start_s`` seconds of the concerto.
    cents : float
        How far above the concerto the pianist plays; their spectrum is read at ``f * 2 ** (cents / 1200)``.

    Returns
    -------
    P : np.ndarray [shape=(1025, n_frames)], float32
        Magnitudes, zero where the pianist plays nothing of the concerto.
    covered : np.ndarray [shape=(n_frames,)], bool
        Frames the map places in the pianist's recording (the first take, where the pianist played them twice).

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> P, covered = warped_pianist(y, 22050, np.array([[0.0, 0.0], [0.5, 1.0]]), n_frames=40)
    >>> P.shape, int(covered.sum())
    ((1025, 40), 22)
    """
    import librosa

    from . import io, model

    t = start_s + np.arange(n_frames) * model.HOP / model.SR
    # the pianist's time of every concerto frame, from the first segment of the map that covers it
    tau = np.full(n_frames, np.nan)
    for piece in io.time_map_segments(time_map):
        inside = np.isnan(tau) & (t >= piece[0, 0]) & (t <= piece[-1, 0])
        tau[inside] = np.interp(t[inside], piece[:, 0], piece[:, 1])
    covered = ~np.isnan(tau)
    P = np.zeros((model.N_FFT // 2 + 1, n_frames), dtype=np.float32)
    pianist = io.to_mono(np.asarray(pianist, dtype=np.float32))
    if not covered.any():
        return P, covered
    # only the stretch of the recording these frames need, with a window's margin
    a = max(0, int((np.nanmin(tau) - 0.2) * sr))
    b = min(pianist.shape[-1], int(np.ceil((np.nanmax(tau) + 0.2) * sr)))
    if b - a < 2:
        return P, covered
    Y = np.abs(librosa.stft(io.resample(pianist[a:b], sr, model.SR), n_fft=model.N_FFT, hop_length=model.HOP))
    # the frames at each pianist time
    frames = _between(Y, (tau[covered] - a / sr) * model.SR / model.HOP, axis=1)
    # the pianist's partial at f * r stands for the concerto's at f (r = 2^(cents/1200)); nothing above the top bin
    source = np.arange(Y.shape[0]) * 2 ** (cents / 1200)
    shifted = _between(frames, source, axis=0)
    shifted[source > Y.shape[0] - 1] = 0.0
    P[:, covered] = shifted
    return P, covered


def _between(values: np.ndarray, position: np.ndarray, axis: int) -> np.ndarray:
    """``values`` at fractional indices ``position`` along ``axis`` (0 or 1): linear between the two neighbours,
    the positions clipped to the array."""
    position = np.clip(position, 0, values.shape[axis] - 1)
    lo = np.floor(position).astype(int)
    hi = np.minimum(lo + 1, values.shape[axis] - 1)
    w = (position - lo).astype(np.float32)
    if axis == 0:
        return values[lo] * (1 - w[:, None]) + values[hi] * w[:, None]
    return values[:, lo] * (1 - w) + values[:, hi] * w


def pianist_side_information(y: np.ndarray, sr: int, pianist: np.ndarray, pianist_sr: int, *, time_map=None,
                             net=None, progress: bool = False):
    """What informed separation needs beside the concerto: the map from the concerto to the pianist's recording
    and how many cents the pianist plays above it.

    Notebook: ``01_source_separation``.

    Without ``time_map``, the concerto is separated blindly and its piano aligned to the pianist
    (:func:`concerto_nb.sync.align`, which also gives the pitch difference, a transposition included); with one,
    only the tunings are compared (:func:`librosa.estimate_tuning`, within a semitone).

    Returns
    -------
    time_map : np.ndarray [shape=(K, 2) or (K, 3)]
        Concerto seconds -> pianist seconds (a third column numbers the segments of a map with jumps).
    cents : float
    """
    import librosa

    from . import io, sync

    if time_map is not None:
        tuning = [librosa.estimate_tuning(y=io.resample(io.to_mono(a), rate, sync.SYNC_SR), sr=sync.SYNC_SR)
                  for a, rate in ((y, sr), (pianist, pianist_sr))]
        return np.asarray(time_map, dtype=float), 100.0 * float(tuning[1] - tuning[0])
    piano, _ = separate(y, sr, net=net, progress=progress)
    ref = io.resample(io.to_mono(piano), sr, sync.SYNC_SR)
    perf = io.resample(io.to_mono(pianist), pianist_sr, sync.SYNC_SR)
    time_map, details = sync.align(ref, perf, mixture=io.resample(io.to_mono(y), sr, sync.SYNC_SR),
                                   return_details=True)
    if details["jumps"]:
        time_map = sync.time_map_with_jumps(time_map, details["jumps"])
    return time_map, float(details["pitch_difference_cents"])


def separate(y: np.ndarray, sr: int, *, method: str = "model", reconstruction: str = "mask", adapt: bool = False,
             piano_only=None, orchestra_only=None, chunk_s: float | None = None, progress: bool = False, net=None,
             smooth=None, pianist=None, pianist_sr: int | None = None, time_map=None, pianist_cents=None,
             **kwargs):
    """Split a concerto recording into piano and orchestra.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        The mixture; channels are processed one by one.
    sr : int
    method : {"model", "hpss"}
        The trained mask network, or the HPSS baseline.
    reconstruction : {"mask", "wiener", "em"}
        With ``method="model"``: soft mask with mixture phase, the single-channel Wiener gain, or
        multichannel Wiener filtering with one EM iteration (:func:`multichannel_wiener`).
    adapt : bool
        With ``method="model"``: fine-tune the network on this recording's own piano-only and
        orchestra-only passages first (:func:`concerto_nb.adaptation.adapt`: about a minute on an excerpt,
        three or four on a whole movement, which holds more solo material to learn from).
    piano_only, orchestra_only : list of (start_s, end_s), optional
        Those passages, if you know them; found automatically otherwise.
    chunk_s : float, optional
        Blocks of this many seconds, each with 2 s of context on both sides (the masks
        look at most 0.5 s away), so memory stays bounded on long recordings. Default 30 s,
        and 120 s with ``reconstruction="em"``: EM estimates where each source sits from its
        whole block, and a block that is half orchestra alone teaches it the orchestra's place
        as the piano's.
    progress : bool
        Show a progress bar over the blocks.
    net : MaskNet, optional
        With ``method="model"``: an already loaded network (e.g. one returned by
        :func:`concerto_nb.adaptation.adapt`) instead of the shipped weights.
    smooth : (frames, bins), optional
        With ``method="model"``: median-filter the mask over this neighbourhood first
        (:func:`smooth_mask`: less musical noise, a little more bleed).
    pianist : np.ndarray [shape=(m,) or (channels, m)], optional
        The user's recording of the piano part, at ``pianist_sr`` (default ``sr``): informed separation. The blind
        network's mask is corrected by :class:`concerto_nb.informed.InformedNet`, which reads the pianist's
        spectrogram warped onto the concerto's frames (:func:`warped_pianist`). With ``method="model"`` only.
    time_map : np.ndarray [shape=(K, 2) or (K, 3)], optional
        Concerto seconds -> pianist seconds (:func:`concerto_nb.sync.align`); computed when not given
        (:func:`pianist_side_information`).
    pianist_cents : float, optional
        How many cents the pianist plays above the concerto; estimated when not given.
    **kwargs
        Passed to :func:`hpss_masks` (``method="hpss"``) or :func:`concerto_nb.model.load_model`
        (``weights=PATH``, ``method="model"``).

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

    if method not in METHODS:
        raise ValueError(f"unknown separation method {method!r}; choose from {METHODS}")
    if reconstruction not in RECONSTRUCTIONS:
        raise ValueError(f"unknown reconstruction {reconstruction!r}; choose from {RECONSTRUCTIONS}")
    from ._arrays import check_audio, check_sample_rate

    y, sr = check_audio(y), check_sample_rate(sr)
    duration = y.shape[-1] / sr
    for name, passages in (("piano_only", piano_only), ("orchestra_only", orchestra_only)):
        for a, b in passages or ():
            if not 0 <= a < b <= duration + 0.5:
                raise ValueError(f"{name} passage {a:g}-{b:g} s lies outside the recording (0-{duration:.1f} s)")
    if adapt and duration < MIN_ADAPT_S:
        raise ValueError(f"test-time adaptation needs at least {MIN_ADAPT_S:.0f} s of audio, got {duration:.2f} s")
    if pianist is not None:
        if method != "model":
            raise ValueError("informed separation corrects the network's mask: it needs method 'model'")
        pianist_sr = check_sample_rate(pianist_sr or sr)
        pianist = check_audio(pianist)
        if time_map is not None:
            time_map = np.asarray(time_map, dtype=float)
            if time_map.ndim != 2 or time_map.shape[1] not in (2, 3) or not np.isfinite(time_map).all():
                raise ValueError("time_map must be rows of finite (concerto_s, pianist_s[, segment])")
            if time_map[:, 0].max() > duration + 0.5:
                raise ValueError(f"the time map reaches {time_map[:, 0].max():.2f} s of the concerto, which lasts "
                                 f"{duration:.2f} s: was it made for this recording?")
    if method == "model":
        from . import model

        net = net or model.load_model(kwargs.pop("weights", None))
        if adapt:
            from .adaptation import adapt as adapt_to

            net, _ = adapt_to(y, sr, net, piano_only=piano_only, orchestra_only=orchestra_only, progress=progress)
        side = None
        if pianist is not None:
            from .informed import load_informed

            if time_map is None or pianist_cents is None:
                found_map, found_cents = pianist_side_information(y, sr, pianist, pianist_sr, time_map=time_map,
                                                                  net=net, progress=progress)
                time_map = found_map if time_map is None else time_map
                pianist_cents = found_cents if pianist_cents is None else pianist_cents
            side = {"pianist": pianist, "sr": pianist_sr, "time_map": np.asarray(time_map, dtype=float),
                    "cents": float(pianist_cents), "net": load_informed()}
        block_fn = lambda b, start_s: _separate_block_model(b, sr, net, reconstruction, smooth, side,  # noqa: E731
                                                             start_s)
    else:
        block_fn = lambda b, start_s: _separate_block_hpss(b, sr, **kwargs)  # noqa: E731
    # blocks and margins on the STFT hop grid give the same frames, so the same masks, as one piece
    if chunk_s is None:
        chunk_s = 120.0 if reconstruction == "em" else 30.0
    hop = _stft_params(sr)[1]
    n, margin = y.shape[-1], hop * int(2.0 * sr / hop)
    block = n if not np.isfinite(chunk_s) else hop * max(1, int(chunk_s * sr / hop))
    piano = np.empty_like(y)
    orchestra = np.empty_like(y)
    starts = range(0, n, block)
    for a in tqdm(starts, desc="separate", unit="block", disable=not progress, leave=False):
        b = min(n, a + block)
        lo, hi = max(0, a - margin), min(n, b + margin)
        p, o = block_fn(y[..., lo:hi], lo / sr)
        piano[..., a:b] = p[..., a - lo: b - lo]
        orchestra[..., a:b] = o[..., a - lo: b - lo]
    return piano, orchestra


def _separate_block_hpss(y: np.ndarray, sr: int, **kwargs):
    import librosa

    n_fft, hop = _stft_params(sr)
    X = librosa.stft(y, n_fft=n_fft, hop_length=hop)
    piano_mask, orch_mask = hpss_masks(np.abs(X), sr, hop, **kwargs)
    length = y.shape[-1]
    piano = librosa.istft(piano_mask * X, hop_length=hop, n_fft=n_fft, length=length)
    orchestra = librosa.istft(orch_mask * X, hop_length=hop, n_fft=n_fft, length=length)
    return piano.astype(np.float32), orchestra.astype(np.float32)


def _separate_block_model(y: np.ndarray, sr: int, net, reconstruction: str, smooth=None, side=None,
                          start_s: float = 0.0):
    import librosa

    from . import io, model

    y22 = io.resample(y, sr, model.SR)
    X, mask, _, _ = mixture_and_mask(y22, model.SR, "model", net)
    if side is not None:  # the pianist's recording corrects the blind mask (concerto_nb.informed)
        from .informed import informed_mask

        P, covered = warped_pianist(side["pianist"], side["sr"], side["time_map"], n_frames=X.shape[-1],
                                    start_s=start_s, cents=side["cents"])
        if covered.any():  # frames the pianist did not play keep the blind mask
            mono_mag = np.abs(X) if X.ndim == 2 else np.abs(X.mean(axis=0))
            mask = np.where(covered, informed_mask(mask, mono_mag, P, side["net"]), mask)
    if smooth is not None:
        mask = smooth_mask(mask, smooth)
    if reconstruction == "em":
        P = multichannel_wiener(X, mask)
    else:
        P = (wiener_gain(mask) if reconstruction == "wiener" else mask) * X
    piano22 = librosa.istft(P, hop_length=model.HOP, n_fft=model.N_FFT, length=y22.shape[-1])
    piano = io.resample(piano22, model.SR, sr)
    n = y.shape[-1]
    short = max(0, n - piano.shape[-1])
    piano = np.pad(piano, [(0, 0)] * (piano.ndim - 1) + [(0, short)])[..., :n].astype(np.float32)
    return piano, (y - piano).astype(np.float32)
