import warnings
from pathlib import Path

import numpy as np
import pytest

from concerto_nb import data, io, pipeline, sync

# librosa compiles its numba gufuncs when first imported and caches them beside its source. Two processes
# doing that at once (this one and a notebook kernel, in a fresh venv) can pair cache files of different
# processes, and a later call segfaults (numba/numba#10128; seen in CI in librosa.util.peak_pick). Importing
# it here, before any kernel starts, fills the cache from this process alone.
import librosa  # noqa: E402, F401

ROOT = Path(__file__).resolve().parent.parent
SHARED = data.SOURCES_DIR  # the licensed sources shipped in data/sources


@pytest.fixture(scope="session")
def demo22():
    """The demo files, mono at synctoolbox's rate."""
    return {name: io.load_audio(data.demo_path(name), sr=sync.SYNC_SR)[0]
            for name in ("concerto", "piano", "orchestra", "pianist")}


@pytest.fixture(scope="session")
def playalong_demo(tmp_path_factory):
    """One play-along run on the demo, shared by the tests that inspect its outputs."""
    out = tmp_path_factory.mktemp("playalong")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pipeline.playalong(data.demo_path("concerto"), data.demo_path("pianist"), out, progress=False)
    return out, report


def onset_envelope(y, sr, hop=256):
    return librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop), hop


def best_lag_s(a, b, sr, max_lag_s=0.5):
    """Lag (s) of b relative to a that maximises the normalised cross-correlation of their onset envelopes.

    Returns the lag, the peak correlation and the peak's ratio to the median |correlation| over all lags
    (how clearly one lag stands out, even when the signals differ a lot).
    """
    ea, hop = onset_envelope(a, sr)
    eb, _ = onset_envelope(b, sr)
    n = min(len(ea), len(eb))
    ea, eb = ea[:n] - ea[:n].mean(), eb[:n] - eb[:n].mean()
    max_lag = int(max_lag_s * sr / hop)
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.array([np.dot(ea[max(0, -k): n - max(0, k)], eb[max(0, k): n - max(0, -k)]) for k in lags])
    corr /= np.linalg.norm(ea) * np.linalg.norm(eb)
    peak = int(np.argmax(corr))
    return lags[peak] * hop / sr, float(corr[peak]), float(corr[peak] / np.median(np.abs(corr)))
