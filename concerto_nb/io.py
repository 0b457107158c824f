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

import contextlib
import csv
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from . import _signals
from ._arrays import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, check_audio, check_sample_rate

__all__ = [
    "AudioError",
    "OutputExistsError",
    "OutputError",
    "OutputFolder",
    "MIN_SAMPLE_RATE",
    "load_audio",
    "save_audio",
    "to_mono",
    "resample",
    "check_output",
    "atomic_write",
    "save_time_map",
    "load_time_map",
    "check_time_map",
    "time_map_segments",
    "TIME_MAP_HEADER",
]


class AudioError(ValueError):
    """An input file that concerto_nb cannot use (not audio, empty, silent, ...).

    Notebook: ``00_overview``.
    """


class OutputExistsError(FileExistsError):
    """An output file exists already and ``force`` was not given (or the output is an input, or a folder).

    Notebook: ``00_overview``.
    """


class OutputError(OSError):
    """An output cannot be written (read-only folder, full disk, ...); nothing was left behind.

    Notebook: ``00_overview``.
    """


#: Peak amplitude under which a recording counts as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4
#: Samples at or above this magnitude count as clipped.
CLIP_LEVEL = 0.999
#: The formats :func:`save_audio` writes, by extension.
AUDIO_SUFFIXES = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
#: Longest time a time map may span (s): a day, far beyond any recording, so a typo or overflow is caught.
MAX_TIME_MAP_S = 86400.0
#: A channel whose mean is further from zero than this (-40 dBFS) has its DC offset removed, with a warning.
DC_LIMIT = 0.01


def _decode(path: Path):
    """Decode with libsndfile; MP3, and what libsndfile cannot read (M4A, ...), with ffmpeg.

    libsndfile's MP3 decoder stops at damaged data without a word, where ffmpeg reports it.
    """
    if not _looks_like_mp3(path):
        try:
            y, sr = sf.read(str(path), dtype="float32", always_2d=True)
            return y.T, sr
        except (sf.LibsndfileError, RuntimeError):  # older soundfile versions raise RuntimeError
            pass
    return _decode_ffmpeg(path)


def _looks_like_mp3(path: Path) -> bool:
    """An .mp3 name, an ID3 tag or an MPEG audio frame header at the start."""
    with open(path, "rb") as f:
        head = f.read(3)
    return path.suffix.lower() == ".mp3" or head[:3] == b"ID3" or (
        len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE6) in (0xE2, 0xE4, 0xE6))


def _decode_ffmpeg(path: Path):
    """Decode the first audio stream with the ffmpeg program; damaged data is a warning, not silence."""
    import json
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise AudioError(f"{path}: not a format libsndfile reads, and ffmpeg (Debian package ffmpeg) is not "
                         "installed to try it")
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=sample_rate,channels:format=duration", "-of", "json", str(path)],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    try:
        info = json.loads(probe.stdout or "{}")
    except ValueError:  # ffprobe printed something other than its JSON
        info = {}
    streams = info.get("streams") or []
    if probe.returncode != 0 or not streams:
        why = _first_line(probe.stderr).removeprefix(f"{path}: ") or "no audio stream"
        raise AudioError(f"{path}: not an audio file we can read ({why})")
    sr, channels = int(streams[0].get("sample_rate") or 0), int(streams[0].get("channels") or 0)
    if channels < 1:
        raise AudioError(f"{path}: not an audio file we can read (no audio channels)")
    done = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-f", "f32le",
                           "-acodec", "pcm_f32le", "-"], capture_output=True, stdin=subprocess.DEVNULL)
    y = np.frombuffer(done.stdout, dtype="<f4")
    y = y[: len(y) // channels * channels].reshape(-1, channels).T
    errors = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
    if y.shape[1] == 0:
        why = errors[0].strip() if errors else "no samples decoded"
        raise AudioError(f"{path}: no audio could be decoded; is the file damaged? ({why})")
    announced = float((info.get("format") or {}).get("duration") or 0.0)
    decoded = y.shape[1] / max(sr, 1)
    if errors or (announced > 0 and decoded < 0.9 * announced):
        warnings.warn(f"{path}: damaged data: the decoder reported {len(errors)} error(s) and decoded "
                      f"{decoded:.1f} s of the {announced:.1f} s the file announces", stacklevel=3)
    return np.ascontiguousarray(y, dtype=np.float32), sr


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def load_audio(path, sr: int | None = None, mono: bool = True, max_channels: int = 2):
    """Load an audio file as float32, validated.

    Notebook: ``00_overview``.

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
        Missing, unreadable, empty or silent file, one with NaN/inf samples, or a sample rate
        outside :data:`MIN_SAMPLE_RATE` - :data:`MAX_SAMPLE_RATE` (checked before any resampling).

    Warns
    -----
    UserWarning
        More than 0.1 % of the samples are clipped; floating-point samples beyond full scale
        (scaled to 0 dBFS instead of clipped); a DC offset above :data:`DC_LIMIT` (removed);
        damaged compressed data (what could be decoded is used).

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
    if not MIN_SAMPLE_RATE <= file_sr <= MAX_SAMPLE_RATE:
        raise AudioError(f"{path}: its header says {file_sr} Hz, outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz; "
                         "is the header damaged?")
    if y.shape[1] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{path}: contains NaN or infinite samples")
    dc = y.mean(axis=1, keepdims=True)
    if np.max(np.abs(dc)) > DC_LIMIT and y.shape[1] >= file_sr // 10:
        # a constant offset carries no sound but counts as loudness and eats headroom
        y = y - dc
        warnings.warn(f"{path}: removed a DC offset of {np.max(np.abs(dc)):.3f}", stacklevel=2)
    peak = float(np.max(np.abs(y)))
    if peak < SILENCE_PEAK:
        raise AudioError(f"{path}: is silent (peak below -80 dBFS)")
    if peak > 1.0:
        # only floating-point files go past full scale; nothing was clipped, so scale instead of clipping later
        y = y / peak
        warnings.warn(f"{path}: floating-point samples reach {20 * np.log10(peak):+.1f} dBFS; scaled to 0 dBFS",
                      stacklevel=2)
    else:
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
    """Average channels: ``(channels, n)`` -> ``(n,)``; 1-D input is returned as is.

    Notebook: ``00_overview``.
    """
    return y if y.ndim == 1 else y.mean(axis=0)


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling along the last axis (soxr through librosa).

    Notebook: ``00_overview``.
    """
    if sr_in == sr_out:
        return y
    import librosa

    return librosa.resample(y, orig_sr=sr_in, target_sr=sr_out, res_type="soxr_hq", axis=-1)


def check_output(path, force: bool = False, inputs=(), *, suffixes=None) -> Path:
    """Refuse an output path that is an input, a folder, of a format we do not write, or exists without ``force``.

    Notebook: ``00_overview``.

    Parameters
    ----------
    path : str or Path
    force : bool
        Allow replacing an existing file (never an input).
    inputs : iterable of paths
        Compared with ``path`` after resolving links (and as the same file, for hard links).
    suffixes : iterable of str, optional
        The extensions this output may have, e.g. ``(".wav", ".flac", ".ogg")``.

    Raises
    ------
    OutputExistsError
        ``path`` is an input, a folder, or exists and ``force`` is false.
    ValueError
        ``path`` has an extension not in ``suffixes``.
    """
    path = Path(path)
    for inp in inputs:
        inp = Path(inp)
        if inp.exists() and path.exists() and os.path.samefile(path, inp):  # links and hard links too
            raise OutputExistsError(f"{path}: is one of the inputs; choose another output")
    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; name a file to write")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise ValueError(f"{path}: write {', '.join(sorted(suffixes))}")
    if path.exists() and not force:
        raise OutputExistsError(f"{path}: exists already (use --force to overwrite)")
    return path


def _cannot_write(path: Path, error: BaseException) -> OutputError:
    """One line for a failed write: the reason, and a full disk named as such."""
    import shutil

    folder = path.parent if path.parent.exists() else Path(".")
    if isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        reason = str(error).strip() or type(error).__name__
    try:
        if shutil.disk_usage(folder).free < 1 << 20:
            reason = "no space left on the device"
    except OSError:
        pass
    return OutputError(f"{path}: cannot write ({reason})")


def atomic_write(path: Path, write):
    """Call ``write(tmp_path)`` then rename onto ``path``; nothing is left on failure.

    Notebook: ``00_overview``.

    The temporary file is a short hidden name in the same folder, so a legal long ``path``
    does not become an illegal temporary one.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cnb-", suffix=".part", dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise _cannot_write(path, e) from None
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide outputs from other users
        os.replace(tmp, path)
    except (OSError, sf.LibsndfileError) as e:
        raise _cannot_write(path, e) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class OutputFolder:
    """The outputs of one run, written together or not at all.

    Notebook: ``00_overview``.

    Each output is written into a hidden folder inside ``out_dir`` (same file system, so the
    final move is a rename); leaving the ``with`` block normally moves them all into place,
    with SIGINT/SIGTERM ignored for those few renames; any error or interruption removes the
    hidden folder, and ``out_dir`` itself if this run created it, so the target is as it was.

    Parameters
    ----------
    out_dir : str or Path
    names : iterable of str
        The files this run writes, e.g. ``("piano.wav", "orchestra.wav")``.
    force : bool
        Replace existing outputs of these names (checked here, before any work).
    inputs : iterable of paths
        Never replaced, whatever ``force`` says.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> with OutputFolder(tempfile.mkdtemp(), ["a.wav"]) as out:
    ...     _ = save_audio(out.path("a.wav"), np.zeros(100), 8000)
    >>> sorted(p.name for p in out.out_dir.iterdir())
    ['a.wav']
    """

    def __init__(self, out_dir, names, *, force: bool = False, inputs=()):
        self.out_dir = Path(out_dir)
        for inp in inputs:
            if Path(inp).exists() and self.out_dir.exists() and os.path.samefile(self.out_dir, inp):
                raise OutputExistsError(f"{self.out_dir}: is one of the inputs; choose another output folder")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise OutputExistsError(f"{self.out_dir}: is a file; name a folder for the outputs")
        self.targets = {name: check_output(self.out_dir / name, force, inputs) for name in names}
        self.staging = None

    def __enter__(self):
        self.created = not self.out_dir.exists()
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".cnb-", dir=self.out_dir))
        except OSError as e:
            raise _cannot_write(self.out_dir, e) from None
        return self

    def path(self, name: str) -> Path:
        """Where to write output ``name`` during the run."""
        return self.staging / name

    def __exit__(self, exc_type, exc, tb):
        import shutil

        if exc_type is None:
            try:
                _signals.check()  # an interruption a finaliser dropped stops the run here, before the move
            except KeyboardInterrupt as interruption:
                exc_type, exc = type(interruption), interruption
        try:
            if exc_type is None:
                with _signals.ignored():
                    for name, target in self.targets.items():
                        if self.path(name).exists():
                            os.replace(self.path(name), target)
        except OSError as e:
            raise _cannot_write(self.out_dir, e) from None
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
            if exc_type is not None and self.created:
                with contextlib.suppress(OSError):
                    self.out_dir.rmdir()  # only if empty
        if isinstance(exc, OutputError):  # name the output the user asked for, not its hidden staging path
            raise OutputError(str(exc).replace(str(self.staging), str(self.out_dir))) from None
        if isinstance(exc, KeyboardInterrupt) and tb is None:
            raise exc
        return False


def save_audio(path, y: np.ndarray, sr: int, force: bool = False, subtype: str | None = None) -> Path:
    """Write ``y`` (``(n,)`` or ``(channels, n)``) atomically; format from the extension.

    Notebook: ``00_overview``.

    WAV is written as 24-bit PCM by default; samples are clipped to [-1, 1].
    """
    path = check_output(path, force, suffixes=AUDIO_SUFFIXES)
    sr = check_sample_rate(sr)
    y = np.clip(check_audio(y, name=str(path)), -1.0, 1.0)
    data = y.T if y.ndim == 2 else y
    fmt = AUDIO_SUFFIXES[path.suffix.lower()]
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


#: The columns of a time map CSV; ``segment`` only in one that jumps.
TIME_MAP_HEADER = ["reference_s", "performance_s", "segment"]


def save_time_map(path, time_map: np.ndarray, force: bool = False) -> Path:
    """Write a time map ``(K, 2)`` [reference_s, performance_s] as CSV with a header; one that jumps
    (:func:`concerto_nb.sync.time_map_with_jumps`, ``(K, 3)``) gets a third column, ``segment``.

    Notebook: ``00_overview``.
    """
    path = check_output(path, force)
    time_map = check_time_map(time_map)

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(TIME_MAP_HEADER[: time_map.shape[1]])
            w.writerows([[f"{r:.6f}", f"{p:.6f}", *[f"{int(k)}" for k in rest]] for r, p, *rest in time_map])

    atomic_write(path, write)
    return path


def load_time_map(path) -> np.ndarray:
    """Read a CSV written by :func:`save_time_map`, checked: finite, within a day, strictly increasing.

    Notebook: ``00_overview``.

    The first row need not be (0, 0): :func:`concerto_nb.tsm.warp` starts the output with that row's
    performance time of silence and the audio at its reference time.
    """
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read time map ({e})") from None
    header = [c.strip() for c in rows[0]] if rows else []
    if header not in (TIME_MAP_HEADER[:2], TIME_MAP_HEADER):
        raise ValueError(f"{path}: a time map CSV starts with the header 'reference_s,performance_s' "
                         "(and ',segment' if it jumps)")
    try:
        time_map = np.array([[float(x) for x in row] for row in rows[1:]], dtype=float)
        if time_map.ndim != 2 or time_map.shape[1] != len(header):
            raise ValueError
    except ValueError:
        raise ValueError(f"{path}: time map rows must be {len(header)} numbers each") from None
    try:
        return check_time_map(time_map)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def check_time_map(time_map) -> np.ndarray:
    """``time_map`` as a float ``(K, 2)`` array, or ``(K, 3)`` for one that jumps, or a ``ValueError`` that says
    what is wrong with it.

    Notebook: ``00_overview``.

    A map that jumps (:func:`concerto_nb.sync.time_map_with_jumps`) has a third column, ``segment``: 0, 1, 2, ...
    in order; each segment has at least 2 rows, strictly increasing in both columns, and starts no earlier in
    performance time than the one before ends.
    """
    time_map = np.asarray(time_map, dtype=float)
    if time_map.ndim != 2 or time_map.shape[1] not in (2, 3) or len(time_map) < 2:
        raise ValueError(f"a time map is (K >= 2, 2) [reference_s, performance_s] (or (K, 3) with a segment "
                         f"column), got shape {time_map.shape}")
    if not np.all(np.isfinite(time_map)):
        raise ValueError("time map holds NaN or infinite values")
    if np.any(time_map[:, :2] < 0) or np.any(time_map[:, :2] > MAX_TIME_MAP_S):
        raise ValueError(f"time map values must lie between 0 and {MAX_TIME_MAP_S:.0f} s")
    segment = time_map[:, 2] if time_map.shape[1] == 3 else np.zeros(len(time_map))
    if segment[0] != 0 or np.any(~np.isin(np.diff(segment), (0, 1))):
        raise ValueError("a time map's segment column counts 0, 1, 2, ... in order")
    within = np.diff(segment) == 0
    if np.any(np.diff(time_map[:, :2], axis=0)[within] <= 0):
        raise ValueError("time map needs >= 2 rows, strictly increasing in both columns")
    if np.any(np.bincount(segment.astype(int)) < 2):
        raise ValueError("each segment of a time map needs >= 2 rows")
    if np.any(np.diff(time_map[:, 1])[~within] < 0):
        raise ValueError("a time map's segments must follow each other in performance time")
    return time_map


def time_map_segments(time_map) -> list:
    """The strictly increasing ``(K_i, 2)`` pieces of a time map (:func:`check_time_map`): one for a map that
    does not jump.

    Notebook: ``05_time_scale_modification``.
    """
    time_map = check_time_map(time_map)
    if time_map.shape[1] == 2:
        return [time_map]
    cuts = np.flatnonzero(np.diff(time_map[:, 2])) + 1
    return [piece[:, :2] for piece in np.split(time_map, cuts)]
