"""Small array helpers shared by several stages."""
from __future__ import annotations

import numpy as np


def runs(flags: np.ndarray, min_len: int = 1):
    """(start, end) index pairs of the runs of True in ``flags`` at least ``min_len`` long (end exclusive)."""
    edges = np.diff(np.concatenate([[0], np.asarray(flags).astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends) if b - a >= min_len]
