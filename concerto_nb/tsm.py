"""Stage 4 - time-scale modification: play the orchestra at the pianist's tempo, pitch untouched.

A time map :math:`\\tau` (reference seconds -> performance seconds) becomes libtsm
anchor points in samples. HPS-TSM (Driedger et al. 2014) splits the signal into
harmonic and percussive parts, stretches the harmonic part with a phase vocoder
(which keeps tones clean) and the percussive part with OLA on short windows
(which keeps attacks sharp), and adds them. WSOLA, the plain phase vocoder and
plain OLA (WSOLA without its search for the best-fitting segment) are there for comparison.
``"rubberband"`` hands the map to the Rubber Band library's command-line tool (R2 engine:
a phase vocoder that keeps transients sharp), about 5x faster than HPS-TSM with the same
onset lag on whole movements (``benchmarks/full_movements.py``); it needs the ``rubberband``
program (Debian package ``rubberband-cli``).

The output is exactly as long as the performance: sample :math:`\\tau(t)\\,f_s` of
the output plays what sample :math:`t\\,f_s` of the input played.
"""
from __future__ import annotations

import numpy as np

from .sync import map_times

__all__ = ["METHODS", "anchors_from_time_map", "warp"]

METHODS = ("hps", "wsola", "pv", "ola", "rubberband")


def anchors_from_time_map(time_map: np.ndarray, sr: int, n_in: int, n_out: int) -> np.ndarray:
    """libtsm anchor points ``(S, 2)`` in samples: strictly increasing, from (0, 0) to the last samples."""
    a = np.round(np.asarray(time_map, dtype=float) * sr).astype(int)
    a[0] = 0, 0
    a[-1] = n_in - 1, n_out - 1
    keep = np.concatenate([[True], (np.diff(a[:, 0]) > 0) & (np.diff(a[:, 1]) > 0)])
    a = a[keep]
    if a[-1, 0] != n_in - 1:  # the end was dropped as a repeat: put it back
        a[-1] = n_in - 1, n_out - 1
    return a


def warp(y: np.ndarray, sr: int, time_map: np.ndarray, method: str = "hps", chunk_s: float = 30.0,
         progress: bool = False) -> np.ndarray:
    """Time-scale ``y`` along ``time_map`` (reference time -> performance time).

    Long signals are warped in chunks of about ``chunk_s`` seconds of reference, each with
    1 s of context on both sides, and joined with 50 ms cross-fades: HPS-TSM needs about
    200 bytes per input sample, so memory stays bounded whatever the length.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio on the reference time axis.
    sr : int
    time_map : np.ndarray [shape=(K, 2)]
        ``[reference_s, performance_s]``, strictly increasing, starting at (0, 0); the
        last row gives the output duration.
    method : {"hps", "wsola", "pv", "ola", "rubberband"}
    chunk_s : float
        Chunk length in seconds of reference (``np.inf``: one piece; rubberband always works in
        one piece, streaming, in a few MB).
    progress : bool
        Show a progress bar over the chunks.

    Returns
    -------
    np.ndarray, shape ``(round(time_map[-1, 1] * sr),)`` or ``(channels, ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import tsm
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    >>> tsm.warp(y, sr, np.array([[0.0, 0.0], [1.0, 1.5]])).shape
    (33075,)
    """
    if method not in METHODS:
        raise ValueError(f"unknown TSM method {method!r}; choose from {METHODS}")
    time_map = np.asarray(time_map, dtype=float)
    if time_map.ndim != 2 or time_map.shape[1] != 2 or np.any(np.diff(time_map, axis=0) <= 0):
        raise ValueError("time_map must be (K, 2), strictly increasing in both columns")
    y2 = np.atleast_2d(np.asarray(y, dtype=np.float32))
    ref_end = y2.shape[1] / sr
    n_out = int(round(time_map[-1, 1] * sr))
    if method == "rubberband":
        out = _warp_rubberband(y2, sr, time_map, n_out)
    elif ref_end <= 1.5 * chunk_s:
        out = _warp_whole(y2, sr, time_map, method, n_out)
    else:
        out = _warp_chunks(y2, sr, time_map, method, n_out, chunk_s, progress)
    return out if y.ndim == 2 else out[0]


def _warp_chunks(y2: np.ndarray, sr: int, time_map: np.ndarray, method: str, n_out: int, chunk_s: float,
                 progress: bool) -> np.ndarray:
    """:func:`_warp_whole` on chunks of ``chunk_s`` s with 1 s of context, cross-faded 50 ms at the cuts."""
    from tqdm.auto import tqdm

    ref_end = y2.shape[1] / sr
    margin, fade = 1.0, int(0.05 * sr)
    cuts = np.concatenate([[0.0], np.arange(chunk_s, ref_end - chunk_s / 2, chunk_s), [ref_end]])
    to_perf = lambda t: float(map_times(time_map, t))  # noqa: E731
    out = np.zeros((y2.shape[0], n_out), dtype=np.float32)
    for i in tqdm(range(len(cuts) - 1), desc="warp", unit="chunk", disable=not progress, leave=False):
        a, b = cuts[i], cuts[i + 1]
        ra, rb = max(0.0, a - margin), min(ref_end, b + margin)
        pa, pb = to_perf(ra), to_perf(rb)
        inner = time_map[(time_map[:, 0] > ra) & (time_map[:, 0] < rb)]
        local = np.vstack([[ra, pa], inner, [rb, pb]]) - [ra, pa]
        start = int(round(pa * sr))
        seg = _warp_whole(y2[:, int(round(ra * sr)): int(round(rb * sr))], sr, local, method,
                          min(int(round((pb - pa) * sr)), n_out - start))
        # complementary linear ramps centred on the cut points, in performance samples
        idx = np.arange(start, start + seg.shape[1])
        weight = np.ones(len(idx), dtype=np.float32)
        if i > 0:
            weight *= np.clip((idx - (to_perf(a) * sr - fade / 2)) / fade, 0, 1)
        if i < len(cuts) - 2:
            weight *= np.clip(((to_perf(b) * sr + fade / 2) - idx) / fade, 0, 1)
        out[:, start: start + seg.shape[1]] += seg * weight
    return out


def _warp_whole(y: np.ndarray, sr: int, time_map: np.ndarray, method: str, n_out: int) -> np.ndarray:
    """libtsm on ``y`` ``(channels, n)`` in one piece; output ``(channels, n_out)`` exactly."""
    import libtsm

    n_in = y.shape[1]
    anchors = anchors_from_time_map(time_map, sr, n_in, n_out)
    x = y.T.astype(np.float64)  # libtsm wants (samples, channels)
    if method == "hps":
        out = libtsm.hps_tsm(x, anchors, Fs=sr)
    elif method == "wsola":
        out = libtsm.wsola_tsm(x, anchors)
    elif method == "ola":
        out = libtsm.wsola_tsm(x, anchors, tol=0)
    else:
        out = libtsm.pv_tsm(x, anchors, Fs=sr)
    return _exact_length(np.asarray(out).reshape(len(out), -1), n_out)


def _warp_rubberband(y: np.ndarray, sr: int, time_map: np.ndarray, n_out: int) -> np.ndarray:
    """The ``rubberband`` CLI (R2 engine) with ``--timemap``; output ``(channels, n_out)`` exactly."""
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
