"""Stage 6 - measuring every stage against ground truth.

- :func:`sdr`: signal-to-distortion ratio of a separated stem,
  :math:`10\\log_{10} \\|s\\|^2 / \\|s - \\hat s\\|^2` (plain SDR, no allowed distortion filter;
  BSSEval's variants come with the "separation" issue).
- :func:`alignment_errors`: absolute error of an estimated time map at known events
  (piano onsets), the measure used in the synctoolbox papers.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sdr", "alignment_errors", "alignment_summary"]


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB (higher is better)."""
    reference = np.asarray(reference, dtype=np.float64).ravel()
    estimate = np.asarray(estimate, dtype=np.float64).ravel()
    n = min(len(reference), len(estimate))
    reference, estimate = reference[:n], estimate[:n]
    num = np.sum(reference**2)
    den = np.sum((reference - estimate) ** 2)
    return float(10 * np.log10((num + 1e-12) / (den + 1e-12)))


def alignment_errors(time_map: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Absolute errors (s) of ``time_map`` at ground-truth event pairs.

    Parameters
    ----------
    time_map : np.ndarray [shape=(K, 2)]
        Estimated ``[reference_s, performance_s]``.
    events : np.ndarray [shape=(E, 2)]
        True ``[reference_s, performance_s]`` of events (e.g. piano onsets).
    """
    estimated = np.interp(events[:, 0], time_map[:, 0], time_map[:, 1])
    return np.abs(estimated - events[:, 1])


def alignment_summary(errors: np.ndarray) -> dict:
    """Median, share within 50/100 ms and maximum of alignment errors, in ms and %."""
    errors = np.asarray(errors)
    return {
        "median_ms": float(np.median(errors) * 1000),
        "within_50ms_pct": float(np.mean(errors <= 0.05) * 100),
        "within_100ms_pct": float(np.mean(errors <= 0.1) * 100),
        "max_ms": float(np.max(errors) * 1000),
        "events": int(len(errors)),
    }
