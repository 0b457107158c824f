import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

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


@pytest.fixture(scope="session")
def clip16(tmp_path_factory):
    """C: 16 s of the demo concerto from 8 s; P: the matching 15.6 s of the demo pianist (16-bit WAV, 44.1 kHz)."""
    folder = tmp_path_factory.mktemp("clip16")
    concerto, sr = io.load_audio(data.demo_path("concerto"))
    pianist, _ = io.load_audio(data.demo_path("pianist"))
    a, b = np.interp([8.0, 24.0], *data.demo_time_map().T)
    sf.write(folder / "C.wav", concerto[8 * sr: 24 * sr], sr, subtype="PCM_16")
    sf.write(folder / "P.wav", pianist[int(a * sr): int(b * sr)], sr, subtype="PCM_16")
    return folder / "C.wav", folder / "P.wav", sr
