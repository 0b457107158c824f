"""Reading and writing audio and time maps, with clear errors and no lost files.

Every entry point of concerto_nb reads audio through :func:`load_audio` and writes
through :func:`save_audio` / :func:`save_time_map`, so the rules below hold everywhere:

- any format libsndfile or ffmpeg can decode, any sample rate, any channel count;
- a bad file gives an :class:`AudioError` with one readable line, not a traceback
  from deep inside a decoder;
- an existing file is never overwritten unless ``force=True``, and a file is written
  to a temporary name first and renamed, so an interrupted run leaves no half file.
"""
from __future__ import annotations

import csv
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

__all__ = [
    "AudioError",
    "OutputExistsError",
    "load_audio",
    "save_audio",
    "to_mono",
    "resample",
    "check_output",
    "atomic_write",
    "save_time_map",
    "load_time_map",
]


class AudioError(ValueError):
    """An input file that concerto_nb cannot use (not audio, empty, silent, ...)."""


class OutputExistsError(FileExistsError):
    """An output file exists already and ``force`` was not given."""


#: Peak amplitude under which a recording counts as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4
#: Samples at or above this magnitude count as clipped.
CLIP_LEVEL = 0.999


def _decode(path: Path):
    """Decode with libsndfile, falling back to ffmpeg (through audioread) for MP3/M4A etc."""
    try:
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return y.T, sr
    except sf.LibsndfileError as sf_error:
        first_error = sf_error
    except RuntimeError as sf_error:  # older soundfile versions raise RuntimeError
        first_error = sf_error
    try:
        import audioread

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with audioread.audio_open(str(path)) as f:
                sr, n_ch = f.samplerate, f.channels
                chunks = [np.frombuffer(buf, dtype="<i2") for buf in f]
        data = np.concatenate(chunks) if chunks else np.zeros(0, dtype="<i2")
        y = data.astype(np.float32).reshape(-1, n_ch).T / 32768.0
        return y, sr
    except Exception:  # noqa: BLE001 - any decoder failure means "not audio we can read"
        raise AudioError(f"{path}: not an audio file we can read ({first_error})") from None


def load_audio(path, sr: int | None = None, mono: bool = True, max_channels: int = 2):
    """Load an audio file as float32, validated.

    Parameters
    ----------
    path : str or Path
        WAV, FLAC, OGG, MP3, ... (anything libsndfile or ffmpeg decodes).
    sr : int or None
        Resample to this rate; ``None`` keeps the file's rate.
    mono : bool
        Average the channels to one.
    max_channels : int
        With ``mono=False``, recordings with more channels are averaged to mono
        (a multichannel layout has no obvious stereo fold-down).

    Returns
    -------
    y : np.ndarray [shape=(n,) if mono else (channels, n)]
    sr : int

    Raises
    ------
    AudioError
        Missing, unreadable, empty or silent file, or one with NaN/inf samples.

    Warns
    -----
    UserWarning
        More than 0.1 % of the samples are clipped.

    Examples
    --------
    >>> from concerto_nb import data, io
    >>> y, sr = io.load_audio(data.demo_path("concerto"), sr=22050)
    >>> sr, y.ndim
    (22050, 1)
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    y, file_sr = _decode(path)
    if y.shape[1] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{path}: contains NaN or infinite samples")
    if np.max(np.abs(y)) < SILENCE_PEAK:
        raise AudioError(f"{path}: is silent (peak below -80 dBFS)")
    clipped = np.mean(np.abs(y) >= CLIP_LEVEL)
    if clipped > 1e-3:
        # usable, but distortion adds partials that blur chroma and separation
        warnings.warn(f"{path}: {clipped:.1%} of the samples are clipped", stacklevel=2)
    if mono or y.shape[0] > max_channels:
        y = to_mono(y)
    elif y.shape[0] == 1:
        y = y[0]
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = sr
    return np.ascontiguousarray(y, dtype=np.float32), int(file_sr)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average channels: ``(channels, n)`` -> ``(n,)``; 1-D input is returned as is."""
    return y if y.ndim == 1 else y.mean(axis=0)


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling along the last axis (soxr through librosa)."""
    if sr_in == sr_out:
        return y
    import librosa

    return librosa.resample(y, orig_sr=sr_in, target_sr=sr_out, res_type="soxr_hq", axis=-1)


def check_output(path, force: bool = False, inputs=()) -> Path:
    """Refuse to write over an input, or over an existing file without ``force``."""
    path = Path(path)
    for inp in inputs:
        if Path(inp).exists() and path.exists() and path.resolve() == Path(inp).resolve():
            raise OutputExistsError(f"{path}: is one of the inputs; choose another output")
    if path.exists() and not force:
        raise OutputExistsError(f"{path}: exists already (use --force to overwrite)")
    return path


def atomic_write(path: Path, write):
    """Call ``write(tmp_path)`` then rename onto ``path``; nothing is left on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".part", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide outputs from other users
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_audio(path, y: np.ndarray, sr: int, force: bool = False, subtype: str | None = None) -> Path:
    """Write ``y`` (``(n,)`` or ``(channels, n)``) atomically; format from the extension.

    WAV is written as 24-bit PCM by default; samples are clipped to [-1, 1].
    """
    path = check_output(path, force)
    y = np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0)
    data = y.T if y.ndim == 2 else y
    ext = path.suffix.lower()
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}.get(ext)
    if fmt is None:
        raise ValueError(f"{path}: write .wav, .flac or .ogg")
    if subtype is None:
        subtype = {"WAV": "PCM_24", "FLAC": "PCM_24", "OGG": "VORBIS"}[fmt]
    channels = 1 if data.ndim == 1 else data.shape[1]

    def write(tmp):
        # one large OGG/Vorbis write segfaults libsndfile 1.2; blocks of 1 s do not
        with sf.SoundFile(tmp, "w", sr, channels, subtype=subtype, format=fmt) as f:
            for i in range(0, len(data), sr):
                f.write(data[i : i + sr])

    atomic_write(path, write)
    return path


def save_time_map(path, time_map: np.ndarray, force: bool = False) -> Path:
    """Write a time map ``(K, 2)`` [reference_s, performance_s] as CSV with a header."""
    path = check_output(path, force)
    time_map = np.asarray(time_map, dtype=float)

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["reference_s", "performance_s"])
            w.writerows([[f"{r:.6f}", f"{p:.6f}"] for r, p in time_map])

    atomic_write(path, write)
    return path


def load_time_map(path) -> np.ndarray:
    """Read a CSV written by :func:`save_time_map`; checks it is strictly increasing."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read time map ({e})") from None
    if not rows or [c.strip() for c in rows[0]] != ["reference_s", "performance_s"]:
        raise ValueError(f"{path}: a time map CSV starts with the header 'reference_s,performance_s'")
    try:
        time_map = np.array([[float(a), float(b)] for a, b in rows[1:]], dtype=float)
    except ValueError:
        raise ValueError(f"{path}: time map rows must be two numbers each") from None
    if len(time_map) < 2 or np.any(np.diff(time_map, axis=0) <= 0):
        raise ValueError(f"{path}: time map needs >= 2 rows, strictly increasing in both columns")
    return time_map
