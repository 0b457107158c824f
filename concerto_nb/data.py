"""The shipped data: the demo (a rendered concerto excerpt with stems, a "pianist" and the ground truth) and the
licensed sources the demo, the training and the tests are made from.

See ``data/demo/NOTICE.md`` and ``data/sources/NOTICE.md`` for sources and licences, and
:mod:`concerto_nb.render` for how the demo is made.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DATA_DIR", "DEMO_DIR", "SOURCES_DIR", "demo_path", "demo_time_map", "demo_onsets"]

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
