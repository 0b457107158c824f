"""The shipped data: the demo (a rendered concerto excerpt with stems, a "pianist" and the ground truth) and the
licensed sources the demo, the training and the tests are made from.

See ``data/demo/NOTICE.md`` and ``data/sources/NOTICE.md`` for sources and licences, and
:mod:`concerto_nb.render` for how the demo is made.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DATA_DIR", "DEMO_DIR", "SOURCES_DIR", "demo_path", "demo_time_map", "demo_onsets", "real_mix",
           "real_pair"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_DIR = DATA_DIR / "demo"
#: Concerto MIDI, room impulse responses, real recordings: what ``make data``, ``scripts/train.py`` and the tests read.
SOURCES_DIR = DATA_DIR / "sources"

_FILES = {
    "concerto": "concerto.ogg",  # piano + orchestra: "the concerto recording"
    "piano": "piano.ogg",  # the concerto's piano stem
    "orchestra": "orchestra.ogg",  # the concerto's orchestra stem
    "pianist": "pianist.ogg",  # the user's recording: same part, other tempo, soundfont and room
    "time_map": "pianist_time_map.csv",  # ground truth: concerto time -> pianist time
    "onsets": "piano_onsets.csv",  # every piano onset in both time axes
    "another_piece": "another_piece.ogg",  # a real recording of another piece (Bach, CC0)
}


def demo_path(name: str) -> Path:
    """Path of a demo file: one of ``concerto, piano, orchestra, pianist, time_map, onsets, another_piece``.

    Notebook: ``07_dataset_and_evaluation``.
    """
    if name not in _FILES:
        raise KeyError(f"unknown demo file {name!r}; choose from {sorted(_FILES)}")
    path = DEMO_DIR / _FILES[name]
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run `make data` to render the demo")
    return path


def demo_time_map() -> np.ndarray:
    """Ground-truth ``[reference_s, performance_s]`` of the demo pianist.

    Notebook: ``07_dataset_and_evaluation``.
    """
    from .io import load_time_map

    return load_time_map(demo_path("time_map"))


def demo_onsets() -> np.ndarray:
    """Every piano onset of the demo as ``[reference_s, performance_s]``.

    Notebook: ``07_dataset_and_evaluation``.
    """
    from .io import load_time_map

    return load_time_map(demo_path("onsets"))


def real_mix(piano: str, orchestra: str, *, level_db: float = 0.0, seconds: float = 15.0, piano_start_s: float = 0.0,
             orchestra_start_s: float = 0.0, sr: int = 22050, peak: float = 0.9, solo_s: float = 0.0):
    """Two real recordings of :data:`SOURCES_DIR`, solo piano and orchestra, mixed at a chosen balance.

    Notebook: ``01_source_separation``.

    A real concerto recording has real pianos, string sections, halls and microphones; its stems are never
    available. Two separate real recordings mixed here are the nearest thing with a known truth.

    Parameters
    ----------
    piano, orchestra : str
        Paths under :data:`SOURCES_DIR`, e.g. ``"real_recordings/confuoko/lpn_deb.mp3"``.
    level_db : float
        The piano's RMS over the orchestra's, in dB.
    seconds : float
        Length of the mix; shorter if a recording ends first.
    piano_start_s, orchestra_start_s : float
        Where in each recording the excerpt starts.
    sr : int
        Sample rate of the result.
    peak : float
        The mix's peak.
    solo_s : float
        Laid out as a concerto movement is, for test-time adaptation (notebook ``02_test_time_adaptation``): the
        orchestra alone for the first ``solo_s`` seconds, both, then the piano alone for the last ``solo_s``
        (the balance is set on the whole excerpts).

    Returns
    -------
    piano, orchestra : np.ndarray, shape (n,), float32
        The two scaled excerpts; ``piano + orchestra`` is the mix.

    Examples
    --------
    >>> p, o = real_mix("real_recordings/confuoko/lpn_deb.mp3",
    ...                 "real_recordings/music_mind_academy/grieg-morning-mood.mp3", piano_start_s=30)
    >>> len(p) == len(o) == 15 * 22050
    True
    """
    from .io import load_audio

    def excerpt(path, start_s):
        y = load_audio(SOURCES_DIR / path, sr=sr)[0]
        return y[int(start_s * sr): int((start_s + seconds) * sr)]

    p, o = excerpt(piano, piano_start_s), excerpt(orchestra, orchestra_start_s)
    n = min(len(p), len(o))
    p, o = p[:n], o[:n]
    p = p * 10 ** (level_db / 20) * np.sqrt(np.mean(o**2) / max(np.mean(p**2), 1e-20))
    scale = peak / max(np.max(np.abs(p + o)), 1e-9)
    p, o = (p * scale).astype(np.float32), (o * scale).astype(np.float32)
    solo = int(round(solo_s * sr))
    if solo:
        p[:solo], o[-solo:] = 0.0, 0.0  # the orchestra alone, then both, then the piano alone
    return p, o


def real_pair(name: str, *, sr: int = 22050):
    """A pair of real recordings of the same music with annotated corresponding times.

    Notebook: ``04_music_synchronization``.

    Parameters
    ----------
    name : {"beethoven5", "schubert_d911"}
        ``"beethoven5"``: the opening of Beethoven's Symphony No. 5, an orchestra recording and a pianist
        playing a transcription (libtsm's example data, 26 hand-set anchors): what the play-along aligns,
        with two fermatas the pianist holds longer. ``"schubert_d911"``: two performances of Schubert's
        *Winterreise* D911-03, voice and piano, a semitone apart (Sync Toolbox's example data, measure
        positions annotated in both).
    sr : int
        Sample rate of the recordings returned.

    Returns
    -------
    reference, performance : np.ndarray, shape (n,)
        The recording to follow (the orchestra, HU33) and the one that leads (the piano, SC06).
    pairs : np.ndarray, shape (k, 2)
        ``[reference_s, performance_s]`` of each annotated moment: the ground truth of a time map.

    Examples
    --------
    >>> orchestra, piano, anchors = real_pair("beethoven5")
    >>> anchors.shape
    (26, 2)
    """
    from .io import load_audio

    if name == "beethoven5":
        from scipy.io import loadmat

        folder = SOURCES_DIR / "libtsm_beethoven"
        reference, performance = (load_audio(folder / f"Beethoven{part}.wav", sr=sr)[0]
                                  for part in ("Orchestra", "Piano"))
        pairs = (loadmat(folder / "BeethovenAnchorpoints.mat")["anchorpoints"] - 1) / 22050  # 1-based samples
    elif name == "schubert_d911":
        folder = SOURCES_DIR / "synctoolbox_schubert"
        reference, performance = (load_audio(folder / f"Schubert_D911-03_{v}.wav", sr=sr)[0]
                                  for v in ("HU33", "SC06"))
        measures = [np.loadtxt(folder / f"Schubert_D911-03_{v}.csv", delimiter=";", skiprows=1)[:, 0]
                    for v in ("HU33", "SC06")]
        n = min(map(len, measures))
        pairs = np.stack([measures[0][:n], measures[1][:n]], axis=1)
    else:
        raise KeyError(f"unknown real pair {name!r}; choose from ['beethoven5', 'schubert_d911']")
    return reference, performance, pairs
