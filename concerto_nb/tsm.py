"""Stage 4 - time-scale modification: play the orchestra at the pianist's tempo, pitch untouched or moved.

A time map :math:`\\tau` (reference seconds -> performance seconds) becomes libtsm
anchor points in samples. HPS-TSM (Driedger et al. 2014) splits the signal into
harmonic and percussive parts, stretches the harmonic part with a phase vocoder
(which keeps tones clean) and the percussive part with OLA on short windows
(which keeps attacks sharp), and adds them. WSOLA, the plain phase vocoder and
plain OLA (WSOLA without its search for the best-fitting segment) are there for comparison.
``"rubberband"`` hands the map to the Rubber Band library's command-line tool (R2 engine:
a phase vocoder that keeps transients sharp), faster still with the same onset lag on whole
movements (``benchmarks/full_movements.py``); it needs the ``rubberband`` program (Debian package
``rubberband-cli``). HPS-TSM here is libtsm's algorithm with its parameters and output, its frame
loops compiled (``benchmarks/tsm_long.py``: about 4x faster than ``libtsm.hps_tsm``).

The output is exactly as long as the performance: sample :math:`\\tau(t)\\,f_s` of
the output plays what sample :math:`t\\,f_s` of the input played.

A pitch shift by :math:`s` semitones rides on the same pass: the audio is stretched along
:math:`r\\,\\tau` with :math:`r = 2^{s/12}`, then resampled by :math:`1/r` - read :math:`r` times
faster, it is as long as :math:`\\tau` asks and sounds :math:`r` times higher. One phase vocoder
pass, not two.
"""
from __future__ import annotations

import numpy as np

from .sync import map_times

__all__ = ["METHODS", "anchors_from_time_map", "warp"]

METHODS = ("hps", "wsola", "pv", "ola", "rubberband")
#: The most a time map may slow the audio down overall: the output's length, and so the memory, stays bounded by
#: the input's real length. A pianist at half tempo needs 2x; a map asking for more is almost always a wrong map.
MAX_STRETCH = 8.0


def anchors_from_time_map(time_map: np.ndarray, sr: int, n_in: int, n_out: int) -> np.ndarray:
    """libtsm anchor points ``(S, 2)`` in samples: strictly increasing, from (0, 0) to the last samples.

    Notebook: ``05_time_scale_modification``.
    """
    a = np.round(np.asarray(time_map, dtype=float) * sr).astype(int)
    a[0] = 0, 0
    a[-1] = n_in - 1, n_out - 1
    keep = np.concatenate([[True], (np.diff(a[:, 0]) > 0) & (np.diff(a[:, 1]) > 0)])
    a = a[keep]
    if a[-1, 0] != n_in - 1:  # the end was dropped as a repeat: put it back
        a[-1] = n_in - 1, n_out - 1
    return a


def warp(y: np.ndarray, sr: int, time_map: np.ndarray, *, method: str = "hps", chunk_s: float = 30.0,
         semitones: float = 0.0, progress: bool = False) -> np.ndarray:
    """Time-scale ``y`` along ``time_map`` (reference time -> performance time).

    Notebook: ``05_time_scale_modification``.

    Long signals are warped in chunks of at most ``chunk_s`` seconds of reference and of
    performance, each with up to 1 s of context on both sides, and joined with 50 ms cross-fades:
    HPS-TSM needs about 200 bytes per sample, so memory stays bounded whatever the length, and
    a map that holds one moment for a long time (a pause) is cut on the output's axis too.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio on the reference time axis.
    sr : int
    time_map : np.ndarray [shape=(K, 2) or (K, 3)]
        ``[reference_s, performance_s]``, strictly increasing; the last row gives the output duration, and the
        audio after its reference time is not played. A first row other than (0, 0), say (r0, p0), starts the
        output with p0 s of silence and the audio at r0 s. Slowing down by more than :data:`MAX_STRETCH` overall
        is refused. A map that jumps (:func:`concerto_nb.sync.time_map_with_jumps`: a third column numbers its
        segments) plays each segment's stretch of ``y`` in its own span of the output, cross-faded over 50 ms at
        each cut: after a restart the orchestra plays the passage again.
    method : {"hps", "wsola", "pv", "ola", "rubberband"}
    chunk_s : float
        Chunk length in seconds (``np.inf``: one piece; rubberband always works in
        one piece, streaming, in a few MB).
    semitones : float
        Shift the pitch by this much (-12 to 12; 0.3 is 30 cents up), in the same pass.
    progress : bool
        Show a progress bar over the chunks.

    Returns
    -------
    np.ndarray, shape ``(round(time_map[-1, 1] * sr),)`` or ``(channels, ...)``.

    Raises
    ------
    ValueError
        Bad audio (see :func:`concerto_nb.io.load_audio`'s rules), sample rate or time map.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import tsm
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    >>> tsm.warp(y, sr, np.array([[0.0, 0.0], [1.0, 1.5]])).shape
    (33075,)
    >>> up = tsm.warp(y, sr, np.array([[0.0, 0.0], [1.0, 1.5]]), semitones=2.0)
    >>> round(float(np.argmax(np.abs(np.fft.rfft(up)))) * sr / len(up))  # 440 Hz, two semitones up
    494
    """
    from ._arrays import check_audio, check_sample_rate
    from .io import check_time_map, time_map_segments

    if method not in METHODS:
        raise ValueError(f"unknown TSM method {method!r}; choose from {METHODS}")
    if not -12.0 <= semitones <= 12.0:  # also refuses NaN
        raise ValueError(f"semitones must be between -12 and 12, got {semitones}")
    sr = check_sample_rate(sr)
    y2 = np.atleast_2d(check_audio(y))
    time_map = check_time_map(time_map)
    if time_map.shape[1] == 3:  # a map that jumps: each segment on its own, cross-faded at the cuts
        pieces = time_map_segments(time_map)
        if len(pieces) > 1:
            out = _warp_segments(y2, sr, pieces, method=method, chunk_s=chunk_s, semitones=semitones,
                                 progress=progress)
            return out if np.ndim(y) == 2 else out[0]
        time_map = pieces[0]
    (r0, p0), ref_end = time_map[0], y2.shape[1] / sr
    if r0 >= ref_end - 1.0 / sr:
        raise ValueError(f"the time map starts at {r0:.2f} s of reference, but the audio lasts {ref_end:.2f} s")
    stretch = (time_map[-1, 1] - p0) / (min(time_map[-1, 0], ref_end) - r0)
    if stretch > MAX_STRETCH:
        raise ValueError(f"the time map slows the audio down {stretch:.1f}x overall; at most {MAX_STRETCH:.0f}x "
                         "is accepted (is it the map for this recording?)")
    n_out = int(round(time_map[-1, 1] * sr))
    lead = int(round(p0 * sr))
    if n_out - lead < 1:
        raise ValueError("the time map asks for no output at all")
    # a map that starts at (r0, p0): p0 s of silence, then the audio from r0 s on, up to the map's last row
    y2 = y2[:, int(round(r0 * sr)): max(int(round(r0 * sr)) + 1, int(round(time_map[-1, 0] * sr)))]
    time_map = time_map - time_map[0]
    ratio = 2.0 ** (semitones / 12.0)  # each output second plays this many seconds of the stretched audio
    time_map = time_map * [1.0, ratio]
    n_stretched = int(round((n_out - lead) * ratio))
    if method == "rubberband":
        out = _warp_rubberband(y2, sr, time_map, n_stretched)
    elif y2.shape[1] / sr <= 1.5 * chunk_s and time_map[-1, 1] <= 1.5 * chunk_s:
        out = _warp_whole(y2, sr, time_map, method, n_stretched)
    else:
        out = _warp_chunks(y2, sr, time_map, method, n_stretched, chunk_s, progress)
    if ratio != 1.0:  # read ratio times faster: back to the map's length, ratio times higher
        from .io import resample

        out = _exact_length(resample(out, sr * ratio, sr).T, n_out - lead)
    if lead:
        out = np.pad(out, [(0, 0), (lead, 0)])
    return out if np.ndim(y) == 2 else out[0]


def _warp_segments(y2: np.ndarray, sr: int, pieces: list, *, fade_s: float = 0.05, **options) -> np.ndarray:
    """:func:`warp` of ``y2`` ``(channels, n)`` along each piece of a map that jumps, into one output.

    Each piece reaches ``fade_s / 2`` past its cuts along its own first or last tempo, so that the two sides
    of a cut overlap for ``fade_s`` and cross-fade with complementary linear ramps."""
    ref_end, fade = y2.shape[1] / sr, int(round(fade_s * sr))
    out = np.zeros((y2.shape[0], int(round(pieces[-1][-1, 1] * sr))), dtype=np.float32)
    for k, piece in enumerate(pieces):
        head = _extended(piece, -fade_s / 2, ref_end) if k > 0 else None
        tail = _extended(piece, fade_s / 2, ref_end) if k < len(pieces) - 1 else None
        piece = np.vstack([p for p in (head, piece, tail) if p is not None])
        (r0, p0), (r1, _) = piece[0], piece[-1]
        seg = warp(y2[:, int(round(r0 * sr)): int(round(r1 * sr))], sr, piece - [r0, p0], **options)
        start = int(round(p0 * sr))
        seg = seg[:, : out.shape[1] - start]
        weight = np.ones(seg.shape[1], dtype=np.float32)
        if head is not None:  # fade in over the overlap with the piece before
            weight[:fade] = np.linspace(0, 1, fade + 2, dtype=np.float32)[1:-1][: len(weight[:fade])]
        if tail is not None:
            weight[-fade:] = np.minimum(weight[-fade:], np.linspace(1, 0, fade + 2, dtype=np.float32)[1:-1])
        out[:, start: start + seg.shape[1]] += seg * weight
    return out


def _extended(piece: np.ndarray, seconds: float, ref_end: float):
    """The anchor ``seconds`` of performance before the first row (negative) or after the last, along the
    piece's tempo there, as a ``(1, 2)`` row; None where the reference or the output's start leaves no room."""
    (ra, pa), (rb, pb) = (piece[0], piece[1]) if seconds < 0 else (piece[-2], piece[-1])
    slope = (rb - ra) / (pb - pa)  # reference seconds per performance second
    r, p = (ra, pa) if seconds < 0 else (rb, pb)
    row = np.array([r + slope * seconds, p + seconds])
    return row[None] if 0 <= row[0] <= ref_end and row[1] >= 0 else None


def _warp_chunks(y2: np.ndarray, sr: int, time_map: np.ndarray, method: str, n_out: int, chunk_s: float,
                 progress: bool) -> np.ndarray:
    """:func:`_warp_whole` on chunks of ``chunk_s`` s with 1 s of context, cross-faded 50 ms at the cuts.

    Two chunks are warped at a time, in threads: HPS-TSM's FFTs and compiled loops release the GIL.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    ref_end, perf_end = y2.shape[1] / sr, n_out / sr
    margin, fade = 1.0, int(0.05 * sr)
    to_perf = lambda t: float(map_times(time_map, t))  # noqa: E731
    to_ref = lambda t: float(np.interp(t, time_map[:, 1], time_map[:, 0]))  # noqa: E731
    # cut every chunk_s on both axes, so that no chunk reads or writes more than chunk_s (+ margins)
    cuts = np.concatenate([np.arange(chunk_s, ref_end - chunk_s / 2, chunk_s),
                           [to_ref(t) for t in np.arange(chunk_s, perf_end - chunk_s / 2, chunk_s)]])
    cuts = np.unique(np.concatenate([[0.0], cuts[(cuts > 0.05) & (cuts < ref_end - 0.05)], [ref_end]]))
    cuts = cuts[np.concatenate([np.diff(cuts) > 1e-3, [True]])]  # a chunk reads at least 1 ms

    def one(i):
        # 1 s of context on each side, or less where 1 s of reference would be more than 1 s of performance
        ra = max(0.0, cuts[i] - margin, to_ref(to_perf(cuts[i]) - margin))
        rb = min(ref_end, cuts[i + 1] + margin, to_ref(to_perf(cuts[i + 1]) + margin))
        pa, pb = to_perf(ra), to_perf(rb)
        inner = time_map[(time_map[:, 0] > ra) & (time_map[:, 0] < rb)]
        local = np.vstack([[ra, pa], inner, [rb, pb]]) - [ra, pa]
        start = int(round(pa * sr))
        return start, _warp_whole(y2[:, int(round(ra * sr)): int(round(rb * sr))], sr, local, method,
                                  min(int(round((pb - pa) * sr)), n_out - start))

    out = np.zeros((y2.shape[0], n_out), dtype=np.float32)
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        chunks = pool.map(one, range(len(cuts) - 1))
        for i, (start, seg) in enumerate(tqdm(chunks, total=len(cuts) - 1, desc="warp", unit="chunk",
                                               disable=not progress, leave=False)):
            # complementary linear ramps centred on the cut points, in performance samples
            idx = np.arange(start, start + seg.shape[1])
            weight = np.ones(len(idx), dtype=np.float32)
            if i > 0:
                weight *= np.clip((idx - (to_perf(cuts[i]) * sr - fade / 2)) / fade, 0, 1)
            if i < len(cuts) - 2:
                weight *= np.clip(((to_perf(cuts[i + 1]) * sr + fade / 2) - idx) / fade, 0, 1)
            out[:, start: start + seg.shape[1]] += seg * weight
    return out


def _warp_whole(y: np.ndarray, sr: int, time_map: np.ndarray, method: str, n_out: int) -> np.ndarray:
    """libtsm on ``y`` ``(channels, n)`` in one piece; output ``(channels, n_out)`` exactly."""
    import libtsm

    n_in = y.shape[1]
    anchors = anchors_from_time_map(time_map, sr, n_in, n_out)
    x = y.T.astype(np.float64)  # libtsm wants (samples, channels)
    if method == "hps":
        out = _hps_tsm(y, anchors)
    elif method == "wsola":
        out = libtsm.wsola_tsm(x, anchors)
    elif method == "ola":
        out = libtsm.wsola_tsm(x, anchors, tol=0)
    else:
        out = libtsm.pv_tsm(x, anchors, Fs=sr)
    return _exact_length(np.asarray(out).reshape(len(out), -1), n_out)


def _warp_rubberband(y: np.ndarray, sr: int, time_map: np.ndarray, n_out: int) -> np.ndarray:
    """The ``rubberband`` CLI (R2 engine) with ``--timemap``; output ``(channels, n_out)`` exactly.

    Its own pitch shift (``-p``) is not used: with a time map its output is further from the original than
    with the shift folded into the map (``benchmarks/pitch_shift.py``)."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    import soundfile as sf

    exe = shutil.which("rubberband")
    if exe is None:
        raise RuntimeError("method 'rubberband' needs the rubberband program (Debian: apt install rubberband-cli); "
                           "or use method 'hps'")
    anchors = anchors_from_time_map(time_map, sr, y.shape[1], n_out)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, key = Path(tmp, "in.wav"), Path(tmp, "out.wav"), Path(tmp, "map.txt")
        sf.write(src, y.T, sr, subtype="FLOAT")
        np.savetxt(key, anchors[1:-1], fmt="%d")  # "input_sample output_sample" per line
        # -2: the R2 engine (R3 with a time map can return the wrong length); -t: the overall ratio
        cmd = [exe, "-2", "-q", "--timemap", str(key), "-t", f"{n_out / y.shape[1]:.9f}", str(src), str(dst)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"rubberband failed: {done.stderr.strip()[-500:]}")
        out, _ = sf.read(dst, dtype="float32", always_2d=True)
    return _exact_length(out, n_out)


def _exact_length(out: np.ndarray, n_out: int) -> np.ndarray:
    """``(samples, channels)`` from a TSM tool, cut or zero-padded to ``n_out``, as ``(channels, n_out)`` float32."""
    out = out[:n_out] if len(out) >= n_out else np.pad(out, [(0, n_out - len(out)), (0, 0)])
    return out.T.astype(np.float32)


# --- HPS-TSM: libtsm's hps_tsm (same parameters, same output to ~1e-11), vectorised and compiled ---
# libtsm loops over frames in Python (10 min of 44.1 kHz stereo: 83 s, benchmarks/tsm_long.py). Here the
# STFTs are batched, the median filters and the phase vocoder's frame loop are numba kernels
# (`_tsm_kernels`; numba is here anyway for synctoolbox); tests/test_tsm.py checks against libtsm.

def _sin_window(n: int, beta: int = 2) -> np.ndarray:
    return np.sin(np.pi * np.arange(n) / n) ** beta


def _windowed_frames(x: np.ndarray, starts: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``(frames, len(window))``: ``x`` with ``len(window) // 2`` zeros in front, cut at ``starts``, windowed."""
    n = len(window)
    padded = np.zeros(max(int(starts.max()) + n, n // 2 + len(x)))
    padded[n // 2: n // 2 + len(x)] = x
    return np.lib.stride_tricks.sliding_window_view(padded, n)[starts] * window


def _overlap_add(frames: np.ndarray, hop: int, window: np.ndarray, norm: np.ndarray, n_out: int) -> np.ndarray:
    """Frames ``(M, L)`` times ``window``, added at ``hop``, divided by the added ``norm`` windows; the first
    ``L // 2`` samples dropped (the analysis padding), ``n_out`` kept."""
    m, n = frames.shape
    r = n // hop
    out, weight = np.zeros((m + r) * hop), np.zeros((m + r) * hop)
    parts = (frames * window).reshape(m, r, hop)
    for j in range(r):
        out[j * hop: (j + m) * hop] += parts[:, j].reshape(-1)
        weight[j * hop: (j + m) * hop] += np.tile(norm[j * hop: (j + 1) * hop], m)
    weight[weight < 1e-3] = 1
    return (out / weight)[n // 2: n // 2 + n_out]


def _istft(spec: np.ndarray, hop: int, window: np.ndarray, n_out: int) -> np.ndarray:
    import scipy.fft

    return _overlap_add(scipy.fft.irfft(spec, n=len(window), axis=1, workers=2), hop, window, window ** 2, n_out)


def _hps(x: np.ndarray, hop: int = 256, n_fft: int = 1024, median: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive parts of ``x`` (libtsm ``hps``: binary masks from median filters)."""
    import scipy.fft

    window = _sin_window(n_fft)
    starts = np.arange((n_fft // 2 + len(x) + hop + 1) // hop + 1) * hop
    spec = scipy.fft.rfft(_windowed_frames(x, starts, window), axis=1, workers=2)  # (frames, bins)
    mag = np.abs(spec)
    from ._tsm_kernels import median_filter

    harmonic = median_filter(mag, median, 0) > median_filter(mag, median, 1)
    return _istft(spec * harmonic, hop, window, len(x)), _istft(spec * ~harmonic, hop, window, len(x))


def _analysis_starts(anchors: np.ndarray, syn_hop: int, n_win: int) -> np.ndarray:
    """Where each synthesis frame reads the input: the anchors' piecewise-linear map, extrapolated."""
    import scipy.interpolate

    syn = np.arange(0, anchors[-1, 1] + 1 + n_win // 2, syn_hop)
    inverse = scipy.interpolate.interp1d(anchors[:, 1], anchors[:, 0], kind="linear", fill_value="extrapolate")
    return np.round(inverse(syn)).astype(int)


def _pv_tsm(x: np.ndarray, anchors: np.ndarray, syn_hop: int = 512, n_fft: int = 2048) -> np.ndarray:
    """Phase vocoder with identity phase locking (libtsm ``pv_tsm(..., phase_locking=True)``)."""
    import scipy.fft

    from ._tsm_kernels import locked_phase_shifts

    window = _sin_window(n_fft)
    starts = _analysis_starts(anchors, syn_hop, n_fft)
    spec = scipy.fft.rfft(_windowed_frames(x, starts, window), axis=1, workers=2)
    theta = locked_phase_shifts(np.abs(spec), np.angle(spec), np.diff(starts).astype(float), n_fft, syn_hop)
    return _istft(np.exp(1j * theta) * spec, syn_hop, window, anchors[-1, 1] + 1)


def _ola_tsm(x: np.ndarray, anchors: np.ndarray, syn_hop: int = 128, n_win: int = 256) -> np.ndarray:
    """Overlap-add of short windows (libtsm ``wsola_tsm(..., tol=0)``)."""
    window = _sin_window(n_win)
    starts = _analysis_starts(anchors, syn_hop, n_win)
    starts[-1] = starts[-2]  # libtsm's last frame reads the second-to-last analysis position
    frames = _windowed_frames(x, starts, np.ones(n_win))
    return _overlap_add(frames, syn_hop, window, window, anchors[-1, 1] + 1)


def _hps_tsm(x: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """HPS-TSM of ``x`` ``(channels, n)`` along libtsm anchors; ``(samples, channels)`` like libtsm."""
    out = []
    for channel in np.atleast_2d(x).astype(np.float64):
        harmonic, percussive = _hps(channel)
        out.append(_pv_tsm(harmonic, anchors) + _ola_tsm(percussive, anchors))
    return np.stack(out, axis=1)
