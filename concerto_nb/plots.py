"""Figures for the notebooks: spectrograms with masks, cost matrices with DTW paths, time maps.

Every function draws one figure with matplotlib and returns it, so a notebook cell is one call and
a widget can redraw it; nothing here computes anything a stage module does not already provide.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_masks", "plot_informed_masks", "plot_cost_matrix", "plot_time_map", "plot_confidence",
           "plot_spectrograms", "cost_matrix"]


def _db(X: np.ndarray) -> np.ndarray:
    mag = np.abs(X)
    return 20 * np.log10(np.maximum(mag, 1e-5 * max(mag.max(), 1e-12)))


def _extent(n_frames: int, n_bins: int, sr: int, hop: int, t0: float = 0.0):
    return [t0, t0 + n_frames * hop / sr, 0, sr / 2 / 1000]


def plot_masks(X: np.ndarray, piano_mask: np.ndarray, sr: int, hop: int, time_range=None, fmax_khz: float = 5.0):
    """Mixture spectrogram, piano mask, and the two masked spectrograms, one above the other.

    Parameters
    ----------
    X
        Mixture STFT ``(freq, frames)``.
    piano_mask
        Piano mask, same shape, in [0, 1]; the orchestra mask is ``1 - piano_mask``.
    sr, hop
        Sample rate and hop of the STFT.
    time_range
        ``(start_s, end_s)`` to show (default: all).
    fmax_khz
        Top of the frequency axis.

    Returns
    -------
    fig
        matplotlib Figure.
    """
    a, b = _frames(X.shape[1], sr, hop, time_range)
    Xs, Ms = X[:, a:b], piano_mask[:, a:b]
    mix_db = _db(Xs)
    return _stacked([
        (mix_db, "mixture |X| (dB)", "magma"),
        (Ms, "piano mask M", "gray_r"),
        (_db(Ms * Xs), "piano estimate |M X| (dB)", "magma"),
        (_db((1 - Ms) * Xs), "orchestra estimate |(1-M) X| (dB)", "magma"),
    ], mix_db.max(), _extent(b - a, X.shape[0], sr, hop, a * hop / sr), fmax_khz)


def plot_informed_masks(X: np.ndarray, pianist: np.ndarray, blind_mask: np.ndarray, informed_mask: np.ndarray, sr: int,
                        hop: int, *, time_range=None, fmax_khz: float = 5.0):
    """Mixture spectrogram, the pianist's recording warped onto it, and the blind and informed piano masks.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    X : np.ndarray [shape=(freq, frames)]
        Mixture STFT.
    pianist : np.ndarray [shape=(freq, frames)]
        The pianist's magnitudes on the mixture's frames (:func:`concerto_nb.separation.warped_pianist`).
    blind_mask, informed_mask : np.ndarray [shape=(freq, frames)], in [0, 1]
    sr, hop : int
        Sample rate and hop of the STFT.
    time_range : (start_s, end_s), optional
    fmax_khz : float

    Returns
    -------
    fig : matplotlib Figure
    """
    a, b = _frames(X.shape[1], sr, hop, time_range)
    mix_db = _db(X[:, a:b])
    pianist_db = _db(pianist[:, a:b])
    return _stacked([
        (mix_db, "concerto |X| (dB)", "magma"),
        (pianist_db - pianist_db.max() + mix_db.max(), "the pianist's recording, warped onto it (dB)", "magma"),
        (blind_mask[:, a:b], "blind piano mask", "gray_r"),
        (informed_mask[:, a:b], "informed piano mask", "gray_r"),
    ], mix_db.max(), _extent(b - a, X.shape[0], sr, hop, a * hop / sr), fmax_khz)


def _frames(n_frames: int, sr: int, hop: int, time_range):
    """The first and last frame + 1 of ``time_range`` (all frames for None)."""
    if time_range is None:
        return 0, n_frames
    a = max(0, int(time_range[0] * sr / hop))
    return a, min(n_frames, max(a + 1, int(time_range[1] * sr / hop)))


def _stacked(panels, top_db: float, extent, fmax_khz: float):
    """Images one above the other, sharing the axes: (image, title, cmap) each; dB images span 80 dB below
    ``top_db``, masks (``gray_r``) 0 to 1."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.25 * len(panels)), sharex=True, sharey=True,
                             layout="constrained")
    for ax, (img, title, cmap) in zip(axes, panels):
        lo, hi = (0.0, 1.0) if cmap == "gray_r" else (top_db - 80, top_db)
        im = ax.imshow(img, origin="lower", aspect="auto", extent=extent, cmap=cmap, vmin=lo, vmax=hi,
                       interpolation="nearest")
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_ylabel("kHz")
        fig.colorbar(im, ax=ax, pad=0.01)
    axes[0].set_ylim(0, fmax_khz)
    axes[-1].set_xlabel("time (s)")
    return fig


def plot_spectrograms(signals: dict, sr: int, n_fft: int = 2048, fmax_khz: float = 5.0):
    """One dB spectrogram per signal, side by side (e.g. a TSM comparison).

    Parameters
    ----------
    signals
        ``{name: mono waveform}``.
    sr
        Sample rate.
    n_fft
        STFT size (hop ``n_fft // 4``).
    fmax_khz
        Top of the frequency axis.

    Returns
    -------
    fig
        matplotlib Figure.
    """
    import librosa
    import matplotlib.pyplot as plt

    hop = n_fft // 4
    fig, axes = plt.subplots(1, len(signals), figsize=(3.2 * len(signals), 3), sharey=True, layout="constrained",
                             squeeze=False)
    for ax, (name, y) in zip(axes[0], signals.items()):
        X = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop)
        db = _db(X)
        ax.imshow(db, origin="lower", aspect="auto", extent=_extent(X.shape[1], X.shape[0], sr, hop),
                  cmap="magma", vmin=db.max() - 70, vmax=db.max(), interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("time (s)")
    axes[0, 0].set_ylabel("kHz")
    axes[0, 0].set_ylim(0, fmax_khz)
    return fig


def cost_matrix(chroma_reference: np.ndarray, chroma_performance: np.ndarray, step: int = 1) -> np.ndarray:
    """Cosine distance ``1 - <x, y> / (|x| |y|)`` between every pair of chroma frames.

    Parameters
    ----------
    chroma_reference, chroma_performance
        ``(12, N)`` and ``(12, M)`` chroma features.
    step
        Keep every ``step``-th frame (the matrix grows as N x M).

    Returns
    -------
    C
        ``(N // step, M // step)`` array in [0, 1] for non-negative chroma.
    """
    a = chroma_reference[:, ::step]
    b = chroma_performance[:, ::step]
    a = a / np.maximum(np.linalg.norm(a, axis=0, keepdims=True), 1e-9)
    b = b / np.maximum(np.linalg.norm(b, axis=0, keepdims=True), 1e-9)
    return 1.0 - a.T @ b


def plot_cost_matrix(details: dict, time_map=None, ground_truth=None, feature_rate: float = 50.0,
                     time_range=None, max_frames: int = 1500):
    """Chroma cost matrix with the DTW path, the final time map and (optionally) the truth.

    Parameters
    ----------
    details
        From ``sync.align(..., return_details=True)``: chroma features and the path.
    time_map
        The returned ``[reference_s, performance_s]`` map (thinned, rests interpolated).
    ground_truth
        A known ``[reference_s, performance_s]`` map to compare with.
    feature_rate
        Chroma frames per second.
    time_range
        ``(start_s, end_s)`` of the reference to show (the performance axis follows).
    max_frames
        The shown matrix is subsampled to at most this many frames per axis.

    Returns
    -------
    fig
        matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    c1, c2 = details["chroma_reference"], details["chroma_performance"]
    path = details["path"] / feature_rate
    t1, t2 = c1.shape[1] / feature_rate, c2.shape[1] / feature_rate
    lo1, hi1 = (0.0, t1) if time_range is None else (max(0.0, time_range[0]), min(t1, time_range[1]))
    # the performance window: where the path goes while the reference is in [lo1, hi1]
    on = (path[0] >= lo1) & (path[0] <= hi1)
    lo2, hi2 = (path[1][on].min(), path[1][on].max()) if on.any() else (0.0, t2)
    pad = 0.05 * (hi1 - lo1)
    lo2, hi2 = max(0.0, lo2 - pad), min(t2, hi2 + pad)
    i1 = slice(int(lo1 * feature_rate), max(int(lo1 * feature_rate) + 1, int(hi1 * feature_rate)))
    i2 = slice(int(lo2 * feature_rate), max(int(lo2 * feature_rate) + 1, int(hi2 * feature_rate)))
    step = max(1, int(np.ceil(max(i1.stop - i1.start, i2.stop - i2.start) / max_frames)))
    C = cost_matrix(c1[:, i1], c2[:, i2], step)
    fig, ax = plt.subplots(figsize=(7, 6), layout="constrained")
    im = ax.imshow(C.T, origin="lower", aspect="auto", cmap="gray", extent=[lo1, hi1, lo2, hi2],
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label="cosine distance of chroma")
    ax.plot(path[0], path[1], color="tab:orange", lw=1.2, label="warping path")
    if time_map is not None:
        ax.plot(time_map[:, 0], time_map[:, 1], ".", color="tab:blue", ms=3, label="time map (anchors)")
    if ground_truth is not None:
        ax.plot(ground_truth[:, 0], ground_truth[:, 1], "--", color="tab:green", lw=1.2, label="ground truth")
    ax.set_xlim(lo1, hi1)
    ax.set_ylim(lo2, hi2)
    ax.set_xlabel("concerto recording (s)")
    ax.set_ylabel("pianist's recording (s)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_time_map(time_map: np.ndarray, ground_truth=None, events=None, *, unsure=None):
    """The time map and the local tempo ratio it implies, optionally against the truth.

    Parameters
    ----------
    time_map
        ``[reference_s, performance_s]`` anchors.
    ground_truth
        The known map, if any.
    events
        ``[reference_s, performance_s]`` of onsets: their alignment errors are drawn below.
    unsure
        ``[start_s, end_s, ...]`` rows in reference seconds, e.g. ``details["unsure_passages"]`` of
        :func:`~concerto_nb.sync.align`: shaded on every panel.

    Returns
    -------
    fig
        matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from .sync import map_times

    rows = 3 if events is not None else 2
    fig, axes = plt.subplots(rows, 1, figsize=(10, 2.6 * rows), sharex=True, layout="constrained")
    axes[0].plot(time_map[:, 0], time_map[:, 1], label="estimated")
    if ground_truth is not None:
        axes[0].plot(ground_truth[:, 0], ground_truth[:, 1], "--", label="ground truth")
    axes[0].set_ylabel("pianist time (s)")
    axes[0].legend(fontsize=8)
    ratio = np.diff(time_map[:, 1]) / np.diff(time_map[:, 0])
    axes[1].step(time_map[1:, 0], ratio, where="pre", label="estimated")
    if ground_truth is not None:
        gt_ratio = np.diff(ground_truth[:, 1]) / np.diff(ground_truth[:, 0])
        axes[1].plot(ground_truth[1:, 0], gt_ratio, "--", label="ground truth")
    axes[1].set_ylabel("stretch (pianist / concerto)")
    axes[1].set_ylim(0, max(2.0, float(np.percentile(ratio, 99)) * 1.1))
    if events is not None:
        err_ms = 1000 * (map_times(time_map, events[:, 0]) - events[:, 1])
        axes[2].plot(events[:, 0], err_ms, ".", ms=4)
        axes[2].axhspan(-50, 50, color="tab:green", alpha=0.15, label="within 50 ms")
        axes[2].set_ylabel("onset error (ms)")
    spans = np.asarray([] if unsure is None else unsure, dtype=float)
    for start, end in (spans.reshape(-1, spans.shape[-1])[:, :2] if spans.size else []):
        for ax in axes:
            ax.axvspan(start, end, color="tab:orange", alpha=0.2, label="unsure" if ax is axes[-1] else None)
    if events is not None or unsure is not None:
        axes[-1].legend(fontsize=8)
    axes[-1].set_xlabel("concerto recording (s)")
    return fig


def plot_confidence(per_second: np.ndarray, threshold: float | None = None):
    """Per-second alignment confidence (NaN where the pianist is silent) with the warning threshold.

    Parameters
    ----------
    per_second
        From ``details["confidence_per_second"]``.
    threshold
        Draw a line here (e.g. ``sync.MIN_CONFIDENCE``).

    Returns
    -------
    fig
        matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 2.4), layout="constrained")
    t = np.arange(len(per_second))
    ax.bar(t, np.nan_to_num(per_second), width=1.0, align="edge", color="tab:blue")
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", lw=1, label=f"threshold {threshold}")
        ax.legend(fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("concerto recording (s)")
    ax.set_ylabel("confidence")
    return fig
